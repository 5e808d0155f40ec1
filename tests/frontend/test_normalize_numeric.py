"""Normalized graphs computed by float_exec must equal onnxruntime on the original model.

``check_against_ort`` compares *every* activation of the normalized graph with
the onnxruntime tensor of the same name, so these tests also pin the naming
rule (statistics gathered on the ONNX model apply to the normalized values).
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from builders import check_against_ort, const, model, rand, save, tensor


def _bn_params(prefix: str, channels: int) -> list:
    return [
        const(f"{prefix}_s", rand(channels)),
        const(f"{prefix}_b", rand(channels)),
        const(f"{prefix}_m", rand(channels)),
        const(f"{prefix}_v", np.abs(rand(channels)) + 0.5),
    ]


def _bn(prefix: str, x: str, y: str) -> object:
    return helper.make_node(
        "BatchNormalization", [x] + [f"{prefix}_{k}" for k in "sbmv"], [y], name=prefix, epsilon=1e-3
    )


def _ops(graph) -> list[str]:
    return [n.op for n in graph.nodes]


def test_conv_bn_relu(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        _bn("bn", "c", "b"),
        helper.make_node("Relu", ["b"], ["y"], name="relu"),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 3, 7, 7])],
        [tensor("y", [1, 5, 7, 7])],
        [const("W", rand(5, 3, 3, 3))] + _bn_params("bn", 5),
    )
    graph = check_against_ort(save(proto, tmp_path))
    (conv,) = graph.nodes
    assert (conv.op, conv.outputs, conv.fused) == ("conv2d", ["y"], ["bn", "relu"])
    assert conv.attrs["act"] == "relu" and graph.values[conv.inputs[1]].shape == [5, 3, 3, 3]


def test_grouped_conv_with_stride_dilation_and_asymmetric_pads(tmp_path):
    nodes = [
        helper.make_node(
            "Conv", ["x", "W", "B"], ["y"], name="conv", group=2, strides=[2, 1], dilations=[2, 1], pads=[1, 0, 2, 1]
        )
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 4, 9, 8])],
        [tensor("y", [None] * 4)],
        [const("W", rand(6, 2, 3, 3)), const("B", rand(6))],
    )
    graph = check_against_ort(save(proto, tmp_path))
    conv = graph.nodes[0]
    assert conv.op == "conv2d" and conv.attrs["groups"] == 2 and conv.attrs["pads"] == [1, 0, 2, 1]
    assert graph.values[conv.inputs[1]].shape == [6, 3, 3, 2]  # OHWI, C_in / groups


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
def test_depthwise_with_multiplier(tmp_path, auto_pad):
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], name="dw", group=3, strides=[2, 2], auto_pad=auto_pad),
        helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="relu6"),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 3, 8, 7])],
        [tensor("y", [None] * 4)],
        [
            const("W", rand(6, 1, 3, 3)),
            const("B", rand(6)),
            const("lo", np.array(0, np.float32)),
            const("hi", np.array(0.6, np.float32)),
        ],
    )
    graph = check_against_ort(save(proto, tmp_path))
    dw = graph.nodes[0]
    assert dw.op == "depthwise_conv2d" and dw.attrs["depth_multiplier"] == 2
    assert dw.attrs["act"] == "clip" and dw.attrs["act_range"] == [0.0, pytest.approx(0.6)]
    assert graph.values[dw.inputs[1]].shape == [1, 3, 3, 6]


@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("bias_shape", [[4], [1, 4], [1], None])
def test_gemm(tmp_path, trans_b, bias_shape):
    weight = rand(4, 6) if trans_b else rand(6, 4)
    inputs = ["x", "G"] + (["C"] if bias_shape else [])
    inits = [const("G", weight)] + ([const("C", rand(*bias_shape))] if bias_shape else [])
    nodes = [helper.make_node("Gemm", inputs, ["y"], name="fc", transB=trans_b, alpha=0.7, beta=1.3)]
    proto = model(nodes, [tensor("x", [1, 6])], [tensor("y", [1, 4])], inits)
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["fully_connected"]
    assert graph.values[graph.nodes[0].inputs[1]].shape == [4, 6]
    assert graph.values["x"].shape == [1, 1, 1, 6] and graph.values["x"].source_layout == "NC"


def test_matmul_with_bias_add_and_batchnorm(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["x", "M"], ["m"], name="mm"),
        helper.make_node("Add", ["bias", "m"], ["a"], name="bias_add"),
        _bn("bn", "a", "y"),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 5])],
        [tensor("y", [1, 3])],
        [const("M", rand(5, 3)), const("bias", rand(3))] + _bn_params("bn", 3),
    )
    graph = check_against_ort(save(proto, tmp_path))
    (fc,) = graph.nodes
    assert fc.op == "fully_connected" and fc.fused == ["bias_add", "bn"]


def test_flatten_after_conv_into_gemm_permutes_weights(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "G", "GB"], ["y"], name="fc", transB=1),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 2, 5, 4])],
        [tensor("y", [1, 3])],
        [const("W", rand(4, 2, 2, 2)), const("G", rand(3, 4 * 4 * 3)), const("GB", rand(3))],
    )
    graph = check_against_ort(save(proto, tmp_path))
    fc = graph.nodes[-1]
    assert _ops(graph) == ["conv2d", "fully_connected"]
    assert fc.inputs[0] == "r" and fc.fused == ["flat"]


def test_torch_style_reshape_with_shape_arithmetic(tmp_path):
    """x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape is folded."""
    nodes = [
        helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Shape", ["p"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["nu"]),
        helper.make_node("Concat", ["nu", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["p", "shape"], ["f"], name="view"),
        helper.make_node("MatMul", ["f", "M"], ["y"]),
    ]
    proto = model(
        nodes,
        [tensor("x", ["batch", 3, 4, 6])],
        [tensor("y", ["batch", 2])],
        [
            const("zero", np.array(0, np.int64)),
            const("axes", np.array([0], np.int64)),
            const("minus1", np.array([-1], np.int64)),
            const("M", rand(3 * 2 * 3, 2)),
        ],
    )
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["max_pool", "fully_connected"]


def test_residual_add_with_fused_relu(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c", "x"], ["s"], name="add"),
        helper.make_node("Relu", ["s"], ["y"], name="relu"),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 4, 5, 5])],
        [tensor("y", [1, 4, 5, 5])],
        [const("W", rand(4, 4, 3, 3)), const("B", rand(4))],
    )
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["conv2d", "add"] and graph.nodes[1].attrs["act"] == "relu"


def test_concat_channels_and_2d(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W1"], ["a"], name="c1"),
        helper.make_node("Conv", ["x", "W2"], ["b"], name="c2"),
        helper.make_node("Concat", ["a", "b", "x"], ["cat"], name="cat", axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Concat", ["f", "f"], ["y"], name="cat2d", axis=-1),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 2, 4, 4])],
        [tensor("y", [1, 14])],
        [const("W1", rand(3, 2, 1, 1)), const("W2", rand(3, 2, 1, 1))],
    )
    graph = check_against_ort(save(proto, tmp_path))
    assert [n.attrs["axis"] for n in graph.nodes if n.op == "concat"] == [3, 3]


@pytest.mark.parametrize("opset", [11, 17])
def test_pad(tmp_path, opset):
    pads = np.array([0, 1, 2, 0, 0, 2, 1, 3], np.int64)  # N, C, H, W begins then ends
    nodes = [helper.make_node("Pad", ["x", "pads", "val"], ["y"], name="pad", mode="constant")]
    proto = model(
        nodes,
        [tensor("x", [1, 2, 3, 3])],
        [tensor("y", [1, 5, 6, 6])],
        [const("pads", pads), const("val", np.array(0.5, np.float32))],
        opset=opset,
    )
    graph = check_against_ort(save(proto, tmp_path))
    pad = graph.nodes[0]
    assert pad.attrs == {"pads_before": [0, 2, 0, 1], "pads_after": [0, 1, 3, 2], "value": 0.5, "mode": "constant"}


@pytest.mark.parametrize(
    "op, attrs",
    [
        ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
        ("MaxPool", {"kernel_shape": [2, 3], "auto_pad": "SAME_UPPER"}),
        ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 0, 1, 2]}),
        ("AveragePool", {"kernel_shape": [3, 2], "strides": [2, 2], "ceil_mode": 1}),
        ("AveragePool", {"kernel_shape": [3, 3], "auto_pad": "SAME_LOWER"}),
        ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2], "count_include_pad": 1}),
        ("GlobalAveragePool", {}),
        ("GlobalMaxPool", {}),
    ],
)
def test_pools(tmp_path, op, attrs):
    nodes = [helper.make_node(op, ["x"], ["y"], name="pool", **attrs)]
    proto = model(nodes, [tensor("x", [1, 3, 8, 7])], [tensor("y", [None] * 4)])
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["max_pool" if "Max" in op else "avg_pool"]


@pytest.mark.parametrize(
    "opset, shape, axis, nhwc_axes",
    [
        (13, [1, 5, 3, 2], 1, [3]),
        (17, [1, 6], -1, [3]),
        (11, [1, 6], 1, [3]),
        (11, [1, 6, 1, 1], 1, [1, 2, 3]),
        (13, [1, 5, 3, 2], 2, [1]),
        (13, [1, 5, 3, 2], -1, [2]),  # any single axis (opset 13)
        (11, [1, 5, 3, 2], 1, [1, 2, 3]),
        (11, [1, 5, 3, 2], 2, [1, 2]),  # flattened from axis (opset < 13)
        (11, [1, 5, 3, 2], 3, [2]),
    ],
)
def test_softmax(tmp_path, opset, shape, axis, nhwc_axes):
    nodes = [helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=axis)]
    proto = model(nodes, [tensor("x", shape)], [tensor("y", shape)], opset=opset)
    graph = check_against_ort(save(proto, tmp_path))
    assert graph.nodes[0].op == "softmax" and graph.nodes[0].attrs == {"axis": nhwc_axes}


def test_leaky_relu_and_standalone_relu_after_pool(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("LeakyRelu", ["c"], ["l"], name="leaky", alpha=0.2),
        helper.make_node("MaxPool", ["l"], ["p"], kernel_shape=[2, 2]),
        helper.make_node("Relu", ["p"], ["y"], name="relu"),
    ]
    proto = model(nodes, [tensor("x", [1, 2, 5, 5])], [tensor("y", [None] * 4)], [const("W", rand(3, 2, 1, 1))])
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["conv2d", "leaky_relu", "max_pool", "leaky_relu"]
    assert graph.nodes[1].attrs["alpha"] == pytest.approx(0.2)
    assert graph.nodes[3].attrs == {"alpha": 0.0, "act": "none", "act_range": None}


@pytest.mark.parametrize("opset", [11, 13])
def test_clip_variants(tmp_path, opset):
    """Fused Relu6, a min-only Clip merged into a standalone Relu, and a Clip on a concat."""
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("Clip", ["c", "zero", "six"], ["r6"], name="relu6"),
        helper.make_node("Concat", ["r6", "x"], ["cat"], axis=1),
        helper.make_node("Relu", ["cat"], ["r"], name="relu"),
        helper.make_node("Clip", ["r", "lo"], ["y"], name="clip_min"),
    ]
    inits = [
        const("W", rand(3, 2, 1, 1, scale=4.0)),
        const("zero", np.array(0, np.float32)),
        const("six", np.array(6, np.float32)),
        const("lo", np.array(0.3, np.float32)),
    ]
    proto = model(nodes, [tensor("x", [1, 2, 3, 3])], [tensor("y", [1, 5, 3, 3])], inits, opset=opset)
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["conv2d", "concat", "leaky_relu"]
    assert graph.nodes[0].attrs["act_range"] == [0.0, 6.0]
    assert graph.nodes[2].attrs["act"] == "clip" and graph.nodes[2].fused == ["clip_min"]
    assert graph.nodes[2].attrs["act_range"] == [pytest.approx(0.3), np.inf]


def test_mul_and_add_with_constants(tmp_path):
    nodes = [
        helper.make_node("Mul", ["x", "scale"], ["m"], name="mul"),
        helper.make_node("Add", ["shift", "m"], ["a"], name="add"),
        helper.make_node("Mul", ["a", "a"], ["y"], name="square"),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 3, 2, 4])],
        [tensor("y", [1, 3, 2, 4])],
        [const("scale", rand(3, 1, 1)), const("shift", np.array(0.5, np.float32))],
    )
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["mul", "add", "mul"]
    assert graph.values[graph.nodes[0].inputs[1]].shape == [1, 1, 1, 3]
    assert graph.nodes[1].inputs[0] == "m"  # constant operand moved second


def test_identity_dropout_squeeze_unsqueeze(tmp_path):
    nodes = [
        helper.make_node("Identity", ["x"], ["i"]),
        helper.make_node("GlobalAveragePool", ["i"], ["g"]),
        helper.make_node("Dropout", ["g"], ["d"], name="drop"),
        helper.make_node("Squeeze", ["d", "axes"], ["s"], name="squeeze"),
        helper.make_node("Gemm", ["s", "G"], ["fc"], name="fc"),
        helper.make_node("Unsqueeze", ["fc", "axes"], ["u"], name="unsqueeze"),
        helper.make_node("Conv", ["u", "W"], ["c"], name="conv"),
        helper.make_node("Identity", ["c"], ["y"], name="out"),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 4, 3, 3])],
        [tensor("y", [1, 2, 1, 1])],
        [const("axes", np.array([2, 3], np.int64)), const("G", rand(4, 5)), const("W", rand(2, 5, 1, 1))],
    )
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["avg_pool", "fully_connected", "conv2d"]
    assert graph.nodes[-1].outputs == ["y"]


def test_layout_neutral_reshape_as_graph_output_becomes_copy(tmp_path):
    nodes = [helper.make_node("GlobalMaxPool", ["x"], ["g"]), helper.make_node("Flatten", ["g"], ["y"], name="flat")]
    proto = model(nodes, [tensor("x", [1, 4, 3, 3])], [tensor("y", [1, 4])])
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["max_pool", "copy"]


def test_mlp_with_2d_input_and_softmax(tmp_path):
    nodes = [
        helper.make_node("Gemm", ["x", "G1", "B1"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "G2"], ["z"]),
        helper.make_node("Softmax", ["z"], ["y"], axis=1),
    ]
    proto = model(
        nodes,
        [tensor("x", ["N", 8])],
        [tensor("y", ["N", 3])],
        [const("G1", rand(6, 8)), const("B1", rand(6)), const("G2", rand(6, 3))],
    )
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["fully_connected", "fully_connected", "softmax"]


def test_folded_weight_subgraph_and_tied_weights(tmp_path):
    """A Transpose of an initializer is folded; two convs share a weight, one gets a BN."""
    nodes = [
        helper.make_node("Transpose", ["Wt"], ["W"], perm=[1, 0, 2, 3]),
        helper.make_node("Conv", ["x", "W"], ["a"], name="c1", pads=[1, 1, 1, 1]),
        _bn("bn", "a", "ab"),
        helper.make_node("Conv", ["ab", "W"], ["y"], name="c2", pads=[1, 1, 1, 1]),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 3, 4, 4])],
        [tensor("y", [1, 3, 4, 4])],
        [const("Wt", rand(3, 3, 3, 3))] + _bn_params("bn", 3),
    )
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["conv2d", "conv2d"]


def test_input_normalization_with_sub_and_div(tmp_path):
    nodes = [
        helper.make_node("Sub", ["x", "mean"], ["centered"], name="sub"),
        helper.make_node("Div", ["centered", "std"], ["scaled"], name="div"),
        helper.make_node("Conv", ["scaled", "W"], ["y"], name="conv"),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 3, 4, 4])],
        [tensor("y", [1, 2, 4, 4])],
        [const("mean", rand(1, 3, 1, 1)), const("std", np.abs(rand(3, 1, 1)) + 0.5), const("W", rand(2, 3, 1, 1))],
    )
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["add", "mul", "conv2d"]


def test_opset11_view_chain_needs_shape_folding(tmp_path):
    """At opset 11 ONNX data propagation leaves x.view(n, -1) symbolic; the loader folds it."""

    def constant(name, array):
        return helper.make_node("Constant", [], [name], value=const(name, array))

    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("Shape", ["c"], ["s"]),
        constant("zero", np.array(0, np.int64)),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n"], ["nu"], axes=[0]),
        constant("minus1", np.array([-1], np.int64)),
        helper.make_node("Concat", ["nu", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["c", "shape"], ["f"], name="view"),
        helper.make_node("Gemm", ["f", "G"], ["y"], name="fc", transB=1),
    ]
    proto = model(
        nodes,
        [tensor("x", ["batch", 2, 3, 3])],
        [tensor("y", ["batch", 4])],
        [const("W", rand(3, 2, 1, 1)), const("G", rand(4, 27))],
        opset=11,
    )
    graph = check_against_ort(save(proto, tmp_path))
    assert _ops(graph) == ["conv2d", "fully_connected"] and graph.nodes[1].fused == ["view"]
