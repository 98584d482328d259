#!/usr/bin/env bash
# Regenerate the pinned lock files in requirements/ from requirements/*.in.
#
#   bash tools/deploy_checks/lock.sh            # needs `uv` on PATH (pip install uv)
#
# Universal resolution (--universal) for Python >= 3.11, so one lock installs on 3.11 (the CPU
# images, python:3.11-slim) and 3.12 (the GPU image, Ubuntu 24.04's python3). The project's own
# packages are left out of the locks: the Dockerfiles install them with --no-deps after the lock.
# A lock's existing pins are kept where its inputs still allow them (uv's --output-file preference), so
# a changed input moves only what it must; UPGRADE=1 moves every pin to the newest that fits.
set -euo pipefail
cd "$(dirname "$0")/../.."
UV=${UV:-uv}
own=(--no-emit-package attendance-shared --no-emit-package attendance-web --no-emit-package attendance-worker
     --no-emit-package attendance-model-export)
common=(--universal --python-version 3.11 --no-header --annotation-style line --quiet)

compile() {
  local in=$1 out=$2; shift 2
  if [ -f "$out" ]; then grep -v '^# ' "$out" > "$out.pins"; else : > "$out.pins"; fi
  "$UV" pip compile "$in" "${common[@]}" "${own[@]}" ${UPGRADE:+--upgrade} --output-file "$out.pins" "$@"
  {
    echo "# Pinned by tools/deploy_checks/lock.sh from ${in} (uv pip compile --universal, Python >= 3.11)."
    echo "# Do not edit by hand: change ${in} or a pyproject.toml and run the script again."
    cat "$out.pins"
  } > "$out.tmp"
  rm "$out.pins"
  mv "$out.tmp" "$out"
  echo "wrote $out"
}

compile requirements/web.in requirements/web.lock
compile requirements/worker.in requirements/worker.lock
compile requirements/worker-gpu.in requirements/worker-gpu.lock --no-emit-package onnxruntime
compile requirements/worker-models.in requirements/worker-models.lock
compile requirements/eb-python.in requirements/eb-python.lock
compile requirements/dev.in requirements/dev.lock
