"""Held-out check of a threshold change: classrooms with seeds `make bench` never uses (and 12 strangers per photo
instead of 4), decided with the pack's thresholds and with one override, from the same embeddings.

    .venv/bin/python -m bench.size_rule                       # the pack's thresholds vs small_face_px=40
    .venv/bin/python -m bench.size_rule --set present_small=0.52

A change is only worth making when it adds identified faces here without a single wrong or stranger accept.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from . import classroom
from .common import facedata_dir, load_engine
from .lfw import embed_lfw

HELD_OUT_SEED = 7000  # make bench uses 1000
STRANGERS = 12


def _decide(photos: list[dict[str, Any]], gallery: dict, thresholds: dict[str, float]) -> dict:
    """identified / wrong accepts / stranger accepts per configuration, each photo decided with `thresholds`."""
    from attendance_worker.engine.matching import match_faces

    out: dict[tuple[str, int, str], dict[str, int]] = {}
    for ph in photos:
        key = (ph["resolution"], ph["width"], ph["condition"])
        agg = out.setdefault(key, {"faces": 0, "identified": 0, "wrong_accepts": 0, "stranger_accepts": 0})
        faces = ph["faces"]
        decisions = (
            match_faces(np.stack([f.embedding for f in faces]), [f.quality for f in faces], gallery, thresholds)
            if faces
            else []
        )
        stats = classroom.score_decisions(ph["truth"], faces, decisions)
        for name in agg:
            agg[name] += stats[name]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="threshold override")
    parser.add_argument("--images", type=int, default=3, help="photos per configuration")
    args = parser.parse_args(argv)
    overrides = {k: float(v) for k, v in (s.split("=", 1) for s in args.set)} or {"small_face_px": 40.0}
    engine = load_engine()
    facedata = facedata_dir()
    data = embed_lfw(engine, facedata, small_widths=())
    gallery = {p: np.stack(e) for p, e in data["enroll"].items() if e}
    people = sorted(gallery)
    photos = classroom.analyzed_photos(
        engine, facedata, people, base_seed=HELD_OUT_SEED, images=args.images, n_strangers=STRANGERS
    )
    base = dict(engine.thresholds)
    changed = {**base, **overrides}
    a, b = _decide(photos, gallery, base), _decide(photos, gallery, changed)
    print(f"held-out classrooms (seed {HELD_OUT_SEED}, {args.images} photos each, {STRANGERS} strangers per photo)")
    print(f"identified / wrong accepts / stranger accepts: pack thresholds | with {overrides}")
    print("| photo | face px | condition | faces | pack | override |")
    print("|---|---|---|---|---|---|")
    for key in a:
        x, y = a[key], b[key]
        print(
            f"| {key[0]} | {key[1]} | {key[2]} | {x['faces']} | {x['identified']} / {x['wrong_accepts']} / "
            f"{x['stranger_accepts']} | {y['identified']} / {y['wrong_accepts']} / {y['stranger_accepts']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
