"""Seconds per photo and peak RSS, measured in a fresh process as the worker runs: JPEG bytes in, decode with
EXIF orientation, detect, align, embed, match against a 30-student course.

Beside each photo's pipeline time, its floor: the detector alone on the decoded photo (`detector.detect`) plus the
recognizer alone on that photo's aligned crops (`recognizer.embed`), each the median of the same number of rounds,
measured after the pipeline rounds (so they do not change the peak RSS). `floor_ratio` = pipeline / floor: what
decoding, alignment, copies and Python add around the two models.

`prepare(dir)` (in the parent) writes the test photos; `python -m bench.speed DIR` (the child) only loads the
engine and reads JPEG files, so its peak RSS is the engine's, not the photo synthesis'.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import classroom
from .common import load_engine, peak_rss_mb

PHOTOS = (("1080p", 32), ("12MP", 48))


def prepare(engine: Any, facedata: Path, out: Path, n_students: int = 30) -> None:
    """Classroom photos (40 faces, degraded) and 3 portraits each of `n_students` people (upscaled to 1000 px)."""
    out.mkdir(parents=True, exist_ok=True)
    everyone = sorted(p.name for p in (facedata / "lfw/identities").iterdir())
    for res_name, width_px in PHOTOS:
        sources, _ = classroom.load_sources(engine, facedata, everyone, seed=77)
        data, _ = classroom.make_classroom(sources, [], classroom.RESOLUTIONS[res_name], width_px, 77, True)
        (out / f"{res_name}.jpg").write_bytes(data)
    for person in everyone[:n_students]:
        (out / "enroll" / person).mkdir(parents=True, exist_ok=True)
        for i in (1, 2, 3):
            img = Image.open(facedata / "lfw/identities" / person / f"{person}_{i:04d}.jpg").convert("RGB")
            buf = io.BytesIO()
            img.resize((1000, 1000), Image.Resampling.BICUBIC).save(buf, "JPEG", quality=90)
            (out / "enroll" / person / f"{i}.jpg").write_bytes(buf.getvalue())


def _median_seconds(run: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def floor(engine: Any, data: bytes, rounds: int) -> dict[str, float]:
    """The two models alone on this photo: detection of the decoded photo, then embedding of its aligned crops
    (the faces the pipeline keeps). Their sum is the floor the pipeline's time is compared with."""
    rgb = engine.decode(data, "classroom.jpg")
    decode_s = _median_seconds(lambda: engine.decode(data, "classroom.jpg"), rounds)
    detect_s = _median_seconds(lambda: engine.detector.detect(rgb), rounds)
    crops = [engine.recognizer.align(rgb, f.landmarks) for f in engine.analyze_image(rgb, embed=False)]
    embed_s = _median_seconds(lambda: engine.recognizer.embed(crops), rounds)
    return {
        "decode_seconds_median": decode_s,
        "detect_seconds_median": detect_s,
        "embed_seconds_median": embed_s,
        "embed_ms_per_face": 1000.0 * embed_s / max(len(crops), 1),
        "floor_seconds": detect_s + embed_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    engine = load_engine()
    out: dict = {
        "load_seconds": time.perf_counter() - t0,
        "model": engine.model_id,
        "providers": engine.providers,
        "recognizer_precision": os.environ.get("RECOGNIZER_PRECISION", "auto"),
        "peak_rss_mb_loaded": peak_rss_mb(),
    }
    portraits = sorted((args.dir / "enroll").glob("*/*.jpg"))
    t, c = time.perf_counter(), time.process_time()
    gallery: dict[str, list[np.ndarray]] = {}
    for path in portraits:
        result = engine.enroll(path.read_bytes(), path.name)
        if result.accepted:
            gallery.setdefault(path.parent.name, []).append(result.embedding)
    out["enroll"] = {
        "photos": len(portraits),
        "accepted": sum(len(v) for v in gallery.values()),
        "seconds": time.perf_counter() - t,
        "cpu_seconds": time.process_time() - c,
        "photo_size": "1000x1000",
    }
    course = {p: np.stack(v) for p, v in gallery.items()}
    peaks: dict[str, float] = {"enroll": peak_rss_mb()}
    for res_name, width_px in PHOTOS:
        data = (args.dir / f"{res_name}.jpg").read_bytes()
        times, cpu = [], []
        for _ in range(args.rounds):
            t, c = time.perf_counter(), time.process_time()
            analysis = engine.analyze(data, "classroom.jpg")
            engine.match(analysis.faces, course)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            n_faces = len(analysis.faces)
            del analysis  # as a worker drops each job's photo: one decoded photo alive at a time
        out[res_name] = {
            "faces": n_faces,
            "face_width": width_px,
            "seconds_median": statistics.median(times),
            "seconds_min": min(times),
            "cpu_seconds_median": statistics.median(cpu),
            "seconds_all": [round(x, 3) for x in times],
        }
        peaks[res_name] = peak_rss_mb()
    out["peak_rss_mb"] = peak_rss_mb()
    for res_name, _ in PHOTOS:
        x = out[res_name]
        x.update(floor(engine, (args.dir / f"{res_name}.jpg").read_bytes(), args.rounds))
        x["floor_ratio"] = x["seconds_median"] / max(x["floor_seconds"], 1e-9)
    out["peak_rss_mb_steps"] = peaks  # VmHWM after enrollment and after each photo's pipeline rounds
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
