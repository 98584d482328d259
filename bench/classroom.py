"""Synthetic classrooms: 40 enrolled people (their non-enrolled LFW photos) plus a few strangers composited
into 1920x1080 and 4000x3000 images at fixed face widths, clean and degraded, with fixed seeds.

Ground truth is exact (we place every face), so we measure detection recall, identification, wrong-person
accepts (an absent or different student marked present), "confirm" counts and false detections.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from .common import iou, read_rgb
from .lfw import MISLABELED

RESOLUTIONS = {"1080p": (1920, 1080), "12MP": (4000, 3000)}
WIDTHS = (24, 32, 48, 64)
N_ENROLLED_FACES = 40
N_STRANGERS = 4


@dataclass
class SourceFace:
    person: str | None  # None: a stranger (not enrolled)
    rgb: np.ndarray
    box: np.ndarray  # detector box of the central face in the source photo


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A plain synthetic room: smooth gradient, a few large rectangles (desks, boards, windows), sensor noise."""
    small = rng.uniform(40, 220, size=(4, 6, 3)).astype(np.float32)
    img = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(12):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(width // 20, width // 3)), int(rng.integers(height // 20, height // 4))
        colour = rng.uniform(30, 230, 3)
        cv2.rectangle(img, (x, y), (x + w, y + h), colour.tolist(), -1)
    img = img + np.asarray(rng.normal(0, 3, img.shape), np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _paste(
    canvas: np.ndarray, face: SourceFace, width_px: int, cx: float, cy: float, rng: np.random.Generator, degrade: bool
) -> np.ndarray:
    """Paste the head around `face.box` so the face box is `width_px` wide centred at (cx, cy); return that box."""
    x1, y1, x2, y2 = face.box
    bw, bh = x2 - x1, y2 - y1
    scale = width_px / bw
    src = face.rgb.astype(np.float32)
    if degrade:  # lighting per face: gain and gamma
        gain = rng.uniform(0.65, 1.25)
        gamma = rng.uniform(0.75, 1.35)
        src = 255.0 * np.clip(src * gain / 255.0, 0, 1) ** gamma
    angle = float(rng.uniform(-12, 12)) if degrade else 0.0
    fcx, fcy = (x1 + x2) / 2, (y1 + y2) / 2
    # Similarity transform: source face centre -> (cx, cy), scaled and rotated.
    m = cv2.getRotationMatrix2D((fcx, fcy), angle, scale)
    m[0, 2] += cx - fcx
    m[1, 2] += cy - fcy
    half = int(max(bw, bh) * scale * 1.3) + 4
    ox, oy = int(cx) - half, int(cy) - half
    size = 2 * half
    m_local = m.copy()
    m_local[0, 2] -= ox
    m_local[1, 2] -= oy
    patch = cv2.warpAffine(src, m_local, (size, size), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    # Feathered ellipse around the head (face box enlarged for hair and chin).
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, (half, half), (int(bw * scale * 0.85), int(bh * scale * 0.95)), angle, 0, 360, 1.0, -1)
    alpha = cv2.GaussianBlur(mask, (0, 0), max(1.0, bw * scale * 0.08))[..., None]
    h, w = canvas.shape[:2]
    sx0, sy0 = max(0, -ox), max(0, -oy)
    dx0, dy0 = max(0, ox), max(0, oy)
    dx1, dy1 = min(w, ox + size), min(h, oy + size)
    region = canvas[dy0:dy1, dx0:dx1].astype(np.float32)
    p = patch[sy0 : sy0 + (dy1 - dy0), sx0 : sx0 + (dx1 - dx0)]
    a = alpha[sy0 : sy0 + (dy1 - dy0), sx0 : sx0 + (dx1 - dx0)]
    canvas[dy0:dy1, dx0:dx1] = np.clip(region * (1 - a) + p * a, 0, 255).astype(np.uint8)
    return np.array([cx - width_px / 2, cy - bh * scale / 2, cx + width_px / 2, cy + bh * scale / 2], np.float32)


def _degrade_global(img: np.ndarray, rng: np.random.Generator, width_px: int) -> np.ndarray:
    sigma = float(rng.uniform(0.4, 1.0)) * (width_px / 48) ** 0.5
    img = cv2.GaussianBlur(img, (0, 0), sigma)
    img = np.clip(img.astype(np.float32) + rng.normal(0, rng.uniform(3, 7), img.shape), 0, 255).astype(np.uint8)
    return img


def make_classroom(
    sources: list[SourceFace],
    strangers: list[SourceFace],
    resolution: tuple[int, int],
    width_px: int,
    seed: int,
    degrade: bool,
) -> tuple[bytes, list[tuple[str | None, np.ndarray]]]:
    """A JPEG classroom photo and its ground truth [(person or None, face box)]."""
    rng = np.random.default_rng(seed)
    width, height = resolution
    canvas = _background(rng, width, height)
    faces = list(sources) + list(strangers)
    order = rng.permutation(len(faces))
    cols = int(np.ceil(np.sqrt(len(faces) * width / height)))
    rows = int(np.ceil(len(faces) / cols))
    cell_w, cell_h = width / cols, height / rows
    truth = []
    for slot, idx in enumerate(order):
        r, c = divmod(slot, cols)
        jitter = max(0.0, min(cell_w, cell_h) / 2 - width_px * 1.2)
        cx = (c + 0.5) * cell_w + rng.uniform(-jitter, jitter)
        cy = (r + 0.5) * cell_h + rng.uniform(-jitter, jitter)
        box = _paste(canvas, faces[idx], width_px, cx, cy, rng, degrade)
        truth.append((faces[idx].person, box))
    quality = 92
    if degrade:
        canvas = _degrade_global(canvas, rng, width_px)
        quality = int(rng.integers(45, 75))
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, "JPEG", quality=quality)
    return buf.getvalue(), truth


def load_sources(
    engine: Any, facedata: Path, people: list[str], seed: int, n_strangers: int = N_STRANGERS
) -> tuple[list[SourceFace], list[SourceFace]]:
    """One probe photo (4-10) per enrolled person and a few distractors, with their face boxes."""
    rng = np.random.default_rng(seed)
    ids = facedata / "lfw" / "identities"
    chosen = [people[i] for i in rng.choice(len(people), size=N_ENROLLED_FACES, replace=False)]
    out = []
    for person in chosen:
        path = ids / person / f"{person}_{int(rng.integers(4, 11)):04d}.jpg"
        if path.stem in MISLABELED:  # LFW label errors: the photo shows someone else
            path = ids / person / f"{person}_0005.jpg"
        out.append(_source(engine, path, person))
    distractors = sorted((facedata / "lfw" / "distractors_single_image").rglob("*.jpg"))
    strangers = [_source(engine, distractors[i], None) for i in rng.choice(len(distractors), n_strangers, False)]
    return [s for s in out if s is not None], [s for s in strangers if s is not None]


def _source(engine: Any, path: Path, person: str | None) -> SourceFace | None:
    from .common import central_face

    rgb = read_rgb(path)
    face = central_face(engine.analyze_image(rgb, embed=False), rgb.shape[1], rgb.shape[0])
    if face is None:
        return None
    return SourceFace(person, rgb, np.asarray(face.box, np.float32))


def assign_truth(truth: list[tuple[str | None, np.ndarray]], det_boxes: list[np.ndarray]) -> list[int | None]:
    """For each placed face in order, the detection that overlaps it most (IoU >= 0.3), each used once."""
    used: set[int] = set()
    found: list[int | None] = []
    for _person, box in truth:
        best, best_iou = -1, 0.0
        for j, db in enumerate(det_boxes):
            if j in used:
                continue
            overlap = iou(box, db)
            if overlap > best_iou:
                best, best_iou = j, overlap
        if best < 0 or best_iou < 0.3:
            found.append(None)
            continue
        used.add(best)
        found.append(best)
    return found


#: a course as the product matches it: COURSE_IN_PHOTO of the photo's 40 enrolled people, and COURSE_ABSENT enrolled
#: students who are not in the photo; the photo's other faces belong to other courses (or to nobody). The worker
#: also knows the teacher's students of other courses (outsiders, never marked): COURSE_OUTSIDERS of the rest.
COURSE_IN_PHOTO, COURSE_ABSENT, COURSE_TRIALS, COURSE_OUTSIDERS = 20, 10, 5, 90


def evaluate_photo(
    engine: Any, data: bytes, truth: list[tuple[str | None, np.ndarray]], gallery: dict, seed: int = 0
) -> dict:
    start = time.perf_counter()
    analysis = engine.analyze(data, "classroom.jpg")
    decisions = engine.match(analysis.faces, gallery)
    seconds = time.perf_counter() - start
    courses = score_courses(engine, truth, analysis.faces, gallery, np.random.default_rng(seed))
    return {**score_decisions(truth, analysis.faces, decisions), "seconds": seconds, **courses}


def score_courses(
    engine: Any, truth: list[tuple[str | None, np.ndarray]], faces: list, gallery: dict, rng: np.random.Generator
) -> dict[str, Any]:
    """The same faces matched against COURSE_TRIALS random 30-student courses instead of all 158 people, first as
    for a teacher with that one course, then with COURSE_OUTSIDERS other students of the teacher (`_outsiders`).

    A small course is where the worst error would show: a face from another course whose best student is
    absent wins by a wide margin over the 29 others. Every "present" for someone who is not that face counts
    in `course_wrong` (an absent student marked present, or a student given a face that is not theirs)."""
    in_photo = sorted({p for p, _ in truth if p is not None})
    elsewhere = sorted(p for p in gallery if p not in set(in_photo))
    out: dict[str, Any] = {"course_member_faces": 0}
    for suffix in ("", "_outsiders"):
        out.update({f"course_identified{suffix}": 0, f"course_wrong{suffix}": 0, f"course_wrong_faces{suffix}": []})
    if len(in_photo) < COURSE_IN_PHOTO or not faces:
        return out
    placed = assign_truth(truth, [np.asarray(f.box, np.float32) for f in faces])
    outsider_rng = rng.spawn(1)[0]  # a child stream: the courses drawn stay those of the runs before it
    for _ in range(COURSE_TRIALS):
        members = set(rng.choice(in_photo, COURSE_IN_PHOTO, replace=False))
        members |= set(rng.choice(elsewhere, COURSE_ABSENT, replace=False))
        course = {p: gallery[p] for p in members}
        others = [p for p in sorted(gallery) if p not in members]
        outsiders = {p: gallery[p] for p in outsider_rng.permutation(others)[:COURSE_OUTSIDERS]}
        course_truth = [(p if p in members else None, b) for p, b in truth]
        for suffix, known in (("", None), ("_outsiders", outsiders)):
            decisions = engine.match(faces, course, known)
            stats = score_decisions(course_truth, faces, decisions)
            for (person, _box), best in zip(truth, placed, strict=True):
                d = decisions[best] if best is not None else None
                if d is not None and d.decision == "present" and d.person != person:  # whose face, given to whom
                    out[f"course_wrong_faces{suffix}"].append((person, d.person, round(float(d.similarity), 3)))
            if not suffix:
                out["course_member_faces"] += stats["faces"]
            out[f"course_identified{suffix}"] += stats["identified"]
            out[f"course_wrong{suffix}"] += stats["wrong_accepts"] + stats["stranger_accepts"]
    return out


def score_decisions(truth: list[tuple[str | None, np.ndarray]], faces: list, decisions: list) -> dict[str, Any]:
    """Tally one photo's decisions against where the faces were placed (recall, identified, wrong accepts...)."""
    found = assign_truth(truth, [np.asarray(f.box, np.float32) for f in faces])
    used = {j for j in found if j is not None}
    stats: dict[str, Any] = {
        "faces": 0,
        "detected": 0,
        "identified": 0,
        "confirm": 0,
        "confirm_right": 0,
        "wrong_accepts": 0,
        "stranger_accepts": 0,
        "strangers": 0,
        "false_detections": 0,
        "present_sims": [],
        "records": [],
    }
    for (person, _box), best in zip(truth, found, strict=True):
        enrolled = person is not None
        stats["faces" if enrolled else "strangers"] += 1
        if best is None:
            continue
        d, f = decisions[best], faces[best]
        stats["records"].append((person, d.decision, d.candidate, d.similarity, f.face_px, f.blur, f.detection_score))
        if not enrolled:
            stats["stranger_accepts"] += int(d.decision == "present")
            continue
        stats["detected"] += 1
        if d.decision == "present":
            if d.person == person:
                stats["identified"] += 1
            else:
                stats["wrong_accepts"] += 1
        elif d.decision == "confirm":
            stats["confirm"] += 1
            stats["confirm_right"] += int(d.candidate == person)
    for j, d in enumerate(decisions):
        if j not in used:
            stats["false_detections"] += 1
            stats["wrong_accepts"] += int(d.decision == "present")
    return stats


def analyzed_photos(
    engine: Any,
    facedata: Path,
    people: list[str],
    *,
    base_seed: int,
    images: int,
    n_strangers: int,
    widths: tuple[int, ...] = (24, 32, 48),
) -> list[dict[str, Any]]:
    """Classrooms of both resolutions and conditions, analysed once (faces with embeddings, and where each face
    was placed), so that one set of embeddings can be decided under several rules."""
    photos = []
    for res in RESOLUTIONS:
        for width in widths:
            for cond in ("clean", "degraded"):
                for k in range(images):
                    seed = photo_seed(base_seed, k, width, cond, res)
                    sources, strangers = load_sources(engine, facedata, people, seed, n_strangers)
                    jpeg, truth = make_classroom(sources, strangers, RESOLUTIONS[res], width, seed, cond == "degraded")
                    faces = engine.analyze(jpeg, "classroom.jpg").faces
                    photos.append(
                        {"resolution": res, "width": width, "condition": cond, "faces": faces, "truth": truth,
                         "seed": seed}
                    )  # fmt: skip
    return photos


def photo_seed(base_seed: int, k: int, width_px: int, condition: str, resolution: str) -> int:
    """The fixed seed of the k-th photo of one configuration."""
    return base_seed + 100 * k + width_px + (0 if condition == "clean" else 7) + (0 if resolution == "1080p" else 3)


def run(
    engine: Any,
    facedata: Path,
    gallery: dict,
    *,
    images_per_config: int,
    resolutions: list[str],
    conditions: tuple[str, ...] = ("clean", "degraded"),
    base_seed: int = 1000,
) -> list[dict]:
    people = sorted(gallery)
    results = []
    for res_name in resolutions:
        for width_px in WIDTHS:
            for cond in conditions:
                agg: dict[str, Any] = {"resolution": res_name, "width": width_px, "condition": cond, "images": 0}
                records: list = []
                for k in range(images_per_config):
                    seed = photo_seed(base_seed, k, width_px, cond, res_name)
                    sources, strangers = load_sources(engine, facedata, people, seed)
                    data, truth = make_classroom(
                        sources, strangers, RESOLUTIONS[res_name], width_px, seed, cond == "degraded"
                    )
                    stats = evaluate_photo(engine, data, truth, gallery, seed)
                    records += stats.pop("records")
                    stats.pop("present_sims")
                    for key, value in stats.items():
                        agg[key] = agg.get(key, [] if isinstance(value, list) else 0) + value
                    agg["images"] += 1
                agg["seconds_per_photo"] = agg.pop("seconds") / max(agg["images"], 1)
                agg["recall"] = agg["detected"] / max(agg["faces"], 1)
                agg["identified_rate"] = agg["identified"] / max(agg["faces"], 1)
                agg["records"] = records
                results.append(agg)
    return results
