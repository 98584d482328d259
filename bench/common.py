"""Shared helpers: data location, engine loading, timing."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def facedata_dir() -> Path:
    path = Path(os.environ.get("FACEDATA_DIR", REPO.parent / "shared" / "facedata"))
    if not (path / "lfw").is_dir():
        raise SystemExit(f"benchmark data not found at {path}; set FACEDATA_DIR to the shared facedata folder")
    return path


def pack_dir() -> Path:
    return Path(os.environ.get("MODEL_PACK", REPO / "models" / "default"))


def load_engine(pack: Path | None = None):
    from attendance_worker.engine import Engine

    pack = pack or pack_dir()
    if not (pack / "manifest.json").is_file() and not any(pack.glob("*.onnx")):
        from attendance_model_export.build import build

        build(pack)
    return Engine.load(pack)


def peak_rss_mb() -> float:
    """Peak RSS of this process image. Linux's ru_maxrss survives exec, so a child started from the big benchmark
    process would report the parent's size; VmHWM belongs to the current address space only."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def read_rgb(path: Path) -> np.ndarray:
    from attendance_shared.images import decode_oriented_rgb

    return np.asarray(decode_oriented_rgb(path.read_bytes(), path.name), dtype=np.uint8)


def central_face(faces: list, width: int, height: int):
    """The face nearest the image centre (LFW images are centred on the labelled person)."""
    if not faces:
        return None
    cx, cy = width / 2, height / 2

    def dist(f) -> float:
        x1, y1, x2, y2 = f.box
        return ((x1 + x2) / 2 - cx) ** 2 + ((y1 + y2) / 2 - cy) ** 2

    return min(faces, key=dist)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two x1, y1, x2, y2 boxes: the worker's own (bench/dlib_compare.py keeps its
    own: it is standalone)."""
    from attendance_shared.images import box_iou

    return box_iou(a, b)
