#!/usr/bin/env bash
# Install the demo services' npm dependencies on the host, for their images to COPY
# (containers have no network, so nothing is installed while building an image). They include
# what the images use while building: templates/web makes its TLS certificate with @peculiar/x509.
#
# Usage: bash scripts/demo-deps.sh [--force] [--quiet]
#   For each of templates/web and templates/worker: `npm ci --omit=dev` when its node_modules
#   is missing or older than its package-lock.json / package.json. Otherwise nothing (fast).
#   --force  reinstall even when up to date       --quiet  only errors
# Idempotent. Needs npm and the npm registry; uses .tools/bin's node (Node 24) when present.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APPS=(web worker)
FORCE=0 QUIET="${QUIET:-0}"
while (($#)); do
  case "$1" in
    --force) FORCE=1 ;;
    --quiet|-q) QUIET=1 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo-deps: error: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { ((QUIET)) || echo "demo-deps: $*" >&2; }
die() { echo "demo-deps: error: $*" >&2; exit 1; }

[[ -x "$REPO/.tools/bin/node" ]] && PATH="$REPO/.tools/bin:$PATH"
command -v npm >/dev/null || die "npm not found (install Node.js with npm, or run scripts/setup.sh)"

# node_modules/.package-lock.json is written by every npm install/ci: it is the stamp.
up_to_date() {
  local dir="$1" stamp="$1/node_modules/.package-lock.json"
  [[ -f "$stamp" ]] || return 1
  [[ "$dir/package-lock.json" -nt "$stamp" || "$dir/package.json" -nt "$stamp" ]] && return 1
  return 0
}

for app in "${APPS[@]}"; do
  dir="$REPO/templates/$app"
  [[ -f "$dir/package.json" ]] || die "templates/$app/package.json is missing"
  [[ -f "$dir/package-lock.json" ]] || die "templates/$app/package-lock.json is missing (run 'npm install' there and commit it)"
  if ((!FORCE)) && up_to_date "$dir"; then
    say "templates/$app: node_modules up to date, skipped"
    continue
  fi
  say "templates/$app: npm ci --omit=dev"
  t0=$SECONDS
  log="$(mktemp)"
  # --ignore-scripts: the demo's dependencies need no install scripts; none run on the host.
  if ! (cd "$dir" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
    echo "demo-deps: error: 'npm ci' failed in templates/$app:" >&2
    sed 's/^/    /' "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
  touch "$dir/node_modules/.package-lock.json"
  say "templates/$app: installed ($((SECONDS - t0))s)"
done
