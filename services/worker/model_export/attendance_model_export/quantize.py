"""Static int8 (QDQ) versions of the default pack's models, from committed calibration ranges.

Calibration needs face photos, which the install step does not have (a Docker build, a school's
laptop). So the ranges are measured once by `python -m bench.calibrate` on benchmark data that is
never used as a probe, and committed as JSON (calibration/*.json, onnxruntime's own cache format);
`make models` then quantizes deterministically from them with no data at all. Every quantized model
is compared against its fp32 original before it is written (onnxruntime's quantizer has silently
broken graphs before), and the build fails with a message instead of shipping a wrong model.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

CALIBRATION_DIR = Path(__file__).resolve().parent / "calibration"
CHANNEL_RANGES = "recognizer_channels"  # calibration/recognizer_channels.json: the equalization's input
RECOGNIZER_FP32_FRONT_CONVS = 2

#: int8 weights are at most this in magnitude. x86 CPUs without VNNI (AVX2, AVX-512 without VNNI: t3's older
#: hosts, c5, m5, AMD EPYC before Zen 4) multiply u8 activations by s8 weights with vpmaddubsw, which adds two
#: products into a saturating int16: 255 * (127 + 127) overflows, 255 * (64 + 64) = 32640 does not. With
#: full-range weights the int8 SFace computed different embeddings on such a CPU than on a VNNI one (mean / lowest
#: cosine 0.997 / 0.993 to the exact integer result on 158 LFW crops, AMD EPYC with AVX2): one model id, two models
#: in a mixed fleet. With 7-bit weights (onnxruntime's reduce_range) the integer arithmetic of both int8 models is
#: exact on every x86 CPU, so neither the embeddings nor the first pass's detections depend on the instance.
INT8_WEIGHT_LIMIT = 64


class QuantizationError(RuntimeError):
    """The committed calibration ranges for a model are missing (build.py turns this into a BuildError)."""


def calibration_path(role: str) -> Path:
    return CALIBRATION_DIR / f"{role}.json"


def prepare(model: Any) -> Any:
    """Opset 13 (per-channel QDQ needs it), BatchNorm folded into Conv and shapes inferred
    (onnxruntime's quant_pre_process): a BatchNormalization left between QDQ pairs blocks the int8 Conv
    fusion and made int8 SFace slower than fp32 (5.5 vs 4.3 ms/face)."""
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if model.opset_import[0].version < 13:
        model = onnx.version_converter.convert_version(model, 13)
    with tempfile.TemporaryDirectory(prefix="quant-pre-") as tmp:
        source, out = Path(tmp) / "fp32.onnx", Path(tmp) / "prepared.onnx"
        onnx.save(model, source)  # a path, not the ModelProto: given one, quant_pre_process rewrites it in place
        quant_pre_process(source, out, skip_symbolic_shape=True)
        return onnx.load(out)


def _quantize(
    prepared: Any, cache: Path, reader: Any = None, exclude: list[str] | None = None, *, seven_bit: bool = False
) -> bytes:
    """QDQ, per-channel s8 weights, u8 activations (the form onnxruntime's CPU kernels fuse); MinMax ranges.
    `seven_bit`: weights in [-64, 64] (reduce_range; INT8_WEIGHT_LIMIT says why)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    with tempfile.TemporaryDirectory(prefix="quant-") as tmp:
        source, out = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(prepared, source)  # from a file: given a ModelProto, the quantizer writes external data
        quantize_static(
            source,
            out,
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            calibration_cache_path=cache,
            nodes_to_exclude=exclude or [],
            reduce_range=seven_bit,
        )
        return out.read_bytes()


def prepare_for_int8(model: Any, role: str) -> tuple[Any, list[str]]:
    """(the fp32 graph to quantize, the nodes to leave in fp32). The recognizer's head BatchNorms are folded into
    its Gemm and its channels equalized from the committed per-channel ranges (equalize.py): int8
    SFace then agrees with fp32 to a mean cosine of 0.996 instead of 0.983 on LFW crops; its first two convolutions
    stay fp32 (0.9958 against 0.9946 with them in int8, at 56x56 where they are cheap)."""
    from . import equalize

    prepared = prepare(model)
    if role != "recognizer":
        return prepared, []
    source = calibration_path(CHANNEL_RANGES)
    if not source.is_file():
        raise QuantizationError(f"{source} is missing: run `python -m bench.calibrate` (needs ../shared/facedata)")
    prepared = equalize.equalize(equalize.fold_batchnorms_into_gemm(prepared), equalize.load_ranges(source))
    return prepared, equalize.fp32_front(prepared, RECOGNIZER_FP32_FRONT_CONVS)


def quantize_from_cache(
    prepared: Any, role: str, exclude: list[str] | None = None, *, weight_limit: int | None = None
) -> bytes:
    """The int8 model from the committed ranges for `role` (no calibration data needed); `weight_limit` 127
    gives full 8-bit weights instead of INT8_WEIGHT_LIMIT's 7 bits (bench.int8_exactness compares the two)."""
    import shutil

    limit = INT8_WEIGHT_LIMIT if weight_limit is None else weight_limit
    if limit not in (INT8_WEIGHT_LIMIT, 127):
        raise ValueError(f"weight_limit {limit}: onnxruntime quantizes to {INT8_WEIGHT_LIMIT} (7 bits) or 127 only")

    source = calibration_path(role)
    if not source.is_file():
        raise QuantizationError(f"{source} is missing: run `python -m bench.calibrate` (needs ../shared/facedata)")
    with tempfile.TemporaryDirectory(prefix="quant-cache-") as tmp:
        cache = Path(tmp) / source.name  # a copy: the quantizer rewrites a cache it does not match
        shutil.copyfile(source, cache)
        return _quantize(prepared, cache, exclude=exclude, seven_bit=limit < 127)


def calibrate(
    prepared: Any, role: str, input_name: str, batches: Iterator[np.ndarray], out: Path | None = None
) -> Path:
    """Measure activation ranges on `batches` and write them where quantize_from_cache reads them."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def get_next(self) -> dict[str, np.ndarray] | None:
            blob = next(batches, None)
            return None if blob is None else {input_name: blob}

    target = out or calibration_path(role)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    _quantize(prepared, target, Reader())
    target.chmod(0o644)  # the quantizer writes its cache through mkstemp (0600)
    return target


def synthetic_images(n: int, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Smooth random RGB images (N, 3, H, W) in 0-255: photo-like statistics without any photo."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = size
    out = np.empty((n, 3, h, w), np.float32)
    for i in range(n):
        coarse = rng.uniform(0, 255, (max(2, h // 16), max(2, w // 16), 3)).astype(np.float32)
        img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        img = img + np.asarray(rng.normal(0, 4, img.shape), np.float32)
        out[i] = np.clip(img, 0, 255).transpose(2, 0, 1)
    return out


def compare(fp32: bytes, int8: bytes, inputs: np.ndarray, metric: Callable[[list, list], float]) -> float:
    """metric(fp32 outputs, int8 outputs) on the same inputs, both run by onnxruntime on the CPU."""
    import onnxruntime as ort

    def run(model: bytes) -> list:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        opts.log_severity_level = 3
        sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        return list(sess.run(None, {sess.get_inputs()[0].name: inputs}))

    return float(metric(run(fp32), run(int8)))


def largest_int8_weight(model: bytes) -> int:
    """The largest magnitude among the model's int8 weights (the constants its DequantizeLinear nodes read)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load_from_string(model).graph
    int8 = {i.name: i for i in graph.initializer if i.data_type == onnx.TensorProto.INT8}
    weights = {n.input[0] for n in graph.node if n.op_type == "DequantizeLinear" and n.input[0] in int8}
    return max((int(np.abs(numpy_helper.to_array(int8[w]).astype(np.int16)).max()) for w in weights), default=0)


def exact_twin(model: bytes) -> bytes:
    """The same model with its int8 weights stored as u8 (w + 128, zero point + 128): the same integers, which
    onnxruntime multiplies in 16-bit lanes that cannot overflow. Its outputs are what the int8 model means; where
    the int8 model's differ on a CPU, its u8s8 kernels saturated there."""
    import onnx
    from onnx import numpy_helper

    twin = onnx.load_from_string(model)
    inits = {i.name: i for i in twin.graph.initializer}
    for node in twin.graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in inits:
            continue
        if inits[node.input[0]].data_type == onnx.TensorProto.INT8 and (len(node.input) < 3 or not node.input[2]):
            raise ValueError(f"{node.name}: int8 weights without a zero point; the twin needs one to add 128 to")
        for name in node.input[::2]:  # the weight and its zero point
            tensor = inits.get(name)
            if tensor is not None and tensor.data_type == onnx.TensorProto.INT8:
                values = numpy_helper.to_array(tensor).astype(np.int16) + 128
                tensor.CopyFrom(numpy_helper.from_array(values.astype(np.uint8), name))
    return bytes(twin.SerializeToString())


def embedding_agreement(ref: list, got: list) -> float:
    """Lowest cosine similarity between fp32 and int8 embeddings of the same input."""
    a, b = np.asarray(ref[0], np.float64), np.asarray(got[0], np.float64)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1)))


def heatmap_difference(ref: list, got: list) -> float:
    """Largest absolute difference of the detector's face-probability heatmap (0-1)."""
    return float(np.max(np.abs(np.asarray(ref[0]) - np.asarray(got[0]))))
