"""Per-channel range equalization of SFace before int8 quantization (no change to its fp32 outputs).

onnxruntime quantizes each activation tensor with one scale. In SFace the channels of one tensor differ in
range by up to 100x, so the quiet channels keep only a few of the 256 levels, and the depthwise convolutions,
which see one channel each, amplify that error: int8 embeddings agreed with fp32 only to a mean cosine of
0.983 on LFW crops. Between one convolution A and the next one B sits only a PReLU, and a PReLU commutes with
a positive per-channel scale. So channel i of A is multiplied by R / r_i (r_i: its measured range, R: the
largest) and the weights that B applies to channel i are divided by the same number: the fp32 model computes
the same function and every channel now spans the tensor's whole range. Per-channel int8 weights absorb A's
scaled rows exactly, and a depthwise B's too; a full-convolution B's columns change, so its weights round
differently (all weights alone in int8 still agree with fp32 to 0.9994). The ranges are measured once on
calibration crops (`python -m bench.calibrate`) and committed beside the activation ranges
(calibration/recognizer_channels.json), so `make models` needs no data. Data-free cross-layer equalization
(Nagel et al., 2019) is the same idea.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

# Scales are bounded so that a channel that is silent on the calibration crops is not blown up.
MAX_SCALE = 1000.0


def _attr(node: Any, name: str, default: Any = None) -> Any:
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


class _Graph:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.inits = {i.name: i for i in model.graph.initializer}
        self.consumers: dict[str, list[Any]] = {}
        for node in model.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    def array(self, name: str) -> np.ndarray:
        from onnx import numpy_helper

        return numpy_helper.to_array(self.inits[name])

    def put(self, name: str, value: np.ndarray) -> None:
        from onnx import numpy_helper

        self.inits[name].CopyFrom(numpy_helper.from_array(value.astype(np.float32), name))

    def channels(self, conv: Any) -> int:
        return int(self.array(conv.input[1]).shape[0])

    def is_per_channel_scale(self, node: Any, channels: int) -> bool:
        """A bias-free 1x1 depthwise Conv: how build.py writes the slopes of a PReLU."""
        return (
            node.op_type == "Conv"
            and len(node.input) == 2
            and _attr(node, "group", 1) == channels
            and list(_attr(node, "kernel_shape", [])) == [1, 1]
            and node.input[1] in self.inits
        )


def prelu_chains(model: Any) -> list[tuple[Any, list[str], Any]]:
    """(A, the tensors from A's output to B's input, B) for every Conv A whose output reaches the next Conv B only
    through per-channel, positively homogeneous steps (the PReLU rewrite: 1x1 depthwise scales, Relu, Add)."""
    g = _Graph(model)
    graph_outputs = {o.name for o in model.graph.output}
    chains = []
    for a in model.graph.node:
        if a.op_type != "Conv" or a.input[1] not in g.inits or g.is_per_channel_scale(a, g.channels(a)):
            continue
        channels = g.channels(a)
        region, frontier, exits, adds = [a.output[0]], [a.output[0]], [], []
        while frontier:
            for node in g.consumers.get(frontier.pop(), []):
                out = node.output[0]
                if out in region:
                    continue
                if node.op_type == "Add" and not all(i in region for i in node.input):
                    adds.append(node)  # taken once its other input is in the region too
                    continue
                if node.op_type in ("Relu", "Add") or g.is_per_channel_scale(node, channels):
                    region.append(out)
                    frontier.append(out)
                else:
                    exits.append(node)
        exits += [n for n in adds if n.output[0] not in region]  # an Add with an input from outside (a residual)
        if len({id(n) for n in exits}) != 1 or any(t in graph_outputs for t in region):
            continue
        b = exits[0]
        if b.op_type == "Conv" and b.input[1] in g.inits and _attr(b, "group", 1) in (1, channels):
            chains.append((a, region, b))
    return chains


def measure_channel_ranges(model: Any, input_name: str, batches: Iterable[np.ndarray]) -> dict[str, list[float]]:
    """Per chain (keyed by A's output): each channel's largest |value| over every tensor of the chain."""
    import onnx
    import onnxruntime as ort

    chains = prelu_chains(model)
    tensors = [t for _, region, _ in chains for t in region]
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    for name in tensors:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    peak: dict[str, np.ndarray] = {}
    for batch in batches:
        for name, value in zip(tensors, session.run(tensors, {input_name: batch}), strict=True):
            channel_max = np.abs(value).max(axis=(0, 2, 3))
            peak[name] = channel_max if name not in peak else np.maximum(peak[name], channel_max)
    return {
        a.output[0]: [float(f"{v:.4g}") for v in np.max([peak[t] for t in region], axis=0)] for a, region, _ in chains
    }


def equalize(model: Any, ranges: dict[str, list[float]]) -> Any:
    """`model` with every measured chain's channels scaled to the same range (in place; also returned)."""
    g = _Graph(model)
    for a, _, b in prelu_chains(model):
        if a.output[0] not in ranges:
            continue
        r = np.asarray(ranges[a.output[0]], np.float64)
        scale = np.clip(r.max() / np.maximum(r, 1e-12), 1.0, MAX_SCALE)
        g.put(a.input[1], g.array(a.input[1]) * scale.reshape(-1, 1, 1, 1))
        if len(a.input) > 2:
            g.put(a.input[2], g.array(a.input[2]) * scale)
        w = g.array(b.input[1])
        g.put(b.input[1], w / (scale.reshape(-1, 1, 1, 1) if _attr(b, "group", 1) > 1 else scale.reshape(1, -1, 1, 1)))
    return model


def fold_batchnorms_into_gemm(model: Any) -> Any:
    """BatchNormalization -> Flatten -> Gemm -> BatchNormalization (SFace's head) as Flatten -> Gemm: two fewer
    tensors to quantize. onnxruntime's pre-processing folds a BatchNorm into a Conv only (in place; returned)."""
    g = _Graph(model)
    for gemm in [n for n in model.graph.node if n.op_type == "Gemm" and _attr(n, "transB", 0) == 1]:
        producers = {o: n for n in model.graph.node for o in n.output}
        flatten = producers.get(gemm.input[0])
        if flatten is None or flatten.op_type != "Flatten":
            continue
        before, after = producers.get(flatten.input[0]), g.consumers.get(gemm.output[0], [])
        if before is None or before.op_type != "BatchNormalization" or len(g.consumers[before.output[0]]) != 1:
            continue
        if len(after) != 1 or after[0].op_type != "BatchNormalization":
            continue

        def affine(bn: Any) -> tuple[np.ndarray, np.ndarray]:
            gamma, beta, mean, var = (g.array(n).astype(np.float64) for n in bn.input[1:5])
            k = gamma / np.sqrt(var + _attr(bn, "epsilon", 1e-5))
            return k, beta - k * mean

        k1, h1 = affine(before)
        k2, h2 = affine(after[0])
        w, bias = g.array(gemm.input[1]).astype(np.float64), g.array(gemm.input[2]).astype(np.float64)
        per_channel = w.shape[1] // k1.size  # Flatten of (N, C, H, W): channel-major columns
        k1, h1 = np.repeat(k1, per_channel), np.repeat(h1, per_channel)
        g.put(gemm.input[1], k2[:, None] * (w * k1[None, :]))
        g.put(gemm.input[2], k2 * (bias + w @ h1) + h2)
        flatten.input[0] = before.input[0]
        gemm.output[0] = after[0].output[0]
        model.graph.node.remove(before)
        model.graph.node.remove(after[0])
    return model


def fp32_front(model: Any, convs: int) -> list[str]:
    """Node names of the first `convs` chains (their Conv and its PReLU), left in fp32 by the quantizer: the first
    depthwise convolution lost the most signal-to-noise of any layer in int8 (onnxruntime's qdq_loss_debug)."""
    names: list[str] = []
    region_tensors: set[str] = set()
    for a, region, _ in prelu_chains(model)[:convs]:
        names.append(a.name)
        region_tensors.update(region[1:])
    names += [n.name for n in model.graph.node if n.output and n.output[0] in region_tensors]
    return names


def load_ranges(path: Path) -> dict[str, list[float]]:
    return {str(k): [float(x) for x in v] for k, v in json.loads(path.read_text())["channel_ranges"].items()}


def write_ranges(path: Path, ranges: dict[str, list[float]]) -> None:
    doc = {
        "about": "per-channel max |activation| of each SFace Conv -> PReLU chain, measured by python -m "
        "bench.calibrate; attendance_model_export.equalize scales the channels to equal ranges before int8",
        "channel_ranges": ranges,
    }
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    path.chmod(0o644)
