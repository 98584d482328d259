"""A rejected rule, kept measurable: "present" also for a clear winner (similarity >= `present_clear` and at least
`clear_margin` above the second-best student), on the faces that the pack's rule sends to "confirm".

    .venv/bin/python -m bench.clear_margin [--rule 0.40/0.12 --rule 0.44/0.20 ...] [--course-trials 20]

Faces (24-48 px) of make bench's classrooms (seed 1000) and of bench.size_rule's held-out ones (seed 7000),
decided against all 158 people and against random 30-student courses (classroom.score_courses), and LFW's
non-mated searches.
Small faces reach the right student by a wide margin, but so does a face from another course in a small one.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from . import classroom
from .common import facedata_dir, load_engine
from .lfw import MISLABELED, embed_lfw
from .size_rule import HELD_OUT_SEED, STRANGERS


class ClearMarginEngine:
    """The engine's match() with the clear-winner rule added after the pack's decisions."""

    def __init__(self, engine: Any, present_clear: float, clear_margin: float) -> None:
        self.engine, self.present_clear, self.clear_margin = engine, present_clear, clear_margin

    def match(self, faces: list, gallery: dict, outsiders: dict | None = None) -> list:
        from attendance_worker.engine.matching import PRESENT, FaceDecision, build_templates

        decisions = self.engine.match(faces, gallery, outsiders)
        people, templates = build_templates(gallery)
        _, outsider_templates = build_templates(outsiders or {})
        out = []
        for face, d in zip(faces, decisions, strict=True):
            if d.decision == "confirm" and d.similarity >= self.present_clear:
                emb = np.asarray(face.embedding, np.float32)
                sims = templates @ emb
                second = float(np.delete(sims, people.index(d.candidate)).max()) if len(people) > 1 else -1.0
                if len(outsider_templates):
                    second = max(second, float((outsider_templates @ emb).max()))
                if d.similarity - second >= self.clear_margin:
                    d = FaceDecision(PRESENT, d.candidate, d.candidate, d.similarity)
            out.append(d)
        return out


def _lfw_nonmated(data: dict[str, Any], gallery: dict, rule: tuple[float, float] | None, present: float) -> int:
    """Non-mated LFW searches (distractors, and probes with their own identity removed) that would be present."""
    from attendance_worker.engine import build_templates

    names, templates = build_templates(gallery)
    searches = [(p, e) for p, s, e, _ in data["probes"] if e is not None and s not in MISLABELED]
    searches += [(None, e) for _, e, _ in data["distractors"] if e is not None]
    accepted = 0
    for person, emb in searches:
        sims = templates @ emb
        if person in names:
            sims = np.delete(sims, names.index(person))
        top, second = np.sort(sims)[::-1][:2]
        ok = top >= present and top - second >= 0.08  # the pack's rule for a good-quality face
        if rule is not None:
            ok |= top >= rule[0] and top - second >= rule[1]
        accepted += int(ok)
    return accepted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", action="append", default=[], metavar="SIM/MARGIN")
    parser.add_argument("--course-trials", type=int, default=classroom.COURSE_TRIALS, help="courses per photo")
    args = parser.parse_args(argv)
    classroom.COURSE_TRIALS = args.course_trials
    rules = [tuple(float(v) for v in r.split("/")) for r in args.rule] or [(0.40, 0.12), (0.44, 0.16), (0.44, 0.20)]
    engine = load_engine()
    facedata = facedata_dir()
    data = embed_lfw(engine, facedata, small_widths=())
    gallery = {p: np.stack(e) for p, e in data["enroll"].items() if e}
    people = sorted(gallery)
    sets = {
        "make bench seeds": classroom.analyzed_photos(
            engine, facedata, people, base_seed=1000, images=2, n_strangers=classroom.N_STRANGERS
        ),
        "held-out seeds": classroom.analyzed_photos(
            engine, facedata, people, base_seed=HELD_OUT_SEED, images=3, n_strangers=STRANGERS
        ),
    }
    present = float(engine.thresholds["present"])
    print(f"{args.course_trials} courses per photo; 'with others': the teacher's 90 other students as outsiders")
    print("| rule | photos | faces | identified (158 people) | wrong + stranger | course member faces | identified "
          "(courses) | wrong (courses) | identified (courses, with others) | wrong (courses, with others) | "
          "LFW non-mated present |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for rule in [None, *rules]:
        matcher = engine if rule is None else ClearMarginEngine(engine, *rule)
        label = "pack" if rule is None else f"+ clear winner {rule[0]:.2f} / {rule[1]:.2f}"
        nonmated = _lfw_nonmated(data, gallery, rule, present)
        for name, photos in sets.items():
            keys = ("course_member_faces", "course_identified", "course_wrong", "course_identified_outsiders",
                    "course_wrong_outsiders")  # fmt: skip
            tot = {"faces": 0, "identified": 0, "wrong": 0, **dict.fromkeys(keys, 0)}
            for ph in photos:
                faces = ph["faces"]
                stats = classroom.score_decisions(ph["truth"], faces, matcher.match(faces, gallery) if faces else [])
                tot["faces"] += stats["faces"]
                tot["identified"] += stats["identified"]
                tot["wrong"] += stats["wrong_accepts"] + stats["stranger_accepts"]
                courses = classroom.score_courses(
                    matcher, ph["truth"], faces, gallery, np.random.default_rng(ph["seed"])
                )
                for key in keys:
                    tot[key] += courses[key]
            print(
                f"| {label} | {name} | {tot['faces']} | {tot['identified']} | {tot['wrong']} | "
                f"{tot['course_member_faces']} | {tot['course_identified']} | {tot['course_wrong']} | "
                f"{tot['course_identified_outsiders']} | {tot['course_wrong_outsiders']} | {nonmated} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
