"""Lowering and normalization of the compute family: reduce (ReduceMean / ReduceSum / ReduceMax) and
transpose_conv2d (ConvTranspose)."""

from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fixpoint.cparams import layer_struct
from fixpoint.frontend.errors import UnsupportedOpError
from fixpoint.ir import ModelError
from fixpoint.lower import LowerOptions, lower
from fixpoint.normalize.float_exec import run_normalized
from fixpoint.pipeline import load_graph
from fixpoint.plan import RequantProfile

from lower_graphs import GraphBuilder

NO_ARENA = LowerOptions(plan_memory=False)


def q31(scale: float) -> dict:
    q, shift = math.frexp(scale)
    m = int(math.floor(q * (1 << 31) + 0.5))
    if m == 1 << 31:
        m, shift = m // 2, shift + 1
    return {"multiplier": m, "shift": shift}


def _reduce_layer(kind: str, axes: list[int], out_shape: list[int], bits: int = 8):
    g = GraphBuilder(bits=bits)
    x = g.input("x", [1, 4, 5, 6], scale=0.02, zp=0 if bits == 16 else -7)
    g.node("reduce", [x], "y", out_shape, attrs={"axes": axes, "kind": kind}, scale=0.01, zp=0 if bits == 16 else 4)
    plan = lower(g.graph(["y"]), g.quant, RequantProfile(), NO_ARENA)
    layer_struct(plan, 0)  # the params are exactly C fields
    return plan, plan.layers[0]


def test_reduce_mean_folds_one_over_count_into_the_scale():
    plan, layer = _reduce_layer("mean", [1, 2], [1, 1, 1, 6])
    assert layer.op == "reduce" and layer.params["kind"] == 0
    assert layer.params["scale"] == q31(0.02 / 0.01 / 20)
    assert layer.params["input_offset"] == 7 and layer.params["output_offset"] == 4


def test_reduce_sum_scale_and_max_keeps_the_input_quantization():
    _, layer = _reduce_layer("sum", [3], [1, 4, 5, 1])
    assert layer.params["scale"] == q31(2.0)
    plan, layer = _reduce_layer("max", [1, 2, 3], [1, 1, 1, 1])
    assert layer.params["kind"] == 1
    x, y = plan.tensors
    assert (y.scale, y.zero_point) == (x.scale, x.zero_point)


def test_reduce_s16_mean_lowers_and_a_bad_shape_is_an_error():
    _, layer = _reduce_layer("mean", [1, 2], [1, 1, 1, 6], bits=16)
    assert layer.datapath == "s16"
    with pytest.raises(ModelError, match="reduce"):
        _reduce_layer("sum", [1], [1, 2, 5, 6])


def _model(tmp_path, node: onnx.NodeProto, in_shape, out_shape, inits=(), opset=13):
    graph = helper.make_graph(
        [node],
        "m",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        list(inits),
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), path)
    return path


@pytest.mark.parametrize(
    "op, attrs, axes_input, out_shape, opset",
    [
        ("ReduceMean", {"axes": [2, 3], "keepdims": 0}, None, [1, 3], 13),
        ("ReduceMean", {"axes": [-1, -2]}, None, [1, 3, 1, 1], 13),
        ("ReduceMax", {"axes": [1]}, None, [1, 1, 4, 5], 13),
        ("ReduceSum", {}, [2], [1, 3, 1, 5], 13),
        ("ReduceSum", {"noop_with_empty_axes": 1}, None, [1, 3, 4, 5], 13),
        ("ReduceMean", {}, [1, 3], [1, 1, 4, 1], 18),
        ("ReduceMax", {}, None, [1, 1, 1, 1], 13),
    ],
)
def test_reduce_normalizes_and_matches_onnxruntime(tmp_path, op, attrs, axes_input, out_shape, opset):
    import onnxruntime as ort

    inits = []
    inputs = ["x"]
    if axes_input is not None:
        inits.append(numpy_helper.from_array(np.array(axes_input, np.int64), "axes"))
        inputs.append("axes")
    path = _model(tmp_path, helper.make_node(op, inputs, ["y"], **attrs), [1, 3, 4, 5], out_shape, inits, opset)
    graph = load_graph(path)
    assert [n.op for n in graph.nodes] == ["reduce"]
    x = np.random.default_rng(0).normal(size=(1, 3, 4, 5)).astype(np.float32)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    got = run_normalized(graph, {"x": x})["y"]
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "attrs, says",
    [
        ({"axes": [0]}, "batch axis"),
        ({"axes": [1], "keepdims": 0}, "keepdims=0"),
        ({"axes": [7]}, "out of range"),
    ],
)
def test_reduce_unsupported_uses_name_the_problem(tmp_path, attrs, says):
    out = [1, 3, 4, 5]
    path = _model(tmp_path, helper.make_node("ReduceMean", ["x"], ["y"], **attrs), [2, 3, 4, 5], [2] + out[1:])
    with pytest.raises(UnsupportedOpError, match=says):
        load_graph(path)


# ---- transpose_conv2d -----------------------------------------------------------------------


def test_transpose_conv2d_weights_bias_and_registers_are_the_conv_ones():
    rng = np.random.default_rng(3)
    g = GraphBuilder()
    x = g.input("x", [1, 3, 3, 2], scale=0.02, zp=-5)
    w = rng.normal(size=(4, 3, 3, 2)).astype(np.float32)
    g.const("W", w), g.const("B", np.array([0.1, -0.2, 0.0, 0.3], np.float32))
    g.node(
        "transpose_conv2d",
        [x, "W", "B"],
        "y",
        [1, 6, 6, 4],
        scale=0.05,
        zp=2,
        attrs={"strides": [2, 2], "dilations": [1, 1], "pads": [1, 1, 0, 0], "act": "none", "act_range": None},
    )
    plan = lower(g.graph(["y"]), g.quant, RequantProfile(), NO_ARENA)
    layer_struct(plan, 0)
    layer = plan.layers[0]
    assert layer.op == "transpose_conv2d"
    assert layer.params == {
        "stride_h": 2,
        "stride_w": 2,
        "dilation_h": 1,
        "dilation_w": 1,
        "pad_top": 1,
        "pad_left": 1,
        "groups": 1,
        "input_offset": 5,
        "output_offset": 2,
        "act_min": -128,
        "act_max": 127,
    }
    s_w = np.abs(w.astype(np.float64)).reshape(4, -1).max(axis=1) / 127
    np.testing.assert_array_equal(layer.arrays["weights"], np.clip(np.round(w / s_w[:, None, None, None]), -127, 127))
    assert [q31(0.02 * s / 0.05) for s in s_w] == [
        {"multiplier": int(m), "shift": int(s)} for m, s in zip(layer.arrays["multiplier"], layer.arrays["shift"])
    ]


@pytest.mark.parametrize(
    "attrs, in_shape, w_shape",
    [
        ({"strides": [2, 2]}, [1, 3, 4, 5], (3, 2, 3, 3)),
        ({"strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 1]}, [1, 3, 4, 5], (3, 2, 3, 3)),
        ({"strides": [3, 2], "dilations": [2, 1], "pads": [0, 1, 2, 0]}, [1, 2, 3, 3], (2, 4, 2, 3)),
        ({"strides": [4, 4]}, [1, 2, 3, 3], (2, 3, 2, 2)),  # stride > kernel
        ({"strides": [2], "pads": [1, 0], "output_padding": [1]}, [1, 3, 7], (3, 2, 3)),  # 1-D, lifted
    ],
)
def test_conv_transpose_normalizes_and_matches_onnxruntime(tmp_path, attrs, in_shape, w_shape):
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(size=w_shape).astype(np.float32), "W"),
        numpy_helper.from_array(rng.normal(size=w_shape[1]).astype(np.float32), "B"),
    ]
    node = helper.make_node("ConvTranspose", ["x", "W", "B"], ["y"], **attrs)
    path = _model(tmp_path, node, in_shape, [None] * len(in_shape), inits)
    graph = load_graph(path)
    assert [n.op for n in graph.nodes] == ["transpose_conv2d"]
    x = rng.normal(size=in_shape).astype(np.float32)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    got = run_normalized(graph, {"x": x})["y"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
