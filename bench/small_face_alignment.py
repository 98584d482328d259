"""Levers measured and not adopted: better landmarks or a sharper alignment for small classroom faces.

    .venv/bin/python -m bench.small_face_alignment     (about 3 min on 2 cores)

The 1080p classrooms of 24 and 32 px faces (make bench's seed 1000 and the held-out seed 7000, 3 photos each, 12
strangers per photo), each face embedded five ways from the same detections:
- base: the engine's pipeline (landmarks from the full-resolution window, bilinear norm_crop);
- cubic: the same landmarks, bicubic warp;
- up2: landmarks re-detected in a window upscaled 2x (bicubic), so the detector sees a 48-64 px face;
- up2+cubic: both;
- avg: the mean of the base and the up2 landmarks.
Each is decided with the pack's thresholds against the 158-person LFW gallery: identified, wrong and stranger
accepts, and the mean similarity of each enrolled face to its own person's template.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from . import classroom
from .common import facedata_dir, load_engine
from .lfw import embed_lfw

SEEDS, WIDTHS, IMAGES, STRANGERS = (1000, 7000), (24, 32), 3, 12
VARIANTS = ("base", "cubic", "up2", "up2+cubic", "avg")


def _warp(rgb: np.ndarray, landmarks: np.ndarray, interpolation: int) -> np.ndarray:
    from insightface.utils import face_align

    matrix = face_align.estimate_norm(np.asarray(landmarks, np.float32), 112)
    return cv2.warpAffine(rgb, matrix, (112, 112), borderValue=0.0, flags=interpolation)


def _upscaled_landmarks(engine: Any, rgb: np.ndarray, faces: list, scale: int = 2) -> list[np.ndarray | None]:
    """Each face's landmarks found again in a window around it, upscaled `scale` times; None where not found."""
    from attendance_worker.engine.detector import box_iou, centred_window, detect_batch

    out: list[np.ndarray | None] = [None] * len(faces)
    side = 64  # about 2.5x a 24 px face, 2x a 32 px one
    windows = [centred_window(rgb, (f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2, side) for f in faces]
    tiles = [cv2.resize(t, (side * scale, side * scale), interpolation=cv2.INTER_CUBIC) for t, _, _ in windows]
    for i, (det, (_tile, x0, y0)) in enumerate(
        zip(detect_batch(engine.detector.backend, tiles, 0.1), windows, strict=True)
    ):
        if not len(det):
            continue
        boxes = det.boxes / scale + np.array([x0, y0, x0, y0], np.float32)
        ious = [box_iou(faces[i].box, b) for b in boxes]
        best = int(np.argmax(ious))
        if ious[best] >= 0.3:
            out[i] = det.landmarks[best] / scale + np.array([x0, y0], np.float32)
    return out


def _variants(engine: Any, rgb: np.ndarray, faces: list) -> dict[str, list]:
    from attendance_worker.engine.quality import blur_score

    again = _upscaled_landmarks(engine, rgb, faces)
    ways = {
        "base": (lambda f, _u: f.landmarks, cv2.INTER_LINEAR),
        "cubic": (lambda f, _u: f.landmarks, cv2.INTER_CUBIC),
        "up2": (lambda f, u: f.landmarks if u is None else u, cv2.INTER_LINEAR),
        "up2+cubic": (lambda f, u: f.landmarks if u is None else u, cv2.INTER_CUBIC),
        "avg": (lambda f, u: f.landmarks if u is None else (f.landmarks + u) / 2, cv2.INTER_LINEAR),
    }
    out = {}
    for name, (pick, interpolation) in ways.items():
        marks = [pick(f, u) for f, u in zip(faces, again, strict=True)]
        crops = [_warp(rgb, m, interpolation) for m in marks]
        out[name] = [
            replace(f, embedding=e, blur=blur_score(c))
            for f, e, c in zip(faces, engine.recognizer.embed(crops), crops, strict=True)
        ]
    return out


def main() -> int:
    from attendance_worker.engine.matching import match_faces

    engine = load_engine()
    facedata = facedata_dir()
    gallery = {p: np.stack(e) for p, e in embed_lfw(engine, facedata, small_widths=())["enroll"].items() if e}
    templates = {p: g.mean(0) / np.linalg.norm(g.mean(0)) for p, g in gallery.items()}
    tally: dict[tuple[int, str, str], dict[str, Any]] = {}
    for seed0 in SEEDS:
        for width in WIDTHS:
            for condition in ("clean", "degraded"):
                for k in range(IMAGES):
                    seed = classroom.photo_seed(seed0, k, width, condition, "1080p")
                    sources, strangers = classroom.load_sources(engine, facedata, sorted(gallery), seed, STRANGERS)
                    jpeg, truth = classroom.make_classroom(
                        sources, strangers, (1920, 1080), width, seed, condition == "degraded"
                    )
                    analysis = engine.analyze(jpeg, "classroom.jpg")
                    for name, faces in _variants(engine, analysis.image, analysis.faces).items():
                        embeddings = np.stack([f.embedding for f in faces])
                        decisions = match_faces(embeddings, [f.quality for f in faces], gallery, engine.thresholds)
                        stats = classroom.score_decisions(truth, faces, decisions)
                        row = tally.setdefault((width, condition, name), {"sims": []})
                        for key in ("faces", "identified", "wrong_accepts", "stranger_accepts"):
                            row[key] = row.get(key, 0) + stats[key]
                        found = classroom.assign_truth(truth, [np.asarray(f.box, np.float32) for f in faces])
                        row["sims"] += [
                            float(templates[p] @ faces[j].embedding)
                            for (p, _box), j in zip(truth, found, strict=True)
                            if j is not None and p in templates
                        ]
    print(f"recognizer {engine.model_id}; identified / wrong / stranger accepts (mean true-match similarity)")
    print(
        "| face px | condition | faces | " + " | ".join(n for n in ("base", "cubic", "up2", "up2+cubic", "avg")) + " |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for width in WIDTHS:
        for condition in ("clean", "degraded"):
            rows = [tally[(width, condition, n)] for n in VARIANTS]
            cells = [
                f"{r['identified']} / {r['wrong_accepts']} / {r['stranger_accepts']} ({np.mean(r['sims']):.3f})"
                for r in rows
            ]
            print(f"| {width} | {condition} | {rows[0]['faces']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
