"""Measure the int8 calibration ranges that `make models` quantizes from, and commit them.

    .venv/bin/python -m bench.calibrate

Writes services/worker/model_export/attendance_model_export/calibration/{detector,recognizer,recognizer_channels}.json
(the last: per-channel ranges that attendance_model_export.equalize evens out before the recognizer is quantized).
Data (never a probe of the benchmark, so calibration cannot flatter it):
- recognizer: aligned crops of LFW photos 1-3 of every identity (the benchmark's enrollment photos);
- detector: half-size tiles of four synthetic classrooms built from those same enrollment photos (its own
  seeds), and the group photos at full size (640 px tiles).
The fp32 models come straight from the pinned wheels (attendance_model_export.build.fetch_and_convert), so this
works before any pack exists. Re-run after a change to the conversions, then rebuild with `make models`.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from . import classroom
from .common import central_face, facedata_dir, read_rgb

DETECTOR_INPUT = "input.1"
RECOGNIZER_INPUT = "data"


def fp32_engine(models: dict, workdir: Path):
    """An Engine on the converted fp32 models (no int8 yet: that is what we are calibrating)."""
    from attendance_model_export.build import DEFAULT_THRESHOLDS
    from attendance_worker.engine import Engine
    from attendance_worker.engine.pack import ModelPack

    paths = {}
    for role, model in models.items():
        paths[role] = workdir / f"{role}.onnx"
        paths[role].write_bytes(model.SerializeToString())
    pack = ModelPack("default", workdir, "calibration-fp32", paths["detector"], paths["recognizer"], DEFAULT_THRESHOLDS)
    return Engine(pack)


def enrollment_faces(engine, facedata: Path) -> tuple[list[np.ndarray], list[classroom.SourceFace]]:
    """(aligned RGB crops, classroom source faces) from LFW photos 1-3 of each identity."""
    crops, sources = [], []
    for person_dir in sorted((facedata / "lfw" / "identities").iterdir()):
        for i in (1, 2, 3):
            path = person_dir / f"{person_dir.name}_{i:04d}.jpg"
            rgb = read_rgb(path)
            face = central_face(engine.analyze_image(rgb, embed=False), rgb.shape[1], rgb.shape[0])
            if face is None:
                continue
            crops.append(engine.recognizer.align(rgb, face.landmarks))
            if i == 1:
                sources.append(classroom.SourceFace(person_dir.name, rgb, np.asarray(face.box, np.float32)))
    return crops, sources


def tiles(img: np.ndarray, side: int = 640) -> list[np.ndarray]:
    h, w = img.shape[:2]
    out = []
    for y in range(0, max(1, h - side // 2), side):
        for x in range(0, max(1, w - side // 2), side):
            tile = np.zeros((side, side, 3), np.uint8)
            crop = img[y : y + side, x : x + side]
            tile[: crop.shape[0], : crop.shape[1]] = crop
            out.append(tile)
    return out


def detector_tiles(engine, facedata: Path, sources: list[classroom.SourceFace]) -> list[np.ndarray]:
    rng = np.random.default_rng(12345)
    chosen = [sources[i] for i in rng.choice(len(sources), classroom.N_ENROLLED_FACES, replace=False)]
    out: list[np.ndarray] = []
    for k, (res, px, degrade) in enumerate(
        [("1080p", 24, True), ("1080p", 48, False), ("12MP", 32, True), ("12MP", 64, False)]
    ):
        data, _ = classroom.make_classroom(chosen, [], classroom.RESOLUTIONS[res], px, 900 + k, degrade)
        img = engine.decode(data, "classroom.jpg")
        out += tiles(cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA))
    for path in sorted((facedata / "groups").rglob("*.jpg")):
        out += tiles(read_rgb(path))
    return out


def batches(images: list[np.ndarray], size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(images), size):
        yield np.stack([im.transpose(2, 0, 1) for im in images[start : start + size]]).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    from attendance_model_export import equalize, quantize
    from attendance_model_export.build import fetch_and_convert

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    facedata = facedata_dir()
    _, models, _ = fetch_and_convert()
    with tempfile.TemporaryDirectory(prefix="calibrate-") as tmp:
        engine = fp32_engine(models, Path(tmp))
        crops, sources = enrollment_faces(engine, facedata)
        det_tiles = detector_tiles(engine, facedata, sources)
    print(f"recognizer: {len(crops)} aligned crops; detector: {len(det_tiles)} tiles")
    # the recognizer: per-channel ranges first (the equalization's input), then the equalized graph's tensor ranges
    folded = equalize.fold_batchnorms_into_gemm(quantize.prepare(models["recognizer"]))
    ranges = equalize.measure_channel_ranges(folded, RECOGNIZER_INPUT, batches(crops, 8))
    equalize.write_ranges(quantize.calibration_path(quantize.CHANNEL_RANGES), ranges)
    prepared, _ = quantize.prepare_for_int8(models["recognizer"], "recognizer")
    rec = quantize.calibrate(prepared, "recognizer", RECOGNIZER_INPUT, batches(crops, 8))
    det = quantize.calibrate(quantize.prepare(models["detector"]), "detector", DETECTOR_INPUT, batches(det_tiles, 1))
    print(f"wrote {rec} and {det}; `make models` now rebuilds the pack from them")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
