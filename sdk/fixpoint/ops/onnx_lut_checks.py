"""Support checks of the ONNX ops computed by table, PRelu and Min / Max (rows in
fixpoint/ops/defs/lut.py); the shared helpers and conventions are those of
:mod:`fixpoint.ops.onnx_ops` (the docstring is the rule)."""

from __future__ import annotations

import numpy as np

from fixpoint.ir import Graph, Node
from fixpoint.ops.onnx_ops import _elementwise_check, _is_static, _rank, attr, const_data


def _lut_check(node: Node, graph: Graph) -> str | None:
    """Sigmoid / Tanh / HardSigmoid / HardSwish / Elu / Selu / Celu / Gelu / Softplus / Softsign / Mish /
    Exp / Log / Sqrt / Reciprocal / Abs / Neg / Erf: an activation of rank 2 to 5, computed by a table of
    its quantized values (Gelu approximate none or tanh, Celu alpha not 0)."""
    if _rank(graph, node.inputs[0]) not in (2, 3, 4, 5):
        return f"input of rank {_rank(graph, node.inputs[0])}"
    approximate = attr(node, "approximate", "none")
    approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
    if approximate not in ("none", "tanh"):
        return f"approximate '{approximate}'"
    if node.op == "Celu" and float(attr(node, "alpha", 1.0)) == 0.0:
        return "alpha 0"
    return None


def _prelu_check(node: Node, graph: Graph) -> str | None:
    """PRelu: an activation of rank 2 or 4 and a constant slope, one value or one per channel."""
    from fixpoint.normalize.lut_ops import per_channel_slope

    if _rank(graph, node.inputs[0]) not in (2, 4):
        return f"input of rank {_rank(graph, node.inputs[0])}"
    slope = const_data(graph, node.inputs[1]) if _is_static(graph, node.inputs[1]) else None
    if slope is None:
        return "the slope is not constant"
    if np.asarray(slope).size != 1:
        try:
            per_channel_slope(np.asarray(slope), graph.values[node.inputs[0]].shape)
        except ValueError as exc:
            return str(exc)
    return None


def _sub_check(node: Node, graph: Graph) -> str | None:
    """Sub: two activations (TFLite Sub), or an activation and a constant on either side that does not
    enlarge it (x - c becomes add of -c, c - x a negated add of c)."""
    if all(_is_static(graph, name) for name in node.inputs[:2]):
        return "both operands are constant"
    return _elementwise_check(node, graph)


def _minmax_check(node: Node, graph: Graph) -> str | None:
    """Min / Max: two operands, activations broadcasting like Add, or an activation and a constant of
    one value per channel or a scalar."""
    if len(node.inputs) != 2:
        return f"{len(node.inputs)} operands"
    if all(_is_static(graph, name) for name in node.inputs):
        return "both operands are constant"
    return _elementwise_check(node, graph)
