#!/usr/bin/env bash
# Regenerate the pinned lock files in requirements/ from requirements/*.in.
#
#   bash tools/deploy_checks/lock.sh            # needs `uv` on PATH (pip install uv)
#
# Universal resolution (--universal) for Python >= 3.11, so one lock installs on 3.11 (the CPU
# images, python:3.11-slim) and 3.12 (the GPU image, Ubuntu 24.04's python3). The project's own
# packages are left out of the locks: the Dockerfiles install them with --no-deps after the lock.
set -euo pipefail
cd "$(dirname "$0")/../.."
UV=${UV:-uv}
own=(--no-emit-package attendance-shared --no-emit-package attendance-web --no-emit-package attendance-worker)
common=(--universal --python-version 3.11 --no-header --annotation-style line --quiet)

compile() {
  local in=$1 out=$2; shift 2
  {
    echo "# Pinned by tools/deploy_checks/lock.sh from ${in} (uv pip compile --universal, Python >= 3.11)."
    echo "# Do not edit by hand: change ${in} or a pyproject.toml and run the script again."
    "$UV" pip compile "$in" "${common[@]}" "${own[@]}" "$@"
  } > "$out.tmp"
  mv "$out.tmp" "$out"
  echo "wrote $out"
}

compile requirements/web.in requirements/web.lock
compile requirements/worker.in requirements/worker.lock
compile requirements/worker-gpu.in requirements/worker-gpu.lock --no-emit-package onnxruntime
compile requirements/eb-python.in requirements/eb-python.lock
compile requirements/dev.in requirements/dev.lock
