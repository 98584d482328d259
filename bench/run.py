"""`make bench`: LFW identification, synthetic classrooms, real group photos, speed and peak RSS.

    .venv/bin/python -m bench.run [--quick] [--doc docs/benchmarks.md]

Writes artifacts/bench/results.json and, with --doc, the markdown report (command, commit, machine).
--quick runs a third of LFW and one image per classroom configuration (about 4 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from . import classroom, compare, groups, lfw
from .common import REPO, facedata_dir, load_engine


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime

    return (
        f"{cpu}, {os.cpu_count()} cores visible, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, onnxruntime {onnxruntime.__version__}"
    )


ENGINE_PATHS = (
    "services/worker/attendance_worker/engine",
    "services/worker/attendance_worker/cli.py",
    "services/worker/model_export/attendance_model_export/build.py",
    "services/worker/model_export/attendance_model_export/quantize.py",
    "services/worker/model_export/attendance_model_export/calibration",
    *(
        f"bench/{name}.py"
        for name in ("run", "lfw", "classroom", "groups", "speed", "common", "compare", "dlib_compare", "calibrate")
    ),
)


def _commit() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *ENGINE_PATHS], cwd=REPO, capture_output=True, text=True
        ).stdout
        return rev.strip() + (" (+ uncommitted engine/bench changes)" if dirty.strip() else "")
    except OSError:
        return "unknown"


#: the two settings section 4 measures: (results key, label, RECOGNIZER_PRECISION for the child).
#: "auto" is what development and production both run (the 7-bit int8 recognizer on every x86 CPU:
#: runtime.int8_runs_here); fp32 is RECOGNIZER_PRECISION=fp32, the detector as in auto.
SPEED_SETTINGS = (("speed", "auto: development and production", "auto"), ("speed_fp32", "fp32", "fp32"))


def _speed(engine: Any, facedata: Path, workdir: Path) -> dict[str, dict[str, Any]]:
    """bench.speed in a fresh process per setting (SPEED_SETTINGS)."""
    from . import speed

    speed.prepare(engine, facedata, workdir)
    from attendance_worker.engine.runtime import with_malloc_tunables

    out: dict[str, dict[str, Any]] = {}
    for key, label, precision in SPEED_SETTINGS:
        env = with_malloc_tunables(os.environ)  # as the worker is launched
        env["RECOGNIZER_PRECISION"] = precision  # whatever this shell sets: the speed rows are these two
        proc = subprocess.run(
            [sys.executable, "-m", "bench.speed", str(workdir)], cwd=REPO, capture_output=True, text=True, env=env
        )
        if proc.returncode != 0:
            out[key] = {"error": proc.stderr[-2000:], "setting": label}
            continue
        out[key] = json.loads(proc.stdout.strip().splitlines()[-1]) | {"setting": label}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the recognition engine")
    parser.add_argument("--quick", action="store_true", help="subset of LFW, one image per classroom config")
    parser.add_argument("--doc", type=Path, default=None, help="write the markdown report here")
    parser.add_argument("--dlib", action="store_true", help="also run face_recognition (dlib) from .bench-venv")
    parser.add_argument("--out", type=Path, default=REPO / "artifacts" / "bench" / "results.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    facedata = facedata_dir()
    engine = load_engine()
    results: dict[str, Any] = {
        "model": engine.model_id,
        "thresholds": engine.thresholds,
        "quick": args.quick,
        "commit": _commit(),
        "machine": _machine(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    print("LFW ...", flush=True)
    data = lfw.embed_lfw(engine, facedata, quick=args.quick)
    results["lfw"] = {
        "all_labels": lfw.evaluate(data, exclude_mislabeled=False),
        "without_mislabeled": lfw.evaluate(data, exclude_mislabeled=True),
        "at_present_threshold": lfw.tpir_at_threshold(data, float(engine.thresholds["present"])),
        "small_faces": lfw.evaluate_small(data, float(engine.thresholds["present"])),
        "seconds": data["seconds"],
    }
    gallery = {p: np.stack(e) for p, e in data["enroll"].items() if e}
    print("classrooms ...", flush=True)
    rooms = classroom.run(
        engine, facedata, gallery, images_per_config=1 if args.quick else 2, resolutions=["1080p", "12MP"]
    )
    for room in rooms:
        room.pop("records", None)
    results["classroom"] = rooms
    print("groups ...", flush=True)
    results["groups"] = groups.run(engine, facedata, gallery)
    if args.dlib:
        print("face_recognition (dlib) comparison ...", flush=True)
        results["dlib"] = compare.run(engine, facedata, gallery, args.out.parent / "dlib")
    print("speed (separate process) ...", flush=True)
    results.update(_speed(engine, facedata, args.out.parent / "speed"))
    results["bench_seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=float))
    report = render(results, " ".join([".venv/bin/python -m bench.run", *(argv if argv is not None else sys.argv[1:])]))
    if args.doc:
        args.doc.write_text(report)
    print(report)
    return 0


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def render(r: dict[str, Any], command: str) -> str:
    lines = [
        "# Recognition engine benchmark",
        "",
        f"- Command: `{command}` (`make bench`){' — QUICK subset' if r['quick'] else ''}",
        f"- Commit: {r['commit']}; run {r['date']}; took {r['bench_seconds']:.0f} s",
        f"- Machine: {r['machine']}",
        f"- Model pack: `{r['model']}`",
        f"- Thresholds: `{json.dumps(r['thresholds'])}`",
        "",
        "## 1. LFW open-set identification",
        "",
        "Enroll photos 1-3 of each of the 158 people, probe with photos 4-10, 300 one-photo distractors. Non-mated",
        "pool = distractors + every mated probe searched with its own identity removed. Thresholds are chosen on",
        "each pool; TPIR counts rank-1 hits at or above it.",
        "",
        "| labels | mated | non-mated pool | rank-1 | TPIR@FPIR 1% (pool / distr.) | TPIR@FPIR 0.1% (pool / distr.) | "
        "thr@1% pool | thr@0.1% pool | detection failures | enroll refusals |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, key in (("all", "all_labels"), ("without 2 mislabeled", "without_mislabeled")):
        m = r["lfw"][key]
        lines.append(
            f"| {name} | {m['mated_searches']} | {m['nonmated_pool']} | {_pct(m['rank1'])} | "
            f"{_pct(m['tpir@1%_pool'])} / {_pct(m['tpir@1%_distractors'])} | "
            f"{_pct(m['tpir@0.1%_pool'])} / {_pct(m['tpir@0.1%_distractors'])} | {m['threshold@1%_pool']:.3f} | "
            f"{m['threshold@0.1%_pool']:.3f} | {m['detection_failures']} | {m['enroll_refusals']} |"
        )
    p = r["lfw"]["at_present_threshold"]
    lines += [
        "",
        f"At the pack's present threshold {p['threshold']:.2f} (similarity only, before the margin and quality "
        f"rules): TPIR {_pct(p['tpir'])}, FPIR {_pct(p['fpir_pool'])} over the pool (a 158-person gallery).",
        "Enroll refusals are LFW photos with a second whole face, refused by the product's one-face rule; the",
        "benchmark then enrolls the centred face (LFW's label) so the recognizer is still measured.",
        "",
        "### LFW probes at classroom face sizes",
        "",
        "The same searches (without the 2 mislabeled probes) with each probe and distractor photo downscaled so the",
        "face is N px wide, then aligned and embedded as a classroom face is; the gallery stays native. FPIR and",
        f"TPIR at the present threshold {p['threshold']:.2f}, similarity only.",
        "",
        "| probe face | mated | non-mated | rank-1 | TPIR at present | FPIR at present | thr@FPIR 1% | thr@FPIR 0.1% |"
        " highest non-mated |",
        "|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {s['width']}{'' if s['width'] == 'native' else ' px'} | {s['mated']} | {s['nonmated']} | "
            f"{_pct(s['rank1'])} | {_pct(s['tpir_at_present'])} | {_pct(s['fpir_at_present'])} | "
            f"{s['threshold@1%']:.3f} | {s['threshold@0.1%']:.3f} | {s['nonmated_max']:.3f} |"
            for s in r["lfw"].get("small_faces", [])
        ),
        "",
        "## 2. Synthetic classrooms",
        "",
        "40 enrolled people (non-enrolled LFW photos, gallery = all 158) + 4 strangers per image; degraded =",
        "per-face lighting and rotation (±12°), blur, noise, JPEG q45-75. identified = present with the right",
        "person; wrong = present with a wrong person (incl. strangers and false detections).",
        "",
        "| photo | face px | condition | images | recall | identified | confirm (right cand.) | wrong accepts | "
        "stranger accepts | false det. | s/photo |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in r["classroom"]:
        lines.append(
            f"| {c['resolution']} | {c['width']} | {c['condition']} | {c['images']} | {_pct(c['recall'])} | "
            f"{_pct(c['identified_rate'])} | {c['confirm']} ({c['confirm_right']}) | {c['wrong_accepts']} | "
            f"{c['stranger_accepts']} | {c['false_detections']} | {c['seconds_per_photo']:.2f} |"
        )
    if all("course_member_faces" in c for c in r["classroom"]):
        lines += [
            "",
            "### The same faces against 30-student courses",
            "",
            "Each photo above decided again against 5 random courses of 30 students: 20 of its 40 enrolled people",
            "and 10 enrolled students who are not in the photo. Its other 20 enrolled faces and its strangers belong",
            'to no student of the course. wrong = any "present" for someone who is not that face (an absent',
            "student marked present, or a student given another person's face). First as for a teacher with only",
            "this course; then as the worker decides for a teacher with 90 other students (random ones of the other",
            "128 people): they are never marked, but a face more like one of them is not given to a course student.",
            "",
            "| photo | face px | condition | course member faces | identified, one course | wrong, one course | "
            "identified, 90 other students | wrong, 90 other students |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in r["classroom"]:
            n = max(c["course_member_faces"], 1)
            lines.append(
                f"| {c['resolution']} | {c['width']} | {c['condition']} | {c['course_member_faces']} | "
                f"{_pct(c['course_identified'] / n)} | {c['course_wrong']} | "
                f"{_pct(c['course_identified_outsiders'] / n)} | {c['course_wrong_outsiders']} |"
            )
        for suffix, label in (("", "one course"), ("_outsiders", "90 other students")):
            wrong = [w for c in r["classroom"] for w in c.get(f"course_wrong_faces{suffix}", [])]
            lines += [
                "",
                f"Wrong course decisions, {label} (whose face, marked present as whom, similarity): "
                + ("; ".join(f"{who or 'a stranger'} as {whom} ({sim})" for who, whom, sim in wrong) or "none"),
            ]
    g = r["groups"]
    lines += ["", "## 3. Group photos", ""]
    for ph in g["obama_biden"]["photos"]:
        lines.append(
            f"- obama_biden/{ph['photo']}: {ph['faces']} faces, present {ph['present']} "
            f"(similarities {ph['similarities']}), confirm {ph['confirm']}"
        )
    s = g["solvay1927"]
    lines.append(
        f"- solvay1927: {s['faces']} faces; unknown {s['unknown']}, confirm {s['confirm']}, present "
        f"{s['present']} against a {s['gallery_size']}-person gallery (max similarity {s['max_similarity']})"
    )
    v = g["voc_boxes"]
    lines.append(
        f"- voc_boxes: recall {v['found']}/{v['faces']} = {_pct(v['recall'])} at IoU >= 0.4; "
        f"{v['unmatched_detections']} detections without a hand-drawn box"
    )
    sp = r["speed"]
    lines += ["", "## 4. Speed and memory (fresh process, end to end from JPEG bytes)", ""]
    if "error" in sp:
        lines.append(f"speed run failed: {sp['error']}")
    else:
        for res in ("1080p", "12MP"):
            x = sp[res]
            lines.append(
                f"- {res}, {x['faces']} faces of {x['face_width']} px, degraded: median "
                f"{x['seconds_median']:.2f} s/photo (min {x['seconds_min']:.2f}; all {x['seconds_all']}); "
                f"process CPU time {x['cpu_seconds_median']:.2f} s/photo"
            )
        e = sp["enroll"]
        lines.append(
            f"- Enrollment: {e['photos']} photos ({e['photo_size']}) in {e['seconds']:.1f} s "
            f"(process CPU {e['cpu_seconds']:.1f} s), {e['accepted']} accepted"
        )
        lines.append(f"- Model load: {sp['load_seconds']:.2f} s; peak RSS of that process: {sp['peak_rss_mb']:.0f} MB")
        lines.append(f"- Load average during the speed run: {sp['load_average']} (2 cores; other jobs shared them)")
    lines += render_speed_settings(r)
    if "dlib" in r:
        lines += compare.render(r["dlib"])
    return "\n".join(lines) + "\n"


def render_speed_settings(r: dict[str, Any]) -> list[str]:
    """Both settings side by side, each photo's pipeline time beside its floor (the detector alone plus the
    recognizer alone on the photo's crops, bench.speed.floor): pipeline / floor is what the rest adds."""
    runs = [
        (label, r[key])
        for key, label, _ in SPEED_SETTINGS
        if key in r and "error" not in r[key] and "floor_seconds" in r[key].get("1080p", {})  # older results: none
    ]
    lines = [
        f"\nspeed run ({label}) failed: {r[key]['error']}"
        for key, label, _ in SPEED_SETTINGS[1:]  # the development run's failure is reported above
        if "error" in r.get(key, {})
    ]
    if not runs:
        return lines
    lines += [
        "",
        "### The recognizer's two precisions, and the floor",
        "",
        "Each setting in its own fresh process. auto is what development and production run (the int8 recognizer",
        "with 7-bit weights on every x86 CPU); fp32 is RECOGNIZER_PRECISION=fp32 (the detector as in auto).",
        "Floor = the detector alone on the decoded photo + the recognizer alone on its aligned crops (medians).",
        "",
        "| setting | recognizer | photo | s/photo (CPU s) | detector alone s | recognizer alone ms/face | floor s | "
        "pipeline / floor | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, x in runs:
        for res in ("1080p", "12MP"):
            p = x[res]
            lines.append(
                f"| {label} | {x['model'].rsplit('-', 2)[-2]} | {res} | {p['seconds_median']:.3f} "
                f"({p['cpu_seconds_median']:.2f}) | {p['detect_seconds_median']:.3f} | {p['embed_ms_per_face']:.2f} | "
                f"{p['floor_seconds']:.3f} | {p['floor_ratio']:.2f} | {x['peak_rss_mb']:.0f} MB |"
            )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
