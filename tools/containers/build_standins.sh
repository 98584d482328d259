#!/usr/bin/env bash
# Build the local stand-ins for the base images the project's Dockerfiles and docker-compose.yml name
# (python:3.11-slim-bookworm, postgres:16-alpine, redis:7-alpine, nginx:1.27-alpine and the MinIO image),
# each only when no image of that name is present. No container registry is reachable here, so they are
# built from Debian (debootstrap) and tagged with the exact names the files use; each keeps the official
# image's contract (tools/containers/standins/*/Containerfile says which, and how it differs).
# Where the real images can be pulled (`podman pull ...` first), nothing is built.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

build_base() {
  image_exists "$STANDIN_BASE" && return 0
  local dir
  dir="$(mktemp -d "${TMPDIR:-/var/tmp}/attendance-rootfs.XXXXXX")"
  log "debootstrap $DEBIAN_SUITE (minbase) from $DEBIAN_MIRROR"
  debootstrap --variant=minbase --include=ca-certificates "$DEBIAN_SUITE" "$dir/rootfs" "$DEBIAN_MIRROR" \
    >"$CONTAINERS_STATE/debootstrap.log" 2>&1 || { tail -n 20 "$CONTAINERS_STATE/debootstrap.log" >&2; rm -rf "$dir"; die "debootstrap failed"; }
  local r="$dir/rootfs"
  cat >"$r/etc/apt/sources.list" <<SOURCES
deb $DEBIAN_MIRROR $DEBIAN_SUITE main
deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main
deb http://deb.debian.org/debian-security $DEBIAN_SUITE-security main
SOURCES
  # As in Debian's own container images: no services started by package scripts, no docs or man pages,
  # no package caches left in layers.
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d" && chmod +x "$r/usr/sbin/policy-rc.d"
  printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n' \
    >"$r/etc/dpkg/dpkg.cfg.d/excludes"
  printf 'APT::Install-Recommends "false";\nDPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\n' \
    >"$r/etc/apt/apt.conf.d/docker-clean"
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/archives/*.deb "$r"/usr/share/doc/* "$r"/usr/share/man/*
  tar --numeric-owner -C "$r" -c . | podman import --quiet --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$STANDIN_BASE" >/dev/null
  rm -rf "$dir"
  log "built $STANDIN_BASE"
}

build_standin() {  # image name, stand-in folder, extra build args...
  local image="$1" folder="$2"
  shift 2
  image_exists "$image" && return 0
  log "building the stand-in for $image"
  podman build --quiet --format docker --pull=never --tag "$image" "$@" "$HERE/standins/$folder" \
    >"$CONTAINERS_STATE/build-$folder.log" 2>&1 || { tail -n 40 "$CONTAINERS_STATE/build-$folder.log" >&2; die "building $image failed"; }
}

# Which ones: `python` (the base, then the Python image the project's Dockerfiles build on), `services` (the
# compose file's stores and proxy; they need the base), or both (no argument).
what="${1:-all}"
build_base
if [ "$what" != services ]; then
  build_standin "$PYTHON_IMAGE" python --build-arg "BASE=$STANDIN_BASE"
fi
[ "$what" != python ] || exit 0
# Independent of each other: built side by side (their time is mostly downloads).
pids=()
build_standin "$POSTGRES_IMAGE" postgres --build-arg "BASE=$STANDIN_BASE" & pids+=($!)
build_standin "$REDIS_IMAGE" redis --build-arg "BASE=$STANDIN_BASE" & pids+=($!)
build_standin "$NGINX_IMAGE" nginx --build-arg "BASE=$STANDIN_BASE" & pids+=($!)
if [ "$what" = services ] && ! image_exists "$PYTHON_IMAGE"; then wait "${pids[@]}"; die "$PYTHON_IMAGE is missing: build it first"; fi
build_standin "$MINIO_IMAGE" minio --build-arg "BASE=$PYTHON_IMAGE" --build-arg "EXTRA_CA_CERTS=$(extra_ca_certs)" & pids+=($!)
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit "$status"
