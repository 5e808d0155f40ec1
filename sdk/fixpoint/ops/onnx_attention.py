"""Support checks of the attention ONNX ops (registry rows in fixpoint/ops/defs/attention.py)."""

from __future__ import annotations

from fixpoint.ir import Graph, Node
from fixpoint.ops import onnx_ops as _onnx_ops
from fixpoint.ops.onnx_ops import _is_static, attr, const_data

__all__ = ["_layer_norm_check", "_matmul_check", "matmul_of_activations_problem"]


def _matmul_check(node: Node, graph: Graph) -> str | None:
    """MatMul: an activation times a constant 2-D matrix (rank 2, or rank 3 [N, T, C] with one row per
    step: fully connected, rank 4: a batch_matmul over the rows), or two activations of rank 2 to 4
    (batch dims broadcast)."""
    if _is_static(graph, node.inputs[0]):
        return "the first input is a constant"
    if _is_static(graph, node.inputs[1]):
        if len(graph.values[node.inputs[0]].shape) in (2, 3):
            return _onnx_ops._matmul_check(node, graph)
        if const_data(graph, node.inputs[1]) is None or len(graph.values[node.inputs[1]].shape) != 2:
            return "a constant second input of a rank-4 first input must be a 2-D initializer"
    return matmul_of_activations_problem(node, graph)


def _layer_norm_check(node: Node, graph: Graph) -> str | None:
    """LayerNormalization: over the last axis only, constant scale (and bias), one output used."""
    x = graph.values[node.inputs[0]]
    rank = len(x.shape)
    axis = int(attr(node, "axis", -1))
    if axis % max(rank, 1) != rank - 1:
        return f"axis {axis} is not the last axis of a rank-{rank} tensor"
    if not _is_static(graph, node.inputs[1]):
        return "scale is not constant"
    if len(node.inputs) > 2 and node.inputs[2] and not _is_static(graph, node.inputs[2]):
        return "bias is not constant"
    if any(name and graph.consumers(name) for name in node.outputs[1:]):
        return "Mean / InvStdDev outputs are used"
    return None


def matmul_of_activations_problem(node: Node, graph: Graph) -> str | None:
    """Why a MatMul of two activations cannot become batch_matmul (None: it can)."""
    a, b = (
        list(node.attrs.get(key) or graph.values[name].shape)
        for key, name in (("a_shape", node.inputs[0]), ("b_shape", node.inputs[1]))
    )
    if not (2 <= len(a) <= 4 and 2 <= len(b) <= 4):
        return f"operand ranks {len(a)} and {len(b)} (batch_matmul takes 2 to 4)"
    if a[-1] != b[-2]:
        return f"shapes {a} and {b} do not match"
    for da, db in zip(([1, 1] + list(a[:-2]))[-2:], ([1, 1] + list(b[:-2]))[-2:]):
        if da != db and 1 not in (da, db):
            return f"batch dims of {a} and {b} do not broadcast"
    return None
