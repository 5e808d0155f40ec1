"""Normalized IR structure: the docs/normalized-ir.md contract, invariants and rejections."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from onnx import helper

from builders import const, model, rand, save, tensor
from fixpoint.frontend import NormalizeError, load_model
from fixpoint.normalize import InvariantError, check_invariants, normalize
from fixpoint.normalize.float_exec import run_normalized
from fixpoint.normalize.fuse_activation import act_attrs, compose
from fixpoint.normalize.invariants import NORMALIZED_ATTRS
from fixpoint.ops.runtime_ops import RUNTIME_OPS


def _small_cnn(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv", pads=[0, 1, 2, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "G"], ["y"], name="fc", transB=1),
    ]
    proto = model(
        nodes,
        [tensor("x", ["batch", 3, 6, 6])],
        [tensor("y", ["batch", 2])],
        [const("W", rand(4, 3, 3, 3)), const("G", rand(2, 4 * 3 * 3))],
    )
    return load_model(save(proto, tmp_path))


def test_normalized_graph_follows_the_contract(tmp_path):
    loaded = _small_cnn(tmp_path)
    graph = normalize(loaded)
    check_invariants(graph, final=True)
    assert graph.stage == "normalized" and graph.opset == loaded.opset
    assert graph.source_sha256 == loaded.source_sha256 and graph.inputs == ["x"] and graph.outputs == ["y"]
    x, r, y = graph.values["x"], graph.values["r"], graph.values["y"]
    assert (x.shape, x.source_layout) == ([1, 6, 6, 3], "NCHW")
    assert (r.shape, r.source_layout) == ([1, 3, 3, 4], "NCHW")
    assert (y.shape, y.source_layout) == ([1, 1, 1, 2], "NC")
    conv, fc = graph.nodes
    assert conv.name == "conv" and conv.fused == ["relu"] and conv.outputs == ["r"]
    assert conv.attrs == {
        "strides": [2, 2],
        "dilations": [1, 1],
        "pads": [0, 1, 2, 1],
        "groups": 1,
        "act": "relu",
        "act_range": [0.0, math.inf],
    }
    assert fc.inputs[0] == "r" and fc.fused == ["flat"]
    assert graph.values[fc.inputs[1]].shape == [2, 36] and graph.values[fc.inputs[2]].shape == [2]
    assert all(v.data.dtype == np.float32 for v in graph.values.values() if v.is_const)


def test_normalize_leaves_the_loaded_graph_alone(tmp_path):
    loaded = _small_cnn(tmp_path)
    before = copy.deepcopy(loaded)
    normalize(loaded)
    assert [n.op for n in loaded.nodes] == [n.op for n in before.nodes]
    assert np.array_equal(loaded.values["W"].data, before.values["W"].data)
    with pytest.raises(ValueError, match="ONNX-stage"):
        normalize(normalize(loaded))


def test_every_runtime_op_except_requantize_has_documented_attrs():
    assert set(NORMALIZED_ATTRS) == set(RUNTIME_OPS) - {"requantize"}


def test_invariants_catch_broken_graphs(tmp_path):
    graph = normalize(_small_cnn(tmp_path))
    broken = copy.deepcopy(graph)
    broken.nodes.reverse()
    with pytest.raises(InvariantError, match="not defined before use"):
        check_invariants(broken)
    broken = copy.deepcopy(graph)
    broken.nodes[0].op = "Conv"
    with pytest.raises(InvariantError, match="not a runtime op"):
        check_invariants(broken, final=True)
    broken = copy.deepcopy(graph)
    broken.values["x"].shape = [1, 3, 6, 6, 1]
    with pytest.raises(InvariantError, match="activation 'x'"):
        check_invariants(broken, final=True)
    broken = copy.deepcopy(graph)
    broken.values["orphan"] = copy.deepcopy(graph.values["y"])
    with pytest.raises(InvariantError, match="dangling value 'orphan'"):
        check_invariants(broken)


def test_reordering_reshape_is_staged_through_transposes(tmp_path):
    """A flatten that reorders NHWC elements (not into a fully connected layer) runs as
    transpose -> copy; tests/lower/test_lower_movement.py checks the values."""
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("Flatten", ["c"], ["f"], name="flatten_then_relu"),
        helper.make_node("Relu", ["f"], ["y"], name="relu"),
    ]
    proto = model(nodes, [tensor("x", [1, 2, 3, 3])], [tensor("y", [1, 18])], [const("W", rand(2, 2, 1, 1))])
    graph = normalize(load_model(save(proto, tmp_path)))
    assert [n.op for n in graph.nodes][:3] == ["conv2d", "transpose", "copy"]


def test_rank6_activation_is_rejected_with_the_tensor_name(tmp_path):
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"], name="to6d"),
        helper.make_node("Relu", ["r"], ["y"], name="relu"),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 12])],
        [tensor("y", [1, 3, 2, 1, 2, 1])],
        [const("shape", np.array([1, 3, 2, 1, 2, 1], np.int64))],
    )
    with pytest.raises(NormalizeError, match=r"to6d \(Reshape\): produces rank-6 tensor 'r' \[1, 3, 2, 1, 2, 1\]"):
        normalize(load_model(save(proto, tmp_path)))


def test_rank5_activation_is_stored_row_major(tmp_path):
    """[N, 12] -> [N, 3, 2, 1, 2] keeps the row-major order: layout ND:3x2x1x2, NHWC [N, 1, 1, 12]."""
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"], name="to5d"),
        helper.make_node("Relu", ["r"], ["y"], name="relu"),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 12])],
        [tensor("y", [1, 3, 2, 1, 2])],
        [const("shape", np.array([1, 3, 2, 1, 2], np.int64))],
    )
    graph = normalize(load_model(save(proto, tmp_path)))
    assert graph.values["y"].source_layout == "ND:3x2x1x2" and graph.values["y"].shape == [1, 1, 1, 12]
    x = np.arange(-6, 6, dtype=np.float32).reshape(1, 12)
    y = run_normalized(graph, {"x": x})["y"]
    assert np.array_equal(y, np.maximum(x.reshape(1, 3, 2, 1, 2), 0))


def test_rank3_reshape_that_reorders_elements_becomes_transposes(tmp_path):
    """[N, 12] -> (N, C, L) is lifted to (N, C, 1, L), stored L-major: the reshape reorders, so it
    becomes transpose -> copy -> transpose and still computes ONNX's row-major reshape."""
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"], name="to3d"),
        helper.make_node("Relu", ["r"], ["y"], name="relu"),
    ]
    proto = model(
        nodes, [tensor("x", [1, 12])], [tensor("y", [1, 3, 4])], [const("shape", np.array([1, 3, 4], np.int64))]
    )
    graph = normalize(load_model(save(proto, tmp_path)))
    assert "transpose" in [node.op for node in graph.nodes]
    x = np.arange(-6, 6, dtype=np.float32).reshape(1, 12)
    y = run_normalized(graph, {"x": x})["y"]  # ONNX layout
    assert np.array_equal(y.reshape(1, 3, 4), np.maximum(x.reshape(1, 3, 4), 0))


def test_batchnorm_after_shared_conv_output_is_rejected_at_load(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["bn"], name="bn"),
        helper.make_node("Add", ["bn", "c"], ["y"], name="add"),
    ]
    inits = [const("W", rand(2, 2, 1, 1))] + [const(k, np.ones(2, np.float32)) for k in "sbmv"]
    proto = model(nodes, [tensor("x", [1, 2, 3, 3])], [tensor("y", [1, 2, 3, 3])], inits)
    with pytest.raises(Exception, match=r"bn \(BatchNormalization\): output of conv has other consumers"):
        load_model(save(proto, tmp_path))


def test_relu_on_shared_output_is_not_fused(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Add", ["r", "c"], ["y"], name="add"),
    ]
    proto = model(nodes, [tensor("x", [1, 2, 3, 3])], [tensor("y", [1, 2, 3, 3])], [const("W", rand(2, 2, 1, 1))])
    graph = normalize(load_model(save(proto, tmp_path)))
    assert [n.op for n in graph.nodes] == ["conv2d", "leaky_relu", "add"]
    assert graph.nodes[0].attrs["act"] == "none" and graph.nodes[1].outputs == ["r"]


@pytest.mark.parametrize(
    "first, then, expected",
    [
        (None, [0.0, math.inf], [0.0, math.inf]),
        ([0.0, math.inf], [-math.inf, 6.0], [0.0, 6.0]),
        ([0.0, 6.0], [1.0, 2.0], [1.0, 2.0]),
        ([0.0, 1.0], [2.0, 3.0], [2.0, 2.0]),  # disjoint: the result is the constant 2
    ],
)
def test_clamp_composition(first, then, expected):
    assert compose(first, then) == expected
    x = np.linspace(-10, 10, 201)
    direct = np.clip(np.clip(x, *(first or [-np.inf, np.inf])), *then)
    assert np.array_equal(direct, np.clip(x, *expected))


def test_act_attrs_forms():
    assert act_attrs(-math.inf, math.inf) == {"act": "none", "act_range": None}
    assert act_attrs(0.0, math.inf) == {"act": "relu", "act_range": [0.0, math.inf]}
    assert act_attrs(0.0, 6.0) == {"act": "clip", "act_range": [0.0, 6.0]}
