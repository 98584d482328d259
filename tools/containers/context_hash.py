"""A digest of everything an image build reads: its Dockerfile, the build context's files, the build args.

    python3 tools/containers/context_hash.py DOCKERFILE [BUILD-ARG...]

build_images.sh labels each image with it and skips the build when the image already carries the same
digest: podman 4.3's builder re-runs every `COPY --from=<stage>` even when nothing changed (a minute for
the worker's venv). The files hashed are a superset of the context .dockerignore lets in (every file
under the allow-listed paths but caches and bytecode), so a change can cause a rebuild, never miss one.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATHS = ["requirements", "services/shared", "services/web", "services/worker"]
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def digest(dockerfile: str, args: list[str]) -> str:
    h = hashlib.sha256()
    h.update((ROOT / dockerfile).read_bytes())
    for arg in args:
        h.update(b"\0arg\0" + arg.encode())
    for top in PATHS:
        for path in sorted((ROOT / top).rglob("*")):
            rel = path.relative_to(ROOT)
            if not path.is_file() or SKIP_DIRS.intersection(rel.parts) or path.suffix in {".pyc", ".pyo"}:
                continue
            h.update(b"\0file\0" + str(rel).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


if __name__ == "__main__":
    print(digest(sys.argv[1], sys.argv[2:]))
