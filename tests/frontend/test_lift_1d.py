"""Rank-3 (N, C, L) models lifted to (N, C, 1, L) at the front door (fixpoint.frontend.lift_1d):
every activation equals onnxruntime's, in the user's (N, C, L) layout."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from fixpoint.frontend.errors import UnsupportedOpError
from fixpoint.frontend.loader import load_model
from fixpoint.iospec import graph_input_specs
from fixpoint.pipeline import load_graph

from builders import check_against_ort, const, model, rand, save, tensor


def _check(tmp_path, nodes, inits, in_shape, out_shape, opset=13):
    proto = model(nodes, [tensor("x", in_shape)], [tensor("y", out_shape)], inits, opset=opset)
    return check_against_ort(save(proto, tmp_path), {"x": rand(*in_shape)})


def _bn(x: str, y: str, c: int) -> tuple[list, list]:
    rng = np.random.default_rng(0)
    inits = [
        const("s", rng.uniform(0.5, 1.5, c).astype(np.float32)),
        const("b", rand(c)),
        const("m", rand(c)),
        const("v", rng.uniform(0.5, 1.5, c).astype(np.float32)),
    ]
    return [helper.make_node("BatchNormalization", [x, "s", "b", "m", "v"], [y])], inits


@pytest.mark.parametrize(
    "attrs", [{}, {"pads": [2, 1], "strides": [2]}, {"dilations": [3], "pads": [3, 3]}, {"auto_pad": "SAME_UPPER"}]
)
def test_conv1d_bn_relu(tmp_path, attrs):
    bn, inits = _bn("c", "n", 6)
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3], **attrs),
        *bn,
        helper.make_node("Relu", ["n"], ["y"]),
    ]
    graph = _check(tmp_path, nodes, [const("W", rand(6, 4, 3)), const("B", rand(6)), *inits], [1, 4, 20], [1, 6, None])
    assert [n.op for n in graph.nodes] == ["conv2d"]
    assert graph.values["x"].source_layout == graph.values["y"].source_layout == "NCL"
    assert graph.values["x"].shape == [1, 1, 20, 4]


def test_depthwise_conv1d_pools_and_global_pool(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["d"], group=4, pads=[1, 1]),
        helper.make_node("MaxPool", ["d"], ["m"], kernel_shape=[2], strides=[2]),
        helper.make_node("AveragePool", ["m"], ["a"], kernel_shape=[3], pads=[1, 1]),
        helper.make_node("GlobalAveragePool", ["a"], ["y"]),
    ]
    graph = _check(tmp_path, nodes, [const("W", rand(8, 1, 3))], [1, 4, 16], [1, 8, 1])
    assert [n.op for n in graph.nodes] == ["depthwise_conv2d", "max_pool", "avg_pool", "avg_pool"]


def test_add_of_a_channel_constant_softmax_and_reduce(tmp_path):
    nodes = [
        helper.make_node("Add", ["x", "k"], ["s"]),
        helper.make_node("Softmax", ["s"], ["p"], axis=-1),
        helper.make_node("ReduceMax", ["p"], ["y"], axes=[2], keepdims=0),
    ]
    graph = _check(tmp_path, nodes, [const("k", rand(3, 1))], [1, 3, 10], [1, 3])
    assert [n.op for n in graph.nodes] == ["add", "softmax", "reduce"]
    assert graph.nodes[1].attrs["axis"] == [2]  # L of (N, C, 1, L) is NHWC W


def test_user_shapes_stay_rank_3(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "W"], ["y"])]
    path = save(
        model(nodes, [tensor("x", ["n", 2, 12])], [tensor("y", ["n", 3, 12])], [const("W", rand(3, 2, 1))]), tmp_path
    )
    assert graph_input_specs(load_graph(path)) == [("x", [2, 12])]


def test_an_op_that_cannot_take_rank_3_keeps_the_check_message(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"]), helper.make_node("MatMul", ["c", "M"], ["y"])]
    path = save(
        model(
            nodes,
            [tensor("x", [1, 2, 6])],
            [tensor("y", [1, 3, 4])],
            [const("W", rand(3, 2, 1)), const("M", rand(6, 4))],
        ),
        tmp_path,
    )
    with pytest.raises(UnsupportedOpError, match="Conv"):
        load_model(path)


def test_flatten_default_axis_into_gemm(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1]),
        helper.make_node("Flatten", ["c"], ["f"]),
        helper.make_node("Gemm", ["f", "G"], ["y"]),
    ]
    graph = _check(tmp_path, nodes, [const("W", rand(3, 2, 3)), const("G", rand(3 * 8, 4))], [1, 2, 8], [1, 4])
    assert [n.op for n in graph.nodes] == ["conv2d", "fully_connected"]


@pytest.mark.parametrize("opset", [11, 13])
def test_softmax_default_axis_on_rank_3(tmp_path, opset):
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"]), helper.make_node("Softmax", ["c"], ["y"])]
    graph = _check(tmp_path, nodes, [const("W", rand(3, 2, 1))], [1, 2, 5], [1, 3, 5], opset=opset)
    assert graph.nodes[1].attrs["axis"] == ([2] if opset >= 13 else [1, 2, 3])
