"""Two or more model packs on the same classroom photos: where each one loses faces.

    .venv/bin/python -m bench.packs models/default models/insightface-test

Each pack enrolls LFW photos 1-3 of the 158 people with its own detector and recognizer, then decides the 24-48 px
faces of make bench's classrooms (seed 1000, 2 photos per configuration, 4 strangers each) and the held-out ones
(seed 7000, 3 photos, 12 strangers) against all 158 people with its own thresholds. RECOGNIZER_PRECISION applies
to the default pack (the insightface format has one recognizer file).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from . import classroom
from .common import facedata_dir, load_engine
from .lfw import embed_lfw
from .size_rule import HELD_OUT_SEED, STRANGERS

SETS = ((1000, 2, classroom.N_STRANGERS), (HELD_OUT_SEED, 3, STRANGERS))


def evaluate_pack(pack: Path) -> dict[str, Any]:
    from attendance_worker.engine.matching import build_templates, match_faces

    engine = load_engine(pack)
    facedata = facedata_dir()
    data = embed_lfw(engine, facedata, small_widths=())
    gallery = {p: np.stack(e) for p, e in data["enroll"].items() if e}
    names, templates = build_templates(gallery)
    rows: dict[tuple[str, int, str], dict[str, Any]] = {}
    for seed, images, strangers in SETS:
        photos = classroom.analyzed_photos(
            engine, facedata, sorted(gallery), base_seed=seed, images=images, n_strangers=strangers
        )
        for ph in photos:
            faces = ph["faces"]
            decisions = match_faces(
                np.stack([f.embedding for f in faces]), [f.quality for f in faces], gallery, engine.thresholds
            )
            stats = classroom.score_decisions(ph["truth"], faces, decisions)
            row = rows.setdefault(
                (ph["resolution"], ph["width"], ph["condition"]),
                {"faces": 0, "detected": 0, "identified": 0, "wrong": 0, "false_detections": 0, "true_sims": []},
            )
            row["faces"] += stats["faces"]
            row["detected"] += stats["detected"]
            row["identified"] += stats["identified"]
            row["wrong"] += stats["wrong_accepts"] + stats["stranger_accepts"]
            row["false_detections"] += stats["false_detections"]
            found = classroom.assign_truth(ph["truth"], [np.asarray(f.box, np.float32) for f in faces])
            for (person, _box), j in zip(ph["truth"], found, strict=True):
                if person is not None and j is not None:
                    row["true_sims"].append(float(templates[names.index(person)] @ faces[j].embedding))
    return {"model": engine.model_id, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    results = [evaluate_pack(p) for p in args.packs]
    print("| photo | face px | condition | faces | " + " | ".join(r["model"] for r in results) + " |")
    print("|---|---|---|---|" + "---|" * len(results))
    totals = [[0, 0, 0, 0] for _ in results]
    for key in sorted(results[0]["rows"]):
        cells = []
        for total, result in zip(totals, results, strict=True):
            row = result["rows"][key]
            total[0] += row["detected"]
            total[1] += row["identified"]
            total[2] += row["wrong"]
            total[3] += row["false_detections"]
            cells.append(
                f"{row['detected']} / {row['identified']} / {row['wrong']} / {row['false_detections']}"
                f" ({np.mean(row['true_sims']):.3f})"
            )
        faces = results[0]["rows"][key]["faces"]
        print(f"| {key[0]} | {key[1]} | {key[2]} | {faces} | " + " | ".join(cells) + " |")
    print("| all | | | | " + " | ".join(" / ".join(str(v) for v in t) for t in totals) + " |")
    print("\ncells: detected / identified / wrong or stranger accepts / false detections (mean true-match similarity)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
