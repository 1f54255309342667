#!/bin/bash
# envctl/base-postgres entrypoint, modelled on the official postgres image's.
#  - `docker run IMAGE -c fsync=off` means `postgres -c fsync=off`
#  - started as root: creates/chowns $PGDATA, then re-runs itself as user postgres
#  - first start (no $PGDATA/PG_VERSION): initdb with POSTGRES_USER/POSTGRES_PASSWORD,
#    listen on all addresses, pg_hba "host all all all $POSTGRES_HOST_AUTH_METHOD",
#    create POSTGRES_DB and run /docker-entrypoint-initdb.d/* on a private temporary
#    server (its socket is elsewhere, so pg_isready only says yes for the real server)
#  - then `exec postgres`: PID 1, shuts down on SIGINT (image STOPSIGNAL) or SIGTERM
set -Eeuo pipefail

log() { printf '%s envctl-postgres: %s\n' "$(date -u +'%Y-%m-%d %H:%M:%S UTC')" "$*" >&2; }

file_env() { # VAR: take VAR from VAR_FILE when that is set
  local var="$1" file_var="${1}_FILE"
  if [[ -n "${!var:-}" && -n "${!file_var:-}" ]]; then
    log "error: both $var and $file_var are set"; exit 1
  fi
  if [[ -n "${!file_var:-}" ]]; then export "$var"="$(<"${!file_var}")"; fi
  unset "$file_var"
}

if [[ "${1:-}" == -* ]]; then set -- postgres "$@"; fi
[[ "${1:-}" == "postgres" ]] || exec "$@"

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"

if [[ "$(id -u)" == "0" ]]; then
  mkdir -p "$PGDATA" /run/postgresql
  chmod 0700 "$PGDATA" || true
  chmod 2777 /run/postgresql
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' + 2>/dev/null || true
  chown postgres:postgres /run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER
  file_env POSTGRES_DB
  export POSTGRES_USER="${POSTGRES_USER:-postgres}"
  export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
  if [[ -z "${POSTGRES_HOST_AUTH_METHOD:-}" ]]; then
    if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
      POSTGRES_HOST_AUTH_METHOD=scram-sha-256
    else
      POSTGRES_HOST_AUTH_METHOD=trust
      log "warning: no POSTGRES_PASSWORD: any client that can reach this container's network connects without a password (host auth 'trust'). Fine for local development; publish the port on 127.0.0.1 only."
    fi
  fi
  log "initialising $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB, host auth $POSTGRES_HOST_AUTH_METHOD)"
  mkdir -p "$PGDATA"; chmod 0700 "$PGDATA"
  pwfile=()
  if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
    tmp_pw="$(mktemp)"; printf '%s\n' "$POSTGRES_PASSWORD" >"$tmp_pw"
    pwfile=(--pwfile="$tmp_pw")
  fi
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a word list, as in the official image
  initdb --username="$POSTGRES_USER" "${pwfile[@]}" --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync ${POSTGRES_INITDB_ARGS:-} -D "$PGDATA" >/dev/null
  [[ -z "${tmp_pw:-}" ]] || rm -f "$tmp_pw"
  sync -f "$PGDATA" 2>/dev/null || sync
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

  shopt -s nullglob
  if [[ -d /docker-entrypoint-initdb.d && ! -r /docker-entrypoint-initdb.d ]]; then
    log "warning: /docker-entrypoint-initdb.d is not readable by user postgres: its scripts are skipped"
  fi
  scripts=(/docker-entrypoint-initdb.d/*)
  if [[ "$POSTGRES_DB" != "postgres" || ${#scripts[@]} -gt 0 ]]; then
    sockdir="$(mktemp -d)"
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories='$sockdir'" start >/dev/null
    psql_cmd=(psql -v ON_ERROR_STOP=1 --no-psqlrc -q -h "$sockdir" -U "$POSTGRES_USER")
    if [[ "$POSTGRES_DB" != "postgres" ]]; then
      exists="$("${psql_cmd[@]}" -d postgres -tA -v db="$POSTGRES_DB" <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")"
      if [[ -z "$exists" ]]; then
        "${psql_cmd[@]}" -d postgres -v db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
      fi
    fi
    for f in "${scripts[@]}"; do
      # shellcheck disable=SC1090
    case "$f" in
        *.sh) log "running $f"; if [[ -x "$f" ]]; then PGHOST="$sockdir" "$f"; else PGHOST="$sockdir" . "$f"; fi ;;
        *.sql) log "running $f"; "${psql_cmd[@]}" -d "$POSTGRES_DB" -f "$f" ;;
        *.sql.gz) log "running $f"; gunzip -c "$f" | "${psql_cmd[@]}" -d "$POSTGRES_DB" ;;
        *) log "ignoring $f" ;;
      esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    rmdir "$sockdir" 2>/dev/null || true
  fi
  unset POSTGRES_PASSWORD
  log "initialisation done"
fi

exec "$@"
