"""Accuracy levers on full LFW (section 1 of `make bench`), each with the product's code path patched:

    .venv/bin/python -m bench.lfw_levers [--only NAME ...]     (about 1-2 min per variant on 2 cores)

Landmark variants change where the five points land before alignment: none (one detector pass), the
product's mirrored second look in a 192 px window for enrollment portraits, the same over the whole
mirrored image for every face (probes too), and landmarks from a 2x upscaled copy. Prints one JSON
line per variant: TPIR at FPIR 1% and 0.1% over the non-mated pool, without the two mislabeled LFW
photos (the targets' reading), and with them.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import cv2
import numpy as np

from attendance_worker.engine import core

from . import lfw
from .common import facedata_dir, iou, load_engine

Variant = Callable[[Any], Any]  # engine -> context manager that patches it


def _matched(det: Any, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """det's landmarks replaced by those of the best-overlapping other detection (IoU > 0.5)."""
    out = det.landmarks.copy()
    for i in range(len(det)):
        ious = [iou(det.boxes[i], b) for b in boxes]
        if ious and max(ious) > 0.5:
            out[i] = landmarks[int(np.argmax(ious))]
    return out


def _whole_image_tta(engine: Any, flip: bool, up2: bool) -> Callable[[np.ndarray], Any]:
    detect = engine.detector.detect

    def tta(rgb: np.ndarray) -> Any:
        det = detect(rgb)
        if not len(det):
            return det
        h, w = rgb.shape[:2]
        looks = [det.landmarks]
        if flip:
            m = detect(np.ascontiguousarray(rgb[:, ::-1])).mirrored(w)
            looks.append(_matched(det, m.boxes, m.landmarks))
        if up2:
            u = detect(cv2.resize(rgb, (w * 2, h * 2), interpolation=cv2.INTER_CUBIC))
            looks.append(_matched(det, u.boxes / 2, u.landmarks / 2))
        det.landmarks = np.mean(looks, axis=0).astype(np.float32)
        return det

    return tta


@contextmanager
def _no_mirror(engine: Any) -> Iterator[None]:
    original = core.average_with_mirror
    core.average_with_mirror = lambda backend, rgb, det, **kw: det  # type: ignore[assignment]
    try:
        yield
    finally:
        core.average_with_mirror = original  # type: ignore[assignment]


@contextmanager
def _product(engine: Any) -> Iterator[None]:
    yield


def _whole_image(flip: bool, up2: bool, gallery_only: bool) -> Variant:
    @contextmanager
    def patch(engine: Any) -> Iterator[None]:
        with _no_mirror(engine):
            tta = _whole_image_tta(engine, flip, up2)
            if not gallery_only:
                engine.detector.detect, original = tta, engine.detector.detect
                try:
                    yield
                finally:
                    engine.detector.detect = original
                return
            enroll = engine._detect_portrait
            engine._detect_portrait = tta
            try:
                yield
            finally:
                engine._detect_portrait = enroll

    return patch


LANDMARK_VARIANTS: dict[str, Variant] = {
    "one pass (before 77eb9c0)": _no_mirror,
    "product: mirrored 192 px window, enrollment only": _product,
    "whole mirrored image, enrollment only": _whole_image(True, False, True),
    "whole mirrored image, every face": _whole_image(True, False, False),
    "2x upscaled copy, enrollment only": _whole_image(False, True, True),
    "2x upscaled copy, every face": _whole_image(False, True, False),
}


def _tpir(data: dict[str, Any], exclude: bool) -> dict[str, float]:
    r = lfw.evaluate(data, exclude_mislabeled=exclude)
    return {k: round(100 * r[k], 2) for k in ("tpir@1%_pool", "tpir@0.1%_pool")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", help="variant names (default: all)")
    args = parser.parse_args(argv)
    engine = load_engine()
    for name, variant in LANDMARK_VARIANTS.items():
        if args.only and name not in args.only:
            continue
        with variant(engine):
            data = lfw.embed_lfw(engine, facedata_dir())
        line = {"variant": name, "without_mislabeled": _tpir(data, True), "all_labels": _tpir(data, False)}
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
