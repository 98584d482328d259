# Shared settings for tools/containers/*.sh (sourced, not run).
#
# Everything this machinery writes outside the engine's own storage lives under $CONTAINERS_STATE
# (default .cache/containers in the checkout, git-ignored): podman-compose's virtualenv, the podman
# configuration below and the logs of the last check.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tools/containers"
CONTAINERS_STATE="${CONTAINERS_STATE:-$ROOT/.cache/containers}"
mkdir -p "$CONTAINERS_STATE"

# The podman-compose release the stack is checked with (PyPI; Debian's 1.0.3 is too old for `name:`).
PODMAN_COMPOSE_VERSION="${PODMAN_COMPOSE_VERSION:-1.6.0}"
COMPOSE_VENV="$CONTAINERS_STATE/venv"
PODMAN_COMPOSE="$COMPOSE_VENV/bin/podman-compose"

# Podman reads this file instead of /etc/containers/containers.conf (the host's settings stay as they
# are): runc (crun cannot run on cgroup-v1 hosts), cgroupfs (no systemd here) and container ulimits no
# higher than this shell's hard limits (podman's defaults, nofile 1048576, make runc fail elsewhere).
export CONTAINERS_CONF="$CONTAINERS_STATE/containers.conf"

# The stand-in base images are built from this Debian release (the one python:3.11-slim-bookworm uses).
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
STANDIN_BASE="localhost/attendance-standin/debian:$DEBIAN_SUITE"

# The image names the Dockerfiles and docker-compose.yml use (their stand-ins are built under these tags).
PYTHON_IMAGE="python:3.11-slim-bookworm"
POSTGRES_IMAGE="postgres:16-alpine"
REDIS_IMAGE="redis:7-alpine"
NGINX_IMAGE="nginx:1.27-alpine"
MINIO_IMAGE="$(sed -n 's/^ *image: *\(quay.io\/minio\/minio:[^ ]*\) *$/\1/p' "$ROOT/docker-compose.yml" | head -n 1)"
WEB_IMAGE="attendance-web:local"
WORKER_IMAGE="attendance-worker:local"

# Extra CA certificates (PEM) for builds behind a TLS-intercepting proxy: EXTRA_CA_CERTS_FILE, or the
# host's own additions in /usr/local/share/ca-certificates. Only the build stages see them.
extra_ca_certs() {
  if [ -n "${EXTRA_CA_CERTS_FILE:-}" ]; then
    cat "$EXTRA_CA_CERTS_FILE"
  elif compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cat /usr/local/share/ca-certificates/*.crt
  fi
}

log() { printf '[containers %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

write_containers_conf() {
  local nofile nproc
  nofile="$(ulimit -Hn)"; [ "$nofile" = unlimited ] && nofile=65536
  nproc="$(ulimit -Hu)"; [ "$nproc" = unlimited ] && nproc=32768
  [ "$nofile" -gt 65536 ] && nofile=65536
  [ "$nproc" -gt 32768 ] && nproc=32768
  cat >"$CONTAINERS_CONF.tmp" <<CONF
# Written by tools/containers/lib.sh: podman's settings for the container check.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
CONF
  mv "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"
}

image_exists() { podman image exists "$1"; }

# Each script can run on its own: the configuration exists before podman first reads it.
[ -f "$CONTAINERS_CONF" ] || write_containers_conf
