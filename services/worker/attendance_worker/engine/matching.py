"""Open-set matching: quality-aware thresholds, one-to-one assignment per photo (merging across photos is
attendance_shared.records.merge_session).

Marking an absent child present is the worst error, so "present" needs a similarity above a
threshold that rises for small, blurred or weakly detected faces, and a clear margin over the
second-best student; plausible matches become "confirm" (never present until a teacher says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .assignment import linear_sum_assignment
from .recognizer import l2_normalize

Gallery = Mapping[str, np.ndarray]  # person id -> (k, d) embeddings of that person's accepted photos

PRESENT, CONFIRM, UNKNOWN = "present", "confirm", "unknown"


@dataclass(frozen=True)
class FaceMatch:
    """The engine's decision on one face (stored as DetectedFace.decision, attendance_shared.models.FaceDecision)."""

    decision: str  # "present" | "confirm" | "unknown"
    person: str | None  # set only when decision == "present"
    candidate: str | None  # best match whatever the decision
    similarity: float  # cosine similarity to `candidate`'s template (0.0 when the gallery is empty)


@dataclass(frozen=True)
class FaceQuality:
    face_px: int
    blur: float
    detection_score: float


def build_templates(gallery: Gallery) -> tuple[list[str], np.ndarray]:
    """One L2-normalised template per person: the mean of their normalised embeddings."""
    people: list[str] = []
    rows: list[np.ndarray] = []
    for person, embs in gallery.items():
        arr = np.asarray(embs, np.float32).reshape(-1, np.asarray(embs).shape[-1]) if np.size(embs) else None
        if arr is None or arr.shape[0] == 0:
            continue
        people.append(str(person))
        rows.append(l2_normalize(l2_normalize(arr).mean(axis=0)))
    if not rows:
        return [], np.zeros((0, 0), np.float32)
    return people, np.stack(rows)


def low_quality(q: FaceQuality, thresholds: Mapping[str, float]) -> bool:
    """Small, blurred or weakly detected: such a face needs a higher similarity to be "present"."""
    return (
        q.face_px < thresholds.get("small_face_px", 0.0)
        or q.blur < thresholds.get("blur_low", 0.0)
        or q.detection_score < thresholds.get("det_score_low", 0.0)
    )


def present_threshold(q: FaceQuality, thresholds: Mapping[str, float]) -> float:
    """The similarity needed for "present": higher for small, blurred or weakly detected faces."""
    base = float(thresholds["present"])
    strict = float(thresholds.get("present_small", base))
    return max(base, strict) if low_quality(q, thresholds) else base


# Below about 30 px wide the recognizer cannot identify a face reliably (docs/benchmarks.md: at 24 px, degraded,
# most faces land in "confirm"); a pack may set its own "retake_face_px".
RETAKE_FACE_PX = 30.0
TOO_SMALL, TOO_POOR = "too_small", "too_poor"  # attendance_shared.models.FaceLegibility


def legibility(q: FaceQuality, decision: str, thresholds: Mapping[str, float]) -> str | None:
    """Why a face the engine could not name cannot be recognised from this photo, so that the teacher is asked for
    a closer photo: too small, or too poor (the quality rule of present_threshold); None for a face named present
    or one clear enough that a closer photo would not help (a stranger, say)."""
    if decision == PRESENT:
        return None
    if q.face_px < thresholds.get("retake_face_px", RETAKE_FACE_PX):
        return TOO_SMALL
    return TOO_POOR if low_quality(q, thresholds) else None


def match_faces(
    embeddings: np.ndarray,
    qualities: Sequence[FaceQuality],
    gallery: Gallery,
    thresholds: Mapping[str, float],
    outsiders: Gallery | None = None,
) -> list[FaceMatch]:
    """Decide every face of one photo; a person is assigned to at most one face (Hungarian, not greedy).

    `outsiders` are known people who cannot be marked (the teacher's students of other courses): a face is never
    "present" for a course student unless it beats every outsider by the margin too, and is "unknown" when an
    outsider is the better match. Without them, a sibling from another course wins by a wide margin over the 29
    others of a small course (docs/benchmarks.md, "Siblings").
    """
    n = len(qualities)
    people, templates = build_templates(gallery)
    if n == 0:
        return []
    if not people:
        return [FaceMatch(UNKNOWN, None, None, 0.0) for _ in range(n)]
    emb = l2_normalize(np.asarray(embeddings, np.float32).reshape(n, -1))
    sims = emb @ templates.T  # (faces, people)
    _, outsider_templates = build_templates(outsiders or {})
    best_outsider = (emb @ outsider_templates.T).max(axis=1) if len(outsider_templates) else np.full(n, -1.0)
    confirm_t = float(thresholds["confirm"])
    margin_t = float(thresholds.get("margin", 0.0))

    # Maximise total similarity over pairs that could at least be confirmed.
    eligible = sims >= confirm_t
    assigned: dict[int, int] = {}
    if eligible.any():
        cost = np.where(eligible, -sims, 1e6)
        rows, cols = linear_sum_assignment(cost)
        assigned = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if eligible[r, c]}

    out: list[FaceMatch] = []
    for i in range(n):
        row = sims[i]
        if i not in assigned:
            best = int(np.argmax(row))
            out.append(FaceMatch(UNKNOWN, None, people[best], float(row[best])))
            continue
        j = assigned[i]
        s = float(row[j])
        if best_outsider[i] > s:  # someone the teacher knows from another course, more like this face
            out.append(FaceMatch(UNKNOWN, None, people[j], s))
            continue
        others = np.delete(row, j)
        second = max(float(others.max()) if others.size else -1.0, float(best_outsider[i]))
        if s >= present_threshold(qualities[i], thresholds) and s - second >= margin_t:
            out.append(FaceMatch(PRESENT, people[j], people[j], s))
        else:
            out.append(FaceMatch(CONFIRM, None, people[j], s))
    return out
