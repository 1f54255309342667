#!/bin/sh
# envctl/base-redis entrypoint (modelled on the official redis image's):
#   - `docker run IMAGE --appendonly yes` means `redis-server --appendonly yes`
#   - without a config file: foreground, bind 0.0.0.0, protected-mode off, dir /data
#     (reachable only on the container's own networks); later flags override these
#   - started as root: fixes /data ownership, then drops to user redis
#   - exec: redis-server is PID 1 and shuts down cleanly on SIGTERM
set -eu

case "${1:-}" in
  -*|*.conf) set -- redis-server "$@" ;;
esac

if [ "${1:-}" = "redis-server" ]; then
  shift
  case "${1:-}" in
    *.conf) conf="$1"; shift; set -- redis-server "$conf" "$@" ;;
    *) set -- redis-server --bind 0.0.0.0 --protected-mode no --dir /data --daemonize no "$@" ;;
  esac
  if [ "$(id -u)" = "0" ]; then
    find /data \! -user redis -exec chown redis:redis '{}' + 2>/dev/null || true
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi

exec "$@"
