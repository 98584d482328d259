#!/usr/bin/env bash
# Build the project's images with its own Dockerfiles, as a school would (docker-compose.yml's tags):
# attendance-web:local and attendance-worker:local (DEVICE=cpu, the compose default). Docker-format
# images, so their HEALTHCHECKs are kept (OCI images drop them). An image built from the same inputs is
# not built again (REBUILD=1 forces it); otherwise the layer cache still spares the dependency installs.
# The host's extra CA certificates go to the build stages only (lib.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# What pip and apt print when the network, not the build, failed.
NETWORK_FAILURE='Read timed out|ReadTimeoutError|Connection reset by peer|Temporary failure in name resolution|Failed to establish a new connection|IncompleteRead'

build() {  # tag, dockerfile, extra args...
  local tag="$1" dockerfile="$2" name digest ca stamp
  shift 2
  name="$(basename "$(dirname "$dockerfile")")"
  ca="$(extra_ca_certs)"
  # Skip the build when the image was built from exactly these inputs (context_hash.py says why). The digest
  # is kept beside the image's id, not in a label: a --label makes buildah commit the FROM-only base-cpu
  # stage anew each time, and then no layer after it is ever taken from the cache.
  digest="$(python3 "$HERE/context_hash.py" "$dockerfile" "$@" "ca=$ca" \
    "base=$(podman image inspect --format '{{.Id}}' "$PYTHON_IMAGE")")"
  stamp="$CONTAINERS_STATE/built-$name"
  if [ "${REBUILD:-0}" != 1 ] && image_exists "$tag" && [ -f "$stamp" ] \
    && [ "$(cat "$stamp")" = "$digest $(podman image inspect --format '{{.Id}}' "$tag")" ]; then
    log "$tag is up to date (same Dockerfile, context and build args)"
    return 0
  fi
  log "building $tag ($dockerfile)"
  rm -f "$stamp"
  # A download cut off by the network (PyPI read timeouts were seen here) is tried once more: the finished layers
  # come from the cache, so only the failed step runs again. Any other failure stops the check at once.
  local build_log="$CONTAINERS_STATE/build-$name.log" attempt
  for attempt in 1 2; do
    podman build --format docker --pull=never --layers --tag "$tag" --file "$ROOT/$dockerfile" \
      --build-arg "EXTRA_CA_CERTS=$ca" "$@" "$ROOT" >"$build_log" 2>&1 && break
    if [ "$attempt" = 1 ] && grep -qE "$NETWORK_FAILURE" "$build_log"; then
      log "building $tag: a download failed on the network ($(grep -m1 -oE "$NETWORK_FAILURE" "$build_log")); once more"
      continue
    fi
    tail -n 60 "$build_log" >&2
    die "building $tag failed (log: $build_log)"
  done
  echo "$digest $(podman image inspect --format '{{.Id}}' "$tag")" >"$stamp"
}

# Side by side (each is mostly downloads, then one CPU-bound step). No --build-arg DEVICE for the worker: the
# Dockerfile's default (cpu) must be enough, as its header says.
build "$WEB_IMAGE" services/web/Dockerfile & web=$!
build "$WORKER_IMAGE" services/worker/Dockerfile & worker=$!
status=0
wait "$web" || status=1
wait "$worker" || status=1
exit "$status"
