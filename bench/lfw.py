"""LFW open-set identification: enroll photos 1-3 of the 158 people, probe with photos 4-10, plus 300 distractors.

Non-mated searches are the distractors plus every mated probe searched with its own identity removed
from the gallery. TPIR at a given FPIR counts a mated search as a hit when the true person is rank 1
AND the similarity clears the threshold that lets through that fraction of non-mated searches.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from attendance_shared.refusals import PortraitRefusal

from .common import central_face, read_rgb

MISLABELED = {"Recep_Tayyip_Erdogan_0004", "Michael_Schumacher_0008"}
#: probe faces are also searched downscaled to these face widths (px), as small as classroom faces
SMALL_WIDTHS = (24, 32, 48)


def embed_at_widths(engine: Any, rgb: np.ndarray, face: Any, widths: tuple[int, ...]) -> list[np.ndarray]:
    """Embeddings of `face` as if photographed `width` px wide: the whole image downscaled (area filter), then
    aligned and embedded like a classroom face (norm_crop upsamples it to the recognizer's 112 px)."""
    h, w = rgb.shape[:2]
    crops = []
    for width in widths:
        f = width / max(face.face_px, 1)
        small = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        crops.append(engine.recognizer.align(small, face.landmarks * f))
    return list(engine.recognizer.embed(crops))


def embed_lfw(
    engine: Any, facedata: Path, *, quick: bool = False, small_widths: tuple[int, ...] = SMALL_WIDTHS
) -> dict[str, Any]:
    ids_dir = facedata / "lfw" / "identities"
    people = sorted(p.name for p in ids_dir.iterdir() if p.is_dir())
    distractors = sorted((facedata / "lfw" / "distractors_single_image").rglob("*.jpg"))
    if quick:
        people, distractors = people[::3], distractors[::3]
    enroll: dict[str, list[np.ndarray]] = {}
    refusals: list[tuple[str, str]] = []
    probes: list[tuple[str, str, np.ndarray | None, Any]] = []  # (person, stem, embedding, face)
    # width -> [(person or None for a distractor, stem, embedding)], probes and distractors downscaled
    small: dict[int, list[tuple[str | None, str, np.ndarray]]] = {w: [] for w in small_widths}
    start = time.perf_counter()
    for person in people:
        files = sorted((ids_dir / person).glob("*.jpg"))
        enroll[person] = []
        for i, path in enumerate(files):
            rgb = read_rgb(path)
            if i < 3:
                res = engine.enroll_image(rgb, path.name)
                if res.accepted:
                    enroll[person].append(res.embedding)
                    continue
                refusals.append((path.stem, str(res.reason)))
                # LFW labels the centred face: use it, count the refusal
                if res.refusal is not None and res.refusal.code == PortraitRefusal.SEVERAL_FACES:
                    face = central_face(engine.analyze_image(rgb), rgb.shape[1], rgb.shape[0])
                    if face is not None:
                        enroll[person].append(face.embedding)
            else:
                faces = engine.analyze_image(rgb)
                face = central_face(faces, rgb.shape[1], rgb.shape[0])
                probes.append((person, path.stem, None if face is None else face.embedding, face))
                if face is not None:
                    for width, emb in zip(small_widths, embed_at_widths(engine, rgb, face, small_widths), strict=True):
                        small[width].append((person, path.stem, emb))
    dist = []
    for path in distractors:
        rgb = read_rgb(path)
        face = central_face(engine.analyze_image(rgb), rgb.shape[1], rgb.shape[0])
        dist.append((path.stem, None if face is None else face.embedding, face))
        if face is not None:
            for width, emb in zip(small_widths, embed_at_widths(engine, rgb, face, small_widths), strict=True):
                small[width].append((None, path.stem, emb))
    return {
        "people": people,
        "enroll": enroll,
        "refusals": refusals,
        "probes": probes,
        "distractors": dist,
        "small": small,
        "seconds": time.perf_counter() - start,
    }


def _threshold_at(nonmated: np.ndarray, fpir: float) -> float:
    """Smallest threshold with at most `fpir` of non-mated max similarities at or above it."""
    s = np.sort(nonmated)[::-1]
    k = int(np.floor(fpir * len(s)))
    return float(s[k]) + 1e-6 if k < len(s) else float(s[-1])


def evaluate(data: dict[str, Any], *, exclude_mislabeled: bool) -> dict[str, Any]:
    from attendance_worker.engine import build_templates

    gallery = {p: np.stack(e) for p, e in data["enroll"].items() if e}
    names, templates = build_templates(gallery)
    index = {n: i for i, n in enumerate(names)}
    mated_sims, mated_rank1, nonmated_pool, det_fail = [], [], [], 0
    for person, stem, emb, _face in data["probes"]:
        if exclude_mislabeled and stem in MISLABELED:
            continue
        if emb is None:
            det_fail += 1
            mated_sims.append(-1.0)
            mated_rank1.append(False)
            continue
        sims = templates @ emb
        own = index.get(person)
        best = int(np.argmax(sims))
        mated_rank1.append(own is not None and best == own)
        mated_sims.append(float(sims[best]))
        others = np.delete(sims, own) if own is not None else sims
        nonmated_pool.append(float(others.max()))
    distractor_max = []
    for _stem, emb, _face in data["distractors"]:
        if emb is None:
            det_fail += 1
            continue
        distractor_max.append(float((templates @ emb).max()))
    rank1 = np.asarray(mated_rank1)
    msims = np.asarray(mated_sims)
    pool = np.asarray(nonmated_pool + distractor_max)
    dmax = np.asarray(distractor_max)
    out: dict[str, Any] = {
        "mated_searches": int(rank1.size),
        "nonmated_pool": int(pool.size),
        "distractor_searches": int(dmax.size),
        "detection_failures": det_fail,
        "enroll_refusals": len(data["refusals"]),
        "rank1": float(rank1.mean()),
    }
    for label, fpir in (("1%", 0.01), ("0.1%", 0.001)):
        for pool_name, nm in (("pool", pool), ("distractors", dmax)):
            t = _threshold_at(nm, fpir)
            out[f"tpir@{label}_{pool_name}"] = float(np.mean(rank1 & (msims >= t)))
            out[f"threshold@{label}_{pool_name}"] = t
    return out


def tpir_at_threshold(data: dict[str, Any], threshold: float) -> dict[str, float]:
    """TPIR and FPIR (pool) at a fixed threshold, e.g. the pack's calibrated "present" threshold."""
    from attendance_worker.engine import build_templates

    gallery = {p: np.stack(e) for p, e in data["enroll"].items() if e}
    names, templates = build_templates(gallery)
    index = {n: i for i, n in enumerate(names)}
    hits, fp, n_m, n_nm = 0, 0, 0, 0
    for person, stem, emb, _ in data["probes"]:
        if stem in MISLABELED:
            continue
        n_m += 1
        if emb is None:
            continue
        sims = templates @ emb
        own = index.get(person)
        hits += int(own is not None and int(np.argmax(sims)) == own and sims.max() >= threshold)
        others = np.delete(sims, own) if own is not None else sims
        n_nm += 1
        fp += int(others.max() >= threshold)
    for _stem, emb, _ in data["distractors"]:
        if emb is None:
            continue
        n_nm += 1
        fp += int((templates @ emb).max() >= threshold)
    return {"threshold": threshold, "tpir": hits / max(n_m, 1), "fpir_pool": fp / max(n_nm, 1)}


def evaluate_small(data: dict[str, Any], present: float) -> list[dict[str, Any]]:
    """Per probe face width (native first): rank-1, and FPIR / TPIR at the pack's "present" threshold against the
    native gallery, as the product matches a small classroom face. Calibrates the size rule of the thresholds:
    if small faces scored higher against other people, "present" would need to be stricter for them."""
    from attendance_worker.engine import build_templates

    names, templates = build_templates({p: np.stack(e) for p, e in data["enroll"].items() if e})
    index = {n: i for i, n in enumerate(names)}
    native = [(p, s, e) for p, s, e, _ in data["probes"] if e is not None]
    native += [(None, s, e) for s, e, _ in data["distractors"] if e is not None]
    rows = []
    for width, searches in [("native", native), *data["small"].items()]:
        rank1, hits, nonmated = [], [], []
        for person, stem, emb in searches:
            if stem in MISLABELED:
                continue
            sims = templates @ emb
            own = index.get(person) if person is not None else None
            if own is not None:
                top = int(np.argmax(sims)) == own
                rank1.append(top)
                hits.append(top and sims[own] >= present)
                sims = np.delete(sims, own)
            nonmated.append(float(sims.max()))
        nm = np.asarray(nonmated)
        rows.append(
            {
                "width": width,
                "mated": len(rank1),
                "nonmated": int(nm.size),
                "rank1": float(np.mean(rank1)),
                "tpir_at_present": float(np.mean(hits)),
                "fpir_at_present": float(np.mean(nm >= present)),
                "threshold@1%": _threshold_at(nm, 0.01),
                "threshold@0.1%": _threshold_at(nm, 0.001),
                "nonmated_max": float(nm.max()),
            }
        )
    return rows
