"""Calibration of the enrollment check "not the same person as the student's other portraits".

    .venv/bin/python -m bench.same_person        (about 2 min on 2 cores: embeds LFW once)

A new portrait is refused when its similarity to every one of the student's accepted portraits is below the
pack's `enroll_same_person` threshold (default: its `confirm` threshold). This prints, for the 158 LFW people
(photos in file order, as a teacher would upload them; the two mislabeled photos left out):
- genuine: pairs of one person's photos below the threshold, and how many uploads would be refused when each
  photo is compared with the best of the ones accepted before it (photos 1-3, then all 10);
- impostor: pairs of different people's photos 1-3 at or above it, and how often another person's photo 1 gets
  past a student's set of photos 1-3.
"""

from __future__ import annotations

import numpy as np

from .common import facedata_dir, load_engine
from .lfw import MISLABELED, embed_lfw


def _sequential_refusals(photos: list[np.ndarray], threshold: float) -> tuple[int, int]:
    """Uploads refused (and judged) when each photo meets the best of those accepted before it."""
    accepted, refused = [photos[0]], 0
    for emb in photos[1:]:
        if float(np.max(np.stack(accepted) @ emb)) < threshold:
            refused += 1
        else:
            accepted.append(emb)
    return refused, len(photos) - 1


def main() -> int:
    engine = load_engine()
    threshold = float(engine.thresholds.get("enroll_same_person", engine.thresholds["confirm"]))
    data = embed_lfw(engine, facedata_dir(), small_widths=())
    first3 = {p: list(e) for p, e in data["enroll"].items() if len(e) >= 2}
    every = {p: list(e) for p, e in data["enroll"].items()}
    for person, stem, emb, _face in data["probes"]:
        if emb is not None and stem not in MISLABELED:
            every[person].append(emb)
    print(f"model {engine.model_id}, threshold {threshold:.2f}")
    for label, sets in (("photos 1-3", first3), ("all photos", every)):
        sims = [float(a @ b) for es in sets.values() for i, a in enumerate(es) for b in es[i + 1 :]]
        refused = [_sequential_refusals(es, threshold) for es in sets.values() if len(es) >= 2]
        print(
            f"genuine, {label}: {sum(s < threshold for s in sims)} of {len(sims)} pairs below (lowest {min(sims):.3f});"
            f" refused in upload order {sum(r for r, _ in refused)} of {sum(n for _, n in refused)}"
        )
    people = sorted(first3)
    sets = {p: np.stack(first3[p]) for p in people}
    impostor_pairs = above = passes = trials = 0
    for i, p in enumerate(people):
        for q in people[i + 1 :]:
            block = sets[p] @ sets[q].T
            impostor_pairs += block.size
            above += int((block >= threshold).sum())
        for q in people:
            if q != p:
                trials += 1
                passes += int(float((sets[p] @ first3[q][0]).max()) >= threshold)
    print(f"impostor, photos 1-3: {above} of {impostor_pairs} pairs at or above ({above / impostor_pairs:.2%})")
    print(f"another person's photo against a student's photos 1-3: passes {passes} of {trials} ({passes / trials:.2%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
