#!/usr/bin/env bash
# shellcheck disable=SC2015  # `ok` never fails: `A && ok || bad` is an if-then-else here
# Smoke test of the local Docker engine and envctl's base images (run after setup.sh):
#   node 24 in base-node; postgres first start with a named volume + env vars, pg_isready,
#   psql, fast `docker stop`, data kept across a restart; redis PING; a user-defined bridge
#   network with a port published on 127.0.0.1 reached with curl, container-to-container
#   by name; `docker run --init`.
# Everything it creates is named envctl-smoke-* and removed at the end (also on failure).
# Usage: bash scripts/images/smoke.sh [PORT]   (PORT on 127.0.0.1, default 18080)
set -euo pipefail

PORT="${1:-18080}"
P=envctl-smoke-$$
PASS=0 FAIL=0

ok() { PASS=$((PASS + 1)); echo "smoke: ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "smoke: FAIL $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

cleanup() {
  docker rm -f -v "$P-pg" "$P-redis" "$P-web" >/dev/null 2>&1 || true
  docker volume rm "$P-pgdata" >/dev/null 2>&1 || true
  docker network rm "$P-net" >/dev/null 2>&1 || true
}
trap cleanup EXIT

wait_healthy() { # wait_healthy CONTAINER SECONDS: until `healthcheck` inside succeeds
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    docker exec "$1" healthcheck >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

docker info >/dev/null 2>&1 || { echo "smoke: no Docker engine answers; run scripts/setup.sh" >&2; exit 1; }

# --- node
v="$(docker run --rm envctl/base-node:24 node -e 'console.log(process.version)')"
[[ "$v" == v24.* ]] && ok "base-node: node $v" || bad "base-node: node printed '$v'"

# --- --init
v="$(docker run --rm --init envctl/base-debian:12 cat /proc/1/comm)"
[[ "$v" == "docker-init" ]] && ok "docker run --init: PID 1 is $v" || bad "docker run --init: PID 1 is '$v'"

# --- postgres: first start, query, stop, restart, data kept
docker volume create "$P-pgdata" >/dev/null
t0="$(now)"
docker run -d --name "$P-pg" -e POSTGRES_USER=app -e POSTGRES_PASSWORD=secret -e POSTGRES_DB=appdb \
  -v "$P-pgdata:/var/lib/postgresql/data" envctl/base-postgres:15 >/dev/null
if wait_healthy "$P-pg" 30; then ok "base-postgres: first start (initdb) healthy in $(since "$t0")s"
else bad "base-postgres: not healthy in 30s"; docker logs "$P-pg" 2>&1 | tail -20 >&2; fi
docker exec "$P-pg" pg_isready -U app -d appdb >/dev/null && ok "base-postgres: pg_isready" || bad "base-postgres: pg_isready"
docker exec -e PGPASSWORD=secret "$P-pg" psql -v ON_ERROR_STOP=1 -q -h 127.0.0.1 -U app -d appdb \
  -c "CREATE TABLE smoke(v text); INSERT INTO smoke VALUES ('kept');" &&
  ok "base-postgres: psql over TCP with the password" || bad "base-postgres: psql"
if docker exec -e PGPASSWORD=wrong "$P-pg" psql -h 127.0.0.1 -U app -d appdb -c 'select 1' >/dev/null 2>&1; then
  bad "base-postgres: a wrong password was accepted"
else ok "base-postgres: a wrong password is refused"; fi
t0="$(now)"; docker stop "$P-pg" >/dev/null; s="$(since "$t0")"
code="$(docker inspect -f '{{.State.ExitCode}}' "$P-pg")"
awk -v s="$s" 'BEGIN { exit !(s < 5) }' && [[ "$code" == 0 ]] && ok "base-postgres: docker stop in ${s}s, exit code $code" ||
  bad "base-postgres: docker stop took ${s}s, exit code $code"
t0="$(now)"; docker start "$P-pg" >/dev/null
wait_healthy "$P-pg" 30 && ok "base-postgres: restart healthy in $(since "$t0")s" || bad "base-postgres: restart not healthy"
v="$(docker exec "$P-pg" psql -U app -d appdb -tAc 'SELECT v FROM smoke')"
[[ "$v" == "kept" ]] && ok "base-postgres: data kept in the volume across restart" || bad "base-postgres: data after restart: '$v'"

# --- redis + network + published port
docker network create "$P-net" >/dev/null
docker run -d --name "$P-redis" --network "$P-net" envctl/base-redis:7 >/dev/null
wait_healthy "$P-redis" 15 && ok "base-redis: healthy" || bad "base-redis: not healthy"
v="$(docker exec "$P-redis" redis-cli ping)"
[[ "$v" == "PONG" ]] && ok "base-redis: redis-cli ping -> $v" || bad "base-redis: redis-cli ping -> '$v'"
docker run -d --name "$P-web" --init --network "$P-net" -p "127.0.0.1:$PORT:80" envctl/base-node:24 node -e '
  const http = require("http"), net = require("net");
  http.createServer((req, res) => {
    const s = net.connect(6379, process.argv[1], () => s.write("PING\r\n"));
    s.on("data", (d) => { res.end("redis says " + d.toString().trim() + "\n"); s.destroy(); });
    s.on("error", (e) => { res.statusCode = 502; res.end(e.message + "\n"); });
  }).listen(80);' "$P-redis" >/dev/null
v=""
for _ in $(seq 50); do
  v="$(curl -fsS --max-time 2 "http://127.0.0.1:$PORT/" 2>/dev/null)" && break
  sleep 0.1
done
[[ "$v" == "redis says +PONG" ]] && ok "bridge network: curl 127.0.0.1:$PORT -> web -> redis by name: '$v'" ||
  bad "bridge network: curl 127.0.0.1:$PORT got '$v'"
hostip="$(docker inspect -f '{{(index (index .HostConfig.PortBindings "80/tcp") 0).HostIp}}' "$P-web")"
[[ "$hostip" == "127.0.0.1" ]] && ok "published on $hostip only" || bad "published on '$hostip'"
t0="$(now)"; docker stop "$P-web" "$P-redis" >/dev/null; s="$(since "$t0")"
awk -v s="$s" 'BEGIN { exit !(s < 5) }' && ok "docker stop web (--init) + redis in ${s}s" || bad "docker stop web + redis took ${s}s"

echo "smoke: $PASS passed, $FAIL failed"
((FAIL == 0))
