"""Seconds per photo and peak RSS, measured in a fresh process (python -m bench.speed), as the worker runs:
bytes in (JPEG), decode with EXIF orientation, detect, align, embed, match against a 40-student course."""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time

import numpy as np
from PIL import Image

from . import classroom
from .common import facedata_dir, load_engine, peak_rss_mb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--enroll", type=int, default=30, help="students to enroll (3 photos each)")
    args = parser.parse_args(argv)
    facedata = facedata_dir()
    t0 = time.perf_counter()
    engine = load_engine()
    out: dict = {"load_seconds": time.perf_counter() - t0, "model": engine.model_id, "providers": engine.providers}
    people = sorted(p.name for p in (facedata / "lfw/identities").iterdir())[: args.enroll]

    # Enrollment: 3 portraits each, upscaled to 1000x1000 JPEGs (LFW photos are 250x250).
    portraits = []
    for person in people:
        for i in (1, 2, 3):
            img = Image.open(facedata / "lfw/identities" / person / f"{person}_{i:04d}.jpg").convert("RGB")
            buf = io.BytesIO()
            img.resize((1000, 1000), Image.BICUBIC).save(buf, "JPEG", quality=90)
            portraits.append((person, buf.getvalue()))
    t = time.perf_counter()
    gallery: dict[str, list[np.ndarray]] = {}
    accepted = 0
    for person, data in portraits:
        result = engine.enroll(data, f"{person}.jpg")
        if result.accepted:
            accepted += 1
            gallery.setdefault(person, []).append(result.embedding)
    out["enroll"] = {
        "photos": len(portraits),
        "accepted": accepted,
        "seconds": time.perf_counter() - t,
        "photo_size": "1000x1000",
    }
    course = {p: np.stack(v) for p, v in gallery.items()}

    everyone = sorted(p.name for p in (facedata / "lfw/identities").iterdir())
    for res_name, width_px in (("1080p", 32), ("12MP", 48)):
        sources, _strangers = classroom.load_sources(engine, facedata, everyone, seed=77)
        data, _truth = classroom.make_classroom(sources, [], classroom.RESOLUTIONS[res_name], width_px, 77, True)
        times, cpu = [], []
        for _ in range(args.rounds):
            t, c = time.perf_counter(), time.process_time()
            analysis = engine.analyze(data, "classroom.jpg")
            engine.match(analysis.faces, course)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        out[res_name] = {
            "faces": len(analysis.faces),
            "face_width": width_px,
            "seconds_median": statistics.median(times),
            "seconds_min": min(times),
            "cpu_seconds_median": statistics.median(cpu),
            "seconds_all": [round(x, 3) for x in times],
        }
    out["peak_rss_mb"] = peak_rss_mb()
    out["load_average"] = os.getloadavg()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
