"""File checksums: the sha256 a model pack's manifest records for each file.

The pack builder (attendance_model_export) writes it and the worker's engine verifies it, so both read it here: the
builder never imports the worker's runtime, nor the runtime the builder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    """Hex sha256 of the file at `path`, read 1 MiB at a time (model files are tens of megabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
