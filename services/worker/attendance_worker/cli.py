"""attendance-engine: the worker's recognition code path on local files, with no database.

    attendance-engine identify --gallery DIR [--json FILE] PHOTO...
    attendance-engine models-check [--pack DIR]

DIR holds one folder per person (folder name = person id) with one or more portraits. This is how
a school's IT admin tries a model pack on their own photos, and what the benchmark drives.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"}


class InputError(Exception):
    """Unreadable input: printed as one line, exit status 2."""


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def enroll_gallery(engine: Any, gallery_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Enroll every portrait under gallery_dir/<person>/; returns (gallery, per-photo verdicts)."""
    import numpy as np

    if not gallery_dir.is_dir():
        raise InputError(f"gallery {gallery_dir} is not a directory (expected one folder per person)")
    gallery: dict[str, Any] = {}
    enrolled: list[dict[str, Any]] = []
    people = sorted(p for p in gallery_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not people:
        raise InputError(f"gallery {gallery_dir} has no person folders")
    for person_dir in people:
        embeddings = []
        photos = sorted(p for p in person_dir.iterdir() if p.is_file() and not p.name.startswith("."))
        for photo in photos:
            result = engine.enroll(_read(photo), photo.name)
            enrolled.append(
                {
                    "person": person_dir.name,
                    "photo": str(photo),
                    "accepted": bool(result.accepted),
                    "reason": result.reason,
                }
            )
            if result.accepted:
                embeddings.append(result.embedding)
        if embeddings:
            gallery[person_dir.name] = np.stack(embeddings)
    return gallery, enrolled


def identify(engine: Any, gallery_dir: Path, photos: list[Path]) -> dict[str, Any]:
    from attendance_shared.images import ImageRejected

    gallery, enrolled = enroll_gallery(engine, gallery_dir)
    results = []
    for photo in photos:
        try:
            analysis = engine.analyze(_read(photo), photo.name)
        except ImageRejected as exc:
            raise InputError(str(exc)) from None
        decisions = engine.match(analysis.faces, gallery)
        results.append(
            {
                "photo": str(photo),
                "width": analysis.width,
                "height": analysis.height,
                "seconds": round(analysis.seconds, 4),
                "faces": [
                    {
                        "box": [round(float(v), 1) for v in face.box],
                        "detection_score": round(face.detection_score, 4),
                        "decision": dec.decision,
                        "person": dec.person,
                        "candidate": dec.candidate,
                        "similarity": round(dec.similarity, 4),
                    }
                    for face, dec in zip(analysis.faces, decisions, strict=True)
                ],
            }
        )
    return {
        "model": engine.model_id,
        "threshold": float(engine.thresholds["present"]),
        "enrolled": enrolled,
        "photos": results,
    }


def _cmd_identify(args: argparse.Namespace) -> int:
    from .engine import Engine

    for photo in args.photos:
        if not photo.is_file():
            raise InputError(f"{photo} is not a file")
    engine = Engine.load(args.pack)
    report = identify(engine, args.gallery, args.photos)
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    else:
        print(text)
    return 0


def _cmd_models_check(args: argparse.Namespace) -> int:
    from .engine import Engine
    from .engine.runtime import CUDA, EXACT_INT8_WEIGHT_LIMIT, MALLOC_TUNABLES, cpu_has_vnni, malloc_hugepages_requested

    engine = Engine.load(args.pack)
    print(f"model pack: {engine.pack.directory} ({engine.pack.kind})")
    print(f"model id:   {engine.model_id}")
    print(f"providers:  {', '.join(engine.providers)}")
    print(f"thresholds: {json.dumps(engine.thresholds)}")
    files = engine.pack.manifest.get("files", {})
    if files:
        print("files:      " + ", ".join(f"{e['file']} ({e.get('precision', '?')})" for e in files.values()))
    if engine.pack.detector_coarse_path is not None:
        if engine.detector.coarse.backend is not engine.detector.backend:
            seven_bit = engine.pack.int8_weight_limit <= EXACT_INT8_WEIGHT_LIMIT
            why = "7-bit weights: exact on every x86 CPU" if seven_bit else "8-bit weights, exact with this CPU's VNNI"
            print(f"detection:  int8 first pass ({why}), fp32 windows")
        else:
            print(
                "detection:  fp32 for both passes (the int8 first pass runs on x86 CPUs; this is a GPU, "
                "another kind of CPU, or a pack whose 8-bit int8 models would saturate on this CPU)"
            )
    if malloc_hugepages_requested():
        print(f"memory:     huge pages for large buffers (GLIBC_TUNABLES={MALLOC_TUNABLES})")
    else:
        print(
            f"memory:     GLIBC_TUNABLES={MALLOC_TUNABLES} is not set for this process; the worker image sets it "
            "(about 10% faster per photo, measured in docs/benchmarks.md)"
        )
    running: dict[str, Any] = next((e for e in files.values() if e.get("file") == engine.recognizer_path.name), {})
    if running:
        print(f"recognizer: {running['file']} ({running.get('precision', '?')}; RECOGNIZER_PRECISION chooses)")
    old_int8 = [e["file"] for e in files.values() if e.get("precision") == "int8" and "weight_limit" not in e]
    if old_int8 and CUDA not in engine.providers and cpu_has_vnni() is False:
        print(
            f"warning:    {', '.join(old_int8)} of this pack have 8-bit weights, which onnxruntime's kernels would "
            "saturate on a CPU without VNNI such as this one, so the fp32 models run here: rebuild the pack with "
            "7-bit weights (`make models`, or a new worker image)"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attendance-engine", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ident = sub.add_parser("identify", help="enroll a gallery and identify the faces in photos; JSON out")
    ident.add_argument("--gallery", type=Path, required=True, help="one folder per person with 1+ portraits")
    ident.add_argument("--json", type=Path, help="write the JSON here instead of stdout")
    ident.add_argument("--pack", type=Path, default=None, help="model pack directory (default: MODEL_PACK)")
    ident.add_argument("photos", type=Path, nargs="+", metavar="PHOTO")
    ident.set_defaults(func=_cmd_identify)
    check = sub.add_parser("models-check", help="load the model pack, print its id and the providers")
    check.add_argument("--pack", type=Path, default=None, help="model pack directory (default: MODEL_PACK)")
    check.set_defaults(func=_cmd_models_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .engine.errors import ModelPackError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"attendance-engine: {exc}", file=sys.stderr)
        return 2
    except ModelPackError as exc:
        print(f"attendance-engine: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
