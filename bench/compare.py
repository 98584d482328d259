"""Product pipeline vs face_recognition (dlib) on the same synthetic 1080p classrooms (run with bench.run --dlib)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from . import classroom
from .common import REPO

BENCH_PYTHON = REPO / ".bench-venv" / "bin" / "python"


def run(engine: Any, facedata: Path, gallery: dict, out: Path, base_seed: int = 1000) -> dict[str, Any]:
    if not BENCH_PYTHON.exists():
        return {"error": f"{BENCH_PYTHON} not found (see docs/benchmarks.md for the setup)"}
    out.mkdir(parents=True, exist_ok=True)
    people = sorted(gallery)
    truth, product = [], []
    for width_px in classroom.WIDTHS:
        for cond in ("clean", "degraded"):
            seed = base_seed + width_px + (0 if cond == "clean" else 7)  # the first image of bench.run's config
            sources, strangers = classroom.load_sources(engine, facedata, people, seed)
            data, faces = classroom.make_classroom(
                sources, strangers, classroom.RESOLUTIONS["1080p"], width_px, seed, cond == "degraded"
            )
            name = f"1080p_{width_px}_{cond}.jpg"
            (out / name).write_bytes(data)
            truth.append(
                {
                    "file": name,
                    "resolution": "1080p",
                    "width": width_px,
                    "condition": cond,
                    "faces": [(p, [float(v) for v in box]) for p, box in faces],
                }
            )
            stats = classroom.evaluate_photo(engine, data, faces, gallery)
            product.append(
                {
                    "width": width_px,
                    "condition": cond,
                    "faces": stats["faces"],
                    "detected": stats["detected"],
                    "identified": stats["identified"],
                    "wrong": stats["wrong_accepts"] + stats["stranger_accepts"],
                    "seconds": stats["seconds"],
                }
            )
    (out / "truth.json").write_text(json.dumps(truth))
    proc = subprocess.run(
        [str(BENCH_PYTHON), str(REPO / "bench" / "dlib_compare.py"), str(out), str(facedata)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:], "product": product}
    return {"product": product, "dlib": json.loads(proc.stdout.strip().splitlines()[-1])}


def render(r: dict[str, Any]) -> list[str]:
    lines = ["", "## 5. face_recognition (dlib) on the same 1080p classrooms", ""]
    if "error" in r:
        return [*lines, f"not run: {r['error']}"]
    d = r["dlib"]
    lines += [
        "Same images (the first of each configuration above), same 158-person gallery (templates from photos",
        "1-3). face_recognition: HOG detector with its default upsample 1, 128-d dlib encodings, nearest template",
        "within its default tolerance 0.6 counts as a match. Product: present decisions only (confirm excluded).",
        "",
        "| face px | condition | recall product / dlib | identified product / dlib | wrong accepts product / dlib "
        "| s/photo product / dlib |",
        "|---|---|---|---|---|---|",
    ]
    for p, q in zip(r["product"], d["rows"], strict=True):
        lines.append(
            f"| {p['width']} | {p['condition']} | {p['detected']}/{p['faces']} / {q['detected']}/{q['faces']} | "
            f"{p['identified']} / {q['identified']} | {p['wrong']} / {q['wrong']} | {p['seconds']:.2f} / "
            f"{q['seconds']:.2f} |"
        )
    lines.append(
        f"\ndlib enrollment of the gallery: {d['enroll_seconds']:.0f} s; its process peak RSS "
        f"{d['peak_rss_mb']:.0f} MB."
    )
    return lines
