"""Does the int8 recognizer compute the same embeddings on every x86 CPU? Its 8-bit and 7-bit forms on this CPU.

    .venv/bin/python -m bench.int8_exactness [--people 158] [--out artifacts/bench/int8_exactness.json]

For the pack's fp32 SFace and two int8 versions quantized from the same committed ranges (8-bit weights, and the
7-bit ones the pack ships: attendance_model_export.quantize.INT8_WEIGHT_LIMIT), on aligned crops of one LFW photo
per person (photo 10, never a calibration photo), native and downscaled to 28 px:
- each int8 model against its exact twin (quantize.exact_twin: the same integers in kernels that cannot
  overflow). A CPU without VNNI adds pairs of u8 x s8 products in saturating int16 lanes; where the two differ,
  that CPU computes another model than a VNNI CPU does under the same model id;
- each against fp32 (mean and lowest cosine), and the exact twin's agreement with fp32 (what a VNNI CPU gets);
- ms per face in batches of 8, as the worker runs them.
The same for the detector's int8 first pass on the half-size Solvay 1927 photo (groups/solvay1927): its candidates
against its exact twin's (bit-equal boxes, scores and landmarks or not) and its time, beside fp32's.

`--write-pack DIR` also writes a copy of the pack whose int8 recognizer is the 8-bit model's exact twin, so that
`MODEL_PACK=DIR RECOGNIZER_PRECISION=int8 python -m bench.run` measures on any CPU what the 8-bit model identifies
on a VNNI one (slowly: u8 weights), beside the 7-bit pack's run on the same machine.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import platform
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .common import REPO, facedata_dir, load_engine, read_rgb


def crops_of(engine: Any, facedata: Path, people: int) -> np.ndarray:
    """(n, 3, 112, 112) float32 blob of the largest face of photo 10 of the first `people` identities, RGB."""
    crops = []
    for person in sorted((facedata / "lfw/identities").iterdir())[:people]:
        photos = sorted(person.glob("*.jpg"))
        rgb = read_rgb(photos[min(9, len(photos) - 1)])
        faces = engine.analyze_image(rgb, embed=False)
        if faces:
            face = max(faces, key=lambda f: f.face_px)
            crops.append(engine.recognizer.align(rgb, face.landmarks).transpose(2, 0, 1))
    return np.stack(crops).astype(np.float32)


def downscaled(blob: np.ndarray, px: int) -> np.ndarray:
    """Each crop shrunk to `px` and back to 112: a small classroom face at the recognizer's input size."""
    out = []
    for crop in blob:
        img = crop.transpose(1, 2, 0)
        small = cv2.resize(img, (px, px), interpolation=cv2.INTER_AREA)
        out.append(cv2.resize(small, (112, 112), interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1))
    return np.stack(out).astype(np.float32)


def session(model: bytes | str) -> Any:
    import onnxruntime as ort

    from attendance_worker.engine.runtime import session_options

    return ort.InferenceSession(model, session_options(2, 1), providers=["CPUExecutionProvider"])


def embed(sess: Any, blob: np.ndarray) -> np.ndarray:
    name = sess.get_inputs()[0].name
    out = np.concatenate([sess.run(None, {name: blob[i : i + 8]})[0] for i in range(0, len(blob), 8)])
    return np.asarray(out / np.linalg.norm(out, axis=1, keepdims=True), np.float64)


def cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    c = np.sum(a * b, axis=1)
    return {"mean": round(float(c.mean()), 4), "lowest": round(float(c.min()), 4)}


def ms_per_face(sess: Any, blob: np.ndarray, rounds: int = 7) -> float:
    batch = blob[:40]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        embed(sess, batch)
        times.append(time.perf_counter() - start)
    return round(1000 * statistics.median(times) / len(batch), 2)


def first_pass(facedata: Path, pack: Any, prepared: Any, fp32_nodes: list[str]) -> dict[str, Any]:
    """The detector's first pass (half size, the engine's low threshold) with fp32, 8-bit and 7-bit weights."""
    from attendance_model_export import quantize
    from attendance_worker.engine.detector import CenterFace, TiledDetector, TwoStageDetector

    rgb = read_rgb(facedata / "groups/solvay1927/solvay1927.jpg")
    h, w = rgb.shape[:2]
    half = cv2.resize(rgb, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
    threshold = inspect.signature(TwoStageDetector).parameters["coarse_threshold"].default  # the engine's

    def run(model: bytes) -> tuple[Any, float]:
        detector = TiledDetector(CenterFace(session(model)))
        times = []
        for _ in range(5):
            start = time.perf_counter()
            found = detector.detect(half, threshold)
            times.append(time.perf_counter() - start)
        return found, round(statistics.median(times), 3)

    fp32_found, fp32_s = run(pack.detector_path.read_bytes())
    out: dict[str, Any] = {"photo": "solvay1927, half size", "fp32": {"candidates": len(fp32_found), "seconds": fp32_s}}
    for label, limit in (("int8, 8-bit weights", 127), ("int8, 7-bit weights", 64)):
        model = quantize.quantize_from_cache(prepared, "detector", fp32_nodes, weight_limit=limit)
        (here, seconds), (exact, _) = run(model), run(quantize.exact_twin(model))
        same = len(here) == len(exact) and all(
            np.array_equal(getattr(here, k), getattr(exact, k)) for k in ("boxes", "scores", "landmarks")
        )
        out[label] = {"candidates": len(here), "seconds": seconds, "bit_equal_to_exact": same}
    return out


def main(argv: list[str] | None = None) -> int:
    import onnx

    from attendance_model_export import quantize
    from attendance_worker.engine.runtime import cpu_has_vnni

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=158)
    parser.add_argument("--out", type=Path, default=REPO / "artifacts" / "bench" / "int8_exactness.json")
    parser.add_argument("--write-pack", type=Path, default=None, help="a pack with the 8-bit model's exact twin")
    args = parser.parse_args(argv)
    engine = load_engine()
    pack = engine.pack
    blob = crops_of(engine, facedata_dir(), args.people)
    inputs = {"native": blob, "28px": downscaled(blob, 28)}
    fp32 = pack.recognizer_path.read_bytes()
    prepared, fp32_nodes = quantize.prepare_for_int8(onnx.load_from_string(fp32), "recognizer")
    models = {
        "int8, 8-bit weights": quantize.quantize_from_cache(prepared, "recognizer", fp32_nodes, weight_limit=127),
        "int8, 7-bit weights": quantize.quantize_from_cache(prepared, "recognizer", fp32_nodes, weight_limit=64),
    }
    fp32_sess = session(fp32)
    reference = {size: embed(fp32_sess, x) for size, x in inputs.items()}
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    result: dict[str, Any] = {
        "cpu": cpu,
        "vnni": cpu_has_vnni(),
        "crops": len(blob),
        "fp32_ms_per_face": ms_per_face(fp32_sess, blob),
        "models": {},
    }
    for label, model in models.items():
        sess, twin = session(model), session(quantize.exact_twin(model))
        row: dict[str, Any] = {
            "largest_weight": quantize.largest_int8_weight(model),
            "ms_per_face": ms_per_face(sess, blob),
        }
        for size, x in inputs.items():
            here, exact = embed(sess, x), embed(twin, x)
            row[size] = {
                "bit_equal_to_exact": bool(np.array_equal(here, exact)),
                "here_vs_exact": cosines(here, exact),
                "here_vs_fp32": cosines(here, reference[size]),
                "exact_vs_fp32": cosines(exact, reference[size]),
            }
        result["models"][label] = row
    if args.write_pack is not None:
        write_exact_8bit_pack(pack.directory, args.write_pack, quantize.exact_twin(models["int8, 8-bit weights"]))
    det_prepared, det_fp32_nodes = quantize.prepare_for_int8(
        onnx.load_from_string(pack.detector_path.read_bytes()), "detector"
    )
    result["detector_first_pass"] = first_pass(facedata_dir(), pack, det_prepared, det_fp32_nodes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(render(result))
    return 0


def write_exact_8bit_pack(source: Path, out: Path, twin: bytes) -> None:
    """A copy of the pack at `source` whose recognizer_int8.onnx is `twin`, under a model id of its own."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(source, out)
    (out / "recognizer_int8.onnx").write_bytes(twin)
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["files"]["recognizer_int8"]
    entry["sha256"] = hashlib.sha256(twin).hexdigest()
    entry["model_id"] = f"{manifest['model_id'].rsplit('-', 2)[0]}-int8exact8bit-{entry['sha256'][:8]}"
    entry["weight_limit"] = 127
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def render(r: dict[str, Any]) -> str:
    lines = [
        f"{r['cpu']} (VNNI: {r['vnni']}), {r['crops']} LFW crops; fp32 {r['fp32_ms_per_face']} ms/face",
        "",
        "| model | largest weight | ms/face | faces | bit-equal to exact | here vs exact (mean / lowest) | "
        "here vs fp32 | exact (a VNNI CPU) vs fp32 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, row in r["models"].items():
        for size in ("native", "28px"):
            x = row[size]
            lines.append(
                f"| {label} | {row['largest_weight']} | {row['ms_per_face']} | {size} | "
                f"{'yes' if x['bit_equal_to_exact'] else 'no'} | "
                f"{x['here_vs_exact']['mean']} / {x['here_vs_exact']['lowest']} | "
                f"{x['here_vs_fp32']['mean']} / {x['here_vs_fp32']['lowest']} | "
                f"{x['exact_vs_fp32']['mean']} / {x['exact_vs_fp32']['lowest']} |"
            )
    d = r.get("detector_first_pass")
    if d:
        lines += [
            "",
            f"Detector first pass ({d['photo']}): fp32 {d['fp32']['candidates']} candidates, {d['fp32']['seconds']} s",
        ]
        for label in ("int8, 8-bit weights", "int8, 7-bit weights"):
            x = d[label]
            lines.append(
                f"- {label}: {x['candidates']} candidates, {x['seconds']} s, "
                f"bit-equal to its exact twin: {'yes' if x['bit_equal_to_exact'] else 'no'}"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
