"""The speed levers of the default pack, measured in one process, interleaved, as the inference notes advise
(this shared machine drifts by +-15-30% between runs, so configurations are compared within one run).

    .venv/bin/python -m bench.levers [--rounds 5]

Each configuration adds one lever to the previous: fp32 everywhere (build 1), int8 first detection pass,
smaller refinement windows, then the int8 recognizer (the default pack's choice on CPUs with VNNI:
RECOGNIZER_PRECISION=auto), and, not used, int8 for the refinement windows too. Photos: the speed
benchmark's (40 degraded faces, 1080p at 32 px, 12 MP at 48 px). Accuracy of each lever comes from
`bench.run --quick` with MODEL_PACK or RECOGNIZER_PRECISION set (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from . import speed
from .calibrate import fp32_engine
from .common import REPO, facedata_dir, load_engine, pack_dir

OLD_WINDOWS = ((40.0, 128), (64.0, 160), (112.0, 256))


def configurations(workdir: Path) -> dict:
    """name -> Engine, each one lever more than the one before."""
    from attendance_worker.engine import Engine
    from attendance_worker.engine.detector import TiledDetector
    from attendance_worker.engine.pack import load_pack
    from attendance_worker.model_build import fetch_and_convert

    _, models, _ = fetch_and_convert(log=lambda *_: None)
    load_engine()  # builds the pack if it is missing
    pack = load_pack(pack_dir())
    fp32 = fp32_engine(models, workdir)
    fp32.detector.windows = OLD_WINDOWS
    coarse8 = Engine(pack, recognizer_precision="fp32")
    coarse8.detector.windows = OLD_WINDOWS
    current = Engine(pack, recognizer_precision="fp32")
    rec8 = Engine(pack, recognizer_precision="int8")
    all8 = Engine(pack, recognizer_precision="int8")
    all8.detector.tiled = TiledDetector(all8.detector.coarse.backend)
    all8.detector.backend = all8.detector.coarse.backend
    return {
        "fp32 detector + fp32 recognizer (build 1)": fp32,
        "+ int8 first detection pass": coarse8,
        "+ refinement windows 3x the face": current,
        "+ int8 recognizer, equalized (default on CPUs with VNNI)": rec8,
        "+ int8 refinement windows too (not used)": all8,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "artifacts" / "bench" / "levers.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="levers-") as tmp:
        work = Path(tmp)
        engines = configurations(work)
        photos_dir = work / "photos"
        speed.prepare(next(iter(engines.values())), facedata_dir(), photos_dir, n_students=1)
        photos = {name: (photos_dir / f"{name}.jpg").read_bytes() for name, _ in speed.PHOTOS}
        samples: dict[str, dict[str, list[tuple[float, float, int]]]] = {c: {p: [] for p in photos} for c in engines}
        for engine in engines.values():  # warm-up: first runs allocate and plan
            for data in photos.values():
                engine.analyze(data, "warmup.jpg")
        for _ in range(args.rounds):
            for config, engine in engines.items():
                for name, data in photos.items():
                    wall, cpu = time.perf_counter(), time.process_time()
                    faces = len(engine.analyze(data, f"{name}.jpg").faces)
                    samples[config][name].append((time.perf_counter() - wall, time.process_time() - cpu, faces))
    rows = []
    for config, per_photo in samples.items():
        row: dict = {"config": config}
        for name, values in per_photo.items():
            row[name] = {
                "wall_median": statistics.median(v[0] for v in values),
                "cpu_median": statistics.median(v[1] for v in values),
                "faces": values[0][2],
            }
        rows.append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))
    print("| configuration | 1080p wall / CPU s | 12 MP wall / CPU s | faces found (1080p / 12 MP) |")
    print("|---|---|---|---|")
    for row in rows:
        a, b = row["1080p"], row["12MP"]
        print(
            f"| {row['config']} | {a['wall_median']:.2f} / {a['cpu_median']:.2f} | "
            f"{b['wall_median']:.2f} / {b['cpu_median']:.2f} | {a['faces']} / {b['faces']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
