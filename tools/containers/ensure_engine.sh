#!/usr/bin/env bash
# Install the container engine the check uses, where it is missing: podman and buildah (Debian), runc
# (not crun: it cannot run containers on cgroup-v1 hosts), netavark + aardvark-dns (container DNS, the
# compose network's aliases), debootstrap (the stand-in base images) and podman-compose from PyPI (in
# its own virtualenv under $CONTAINERS_STATE). Quick and silent when all is there.
# Exit 3: the engine is missing and cannot be installed here (not root, no apt-get); the test skips then.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

need=()
for tool in podman buildah runc debootstrap netavark:/usr/lib/podman/netavark aardvark-dns:/usr/lib/podman/aardvark-dns; do
  name="${tool%%:*}" path="${tool#*:}"
  if [ "$name" = "$path" ]; then command -v "$name" >/dev/null 2>&1 || need+=("$name")
  else [ -x "$path" ] || need+=("$name"); fi
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "missing ${need[*]}: install them (Debian/Ubuntu: apt-get install ${need[*]}) and run this again as root"
    exit 3
  fi
  log "installing ${need[*]} (apt)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    podman buildah runc netavark aardvark-dns debootstrap iptables >/dev/null \
    || { log "apt-get install failed"; exit 3; }
fi
if [ "$(id -u)" != 0 ]; then
  log "the check runs rootful podman (debootstrap and runc on cgroup v1 need root): run it as root"
  exit 3
fi

if [ ! -x "$PODMAN_COMPOSE" ] || [ "$("$COMPOSE_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("podman-compose"))' 2>/dev/null)" != "$PODMAN_COMPOSE_VERSION" ]; then
  log "installing podman-compose $PODMAN_COMPOSE_VERSION (PyPI) in $COMPOSE_VENV"
  python3 -m venv "$COMPOSE_VENV"
  "$COMPOSE_VENV/bin/pip" install -q "podman-compose==$PODMAN_COMPOSE_VERSION" || { log "pip install podman-compose failed"; exit 3; }
fi
write_containers_conf
podman info >/dev/null 2>&1 || { podman info >&2 || true; die "podman does not work here"; }
