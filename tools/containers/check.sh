#!/usr/bin/env bash
# The container check (make containers-check; tests/deploy/test_containers.py runs it in make test):
#
#   1. the engine installed where missing (ensure_engine.sh), the stand-in base images built where missing
#      (build_standins.sh), the web and worker images built with the project's Dockerfiles (build_images.sh);
#   2. docker-compose.yml brought up under a project name of its own, on free ports, in stages: the stores
#      (db, redis, s3) -> the one-shots (s3-init, migrate; each must exit 0) -> web, worker, beat, flower ->
#      proxy, with every health check polled here (podman 4.3 runs none by itself without systemd, and
#      podman-compose 1.6 does not wait for `condition: service_healthy`: a plain `up -d` hangs);
#   3. one real job through the proxy (drive_job.py): sign up, a course, students with portraits, a classroom
#      photo from ../shared/facedata, the attendance read back from /api/v1;
#   4. inside the images: `pip check`, the worker's model pack (attendance-engine models-check), and no
#      build-time CA certificate left in either;
#   5. `down -v`, then nothing of the project may be left: containers, volumes, networks, pods.
#
# Usage: tools/containers/check.sh [--facedata DIR] [--keep]   (--keep: leave the stack up, for debugging)
# Exit 0: all good; 3: no engine and none can be installed here; anything else: a failure, with the logs
# of every container in $CONTAINERS_STATE/logs/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FACEDATA="${FACEDATA_DIR:-$ROOT/../shared/facedata}"
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --facedata) FACEDATA="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) die "unknown argument $1" ;;
  esac
done

start=$(date +%s)
lap=$start
timing() { local now; now=$(date +%s); log "$1: $((now - lap)) s (total $((now - start)) s)"; lap=$now; }

status=0
"$HERE/ensure_engine.sh" || status=$?
[ "$status" = 0 ] || exit "$status"
timing "engine ready"
"$HERE/build_standins.sh" python
timing "Python base image ready"
# The stores' and the proxy's images build while the project's images do.
"$HERE/build_standins.sh" services & standins=$!
images=0
"$HERE/build_images.sh" || images=$?
stores=0
wait "$standins" || stores=$?
[ "$images" = 0 ] && [ "$stores" = 0 ] || die "building the images failed"
timing "web, worker and stand-in images built"

PROJECT="attendance-check-$(date +%s)-$$"
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
read -r WEB_PORT DB_PORT REDIS_PORT S3_PORT S3_CONSOLE_PORT FLOWER_PORT <<<"$(free_ports 6)"
ENV_FILE="$CONTAINERS_STATE/check.env"
cat >"$ENV_FILE" <<ENV
SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
FLASK_ENV=development
WEB_PORT=$WEB_PORT
DB_PORT=$DB_PORT
REDIS_PORT=$REDIS_PORT
S3_PORT=$S3_PORT
S3_CONSOLE_PORT=$S3_CONSOLE_PORT
FLOWER_PORT=$FLOWER_PORT
ENV
LOGS="$CONTAINERS_STATE/logs"
rm -rf "$LOGS" && mkdir -p "$LOGS"

compose() {
  timeout 300 "$PODMAN_COMPOSE" --project-name "$PROJECT" --env-file "$ENV_FILE" -f "$ROOT/docker-compose.yml" "$@" \
    >>"$LOGS/podman-compose.log" 2>&1 || { tail -n 40 "$LOGS/podman-compose.log" >&2; die "podman-compose $* failed"; }
}
container() {  # the container of a compose service
  podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" \
    --format '{{.Names}}' | head -n 1
}
project_leftovers() {
  podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format 'container {{.Names}}'
  podman volume ls --format '{{.Name}}' | grep -F "$PROJECT" | sed 's/^/volume /' || true
  podman network ls --format '{{.Name}}' | grep -F "$PROJECT" | sed 's/^/network /' || true
  podman pod ls --format '{{.Name}}' | grep -F "$PROJECT" | sed 's/^/pod /' || true
}
save_logs() {
  local c
  for c in $(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}'); do
    podman logs "$c" >"$LOGS/$c.log" 2>&1 || true
  done
}
down_and_verify() {
  compose down -v
  local left
  left="$(project_leftovers)"
  if [ -n "$left" ]; then
    log "left behind after down -v:"; printf '%s\n' "$left" >&2
    return 1
  fi
  log "down -v left nothing behind (containers, volumes, networks, pods)"
}
cleanup() {
  local rc=$?
  trap - EXIT
  save_logs
  if [ "$KEEP" = 1 ]; then
    log "--keep: project $PROJECT left up (proxy on http://127.0.0.1:$WEB_PORT; env in $ENV_FILE)"
    exit "$rc"
  fi
  if [ "$rc" != 0 ]; then
    log "FAILED (exit $rc); container logs in $LOGS"
    for f in "$LOGS"/*.log; do [ -f "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 25 "$f" >&2; }; done
    # Remove what this run made, even half-started.
    timeout 300 "$PODMAN_COMPOSE" --project-name "$PROJECT" --env-file "$ENV_FILE" -f "$ROOT/docker-compose.yml" \
      down -v >>"$LOGS/podman-compose.log" 2>&1 || true
    for id in $(podman ps -aq --filter "label=io.podman.compose.project=$PROJECT"); do podman rm -f -v "$id" >/dev/null 2>&1 || true; done
  fi
  exit "$rc"
}
trap cleanup EXIT

wait_healthy() {  # service, timeout (s): poll the service's own health check until it passes
  local svc="$1" limit="$2" c deadline state out
  c="$(container "$svc")"
  [ -n "$c" ] || die "no container for $svc"
  deadline=$(($(date +%s) + limit))
  while :; do
    state="$(podman inspect --format '{{.State.Status}}' "$c")"
    [ "$state" = running ] || { podman logs --tail 40 "$c" >&2 || true; die "$svc is $state, not running"; }
    if out="$(podman healthcheck run "$c" 2>&1)"; then
      log "$svc healthy"
      return 0
    fi
    [ "$(date +%s)" -lt "$deadline" ] || { podman logs --tail 40 "$c" >&2 || true; die "$svc not healthy after $limit s: $out"; }
    sleep 2
  done
}
wait_exit_zero() {  # one-shot service, timeout (s)
  local svc="$1" c rc
  c="$(container "$svc")"
  [ -n "$c" ] || die "no container for $svc"
  rc="$(timeout "$2" podman wait "$c")" || die "$svc did not finish in $2 s"
  [ "$rc" = 0 ] || { podman logs --tail 60 "$c" >&2 || true; die "$svc exited $rc"; }
  log "$svc done (exit 0)"
}
wait_running() {  # service without a health check (beat): still running after its start
  local c state
  c="$(container "$1")"
  state="$(podman inspect --format '{{.State.Status}}' "$c")"
  [ "$state" = running ] || { podman logs --tail 40 "$c" >&2 || true; die "$1 is $state, not running"; }
  log "$1 running"
}

log "compose project $PROJECT (proxy on 127.0.0.1:$WEB_PORT)"
compose up -d --no-build --no-deps db redis s3
for svc in db redis s3; do wait_healthy "$svc" 120; done
timing "stores healthy"
compose up -d --no-build --no-deps s3-init migrate
wait_exit_zero s3-init 180
wait_exit_zero migrate 180
timing "bucket created, migrations applied"
compose up -d --no-build --no-deps web worker beat flower
wait_healthy web 120
# nginx looks `web` up once, when it starts: the proxy comes after the web.
compose up -d --no-build --no-deps proxy
wait_healthy worker 240
wait_healthy flower 120
wait_running beat
python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)" "http://127.0.0.1:$WEB_PORT/healthz" \
  || die "the proxy does not answer /healthz"
log "proxy answers /healthz"
timing "services healthy"

"$ROOT/.venv/bin/python" "$HERE/drive_job.py" "http://127.0.0.1:$WEB_PORT" --facedata "$FACEDATA"
timing "job driven through the proxy"

# Inside the images.
podman run --rm --no-healthcheck --entrypoint pip "$WEB_IMAGE" check >/dev/null || die "pip check fails in $WEB_IMAGE"
# The worker's gaps made on purpose: the pattern its Dockerfile's own pip check leaves out (read from there).
allowed="$(sed -n "s/.*grep -v -E '\([^']*\)' \/tmp\/pip-check.txt.*/\1/p" "$ROOT/services/worker/Dockerfile")"
[ -n "$allowed" ] || die "no pip check pattern found in services/worker/Dockerfile"
broken="$(podman run --rm --no-healthcheck --entrypoint pip "$WORKER_IMAGE" check 2>/dev/null | grep -v -E "$allowed" || true)"
[ -z "$broken" ] || die "pip check in $WORKER_IMAGE: $broken"
log "pip check passes in both images"
pack="$(podman run --rm --no-healthcheck "$WORKER_IMAGE" attendance-engine models-check 2>&1 | grep -v 'level=error msg="unable to get systemd')" || die "models-check in $WORKER_IMAGE: $pack"
log "worker model pack: $(printf '%s' "$pack" | tr '\n' ' ' | cut -c1-300)"
extra="$(extra_ca_certs | grep -v -e '-----' | tail -n 2 | head -n 1)"
for image in "$WEB_IMAGE" "$WORKER_IMAGE"; do
  podman run --rm --no-healthcheck --entrypoint sh "$image" -c 'test ! -e /usr/local/share/ca-certificates/extra-build-ca.crt' \
    || die "$image holds the build's CA certificate file"
  if [ -n "$extra" ] && podman run --rm --no-healthcheck --entrypoint grep "$image" -qF "$extra" /etc/ssl/certs/ca-certificates.crt; then
    die "$image trusts the build's extra CA certificate"
  fi
done
log "no build-time CA certificate in the images"
timing "images checked"

if [ "$KEEP" = 1 ]; then exit 0; fi
save_logs
down_and_verify
timing "stack down"
log "container check passed in $(($(date +%s) - start)) s"
