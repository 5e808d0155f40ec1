"""Rank-3 (N, C, L) models as rank-4 (N, C, 1, L) ones, at the front door.

Conv1d, 1-D pools, depthwise Conv1d, BatchNorm, Softmax, Reduce... on (N, C, L) tensors are the
2-D ops on (N, C, 1, L): when every node touching a rank-3 activation has a ``lift_1d`` function
in its ONNX row (fixpoint/ops/defs/), each rank-3 activation gets the shape [N, C, 1, L] and
``source_layout`` "NCL" (NHWC [N, 1, L, C] after plan_layout; users keep seeing (N, C, L)), and
each such node's attributes and constants are rewritten to their 2-D form by its row's function.
Otherwise nothing changes and the support checks name the node that cannot take rank 3.
"""

from __future__ import annotations

import logging

import numpy as np

from fixpoint.ir import Graph, Node
from fixpoint.normalize.graph_edit import set_node_const
from fixpoint.ops.registry import ONNX_ROWS, resolve

log = logging.getLogger(__name__)

LAYOUT = "NCL"
_AXIS = {0: 0, 1: 1, 2: 3}  # rank-3 axis -> rank-4 axis of (N, C, 1, L)


def _lifted_axis(axis: int) -> int:
    return _AXIS[int(axis) % 3]


def run(graph: Graph) -> Graph:
    """Lift every rank-3 activation of ``graph`` (an ONNX-stage graph) when all its users can."""
    rank3 = {name for name in graph.activation_names() if len(graph.values[name].shape) == 3}
    if not rank3:
        return graph
    touching = [node for node in graph.nodes if rank3 & {*node.inputs, *node.outputs}]
    blocked = [node for node in touching if not getattr(ONNX_ROWS.get(node.op), "lift_1d", None)]
    if blocked:
        log.debug("rank-3 tensors not lifted: %s (%s) takes no rank-3 tensor", blocked[0].name, blocked[0].op)
        return graph
    for name in rank3:
        value = graph.values[name]
        n, c, length = value.shape
        value.shape, value.source_layout = [n, c, 1, length], LAYOUT
    for node in touching:
        resolve(ONNX_ROWS[node.op].lift_1d)(graph, node)
    log.debug("lifted %d rank-3 tensors to (N, C, 1, L)", len(rank3))
    return graph


# ---- the rows' lift functions -----------------------------------------------


def lift_none(graph: Graph, node: Node) -> None:
    """Nothing axis-dependent: elementwise on each value, per-channel parameters, or reshapes
    (resolved later from the tensor shapes)."""


def lift_window(graph: Graph, node: Node) -> None:
    """Conv / pools: one more spatial axis of extent 1 in front (kernel 1, stride 1, no padding),
    and a rank-3 weight [O, I, K] becomes [O, I, 1, K]."""
    for name in ("kernel_shape", "strides", "dilations", "output_padding"):
        if name in node.attrs:
            node.attrs[name] = [1 if name != "output_padding" else 0, *node.attrs[name]]
    if "pads" in node.attrs:
        begin, end = node.attrs["pads"]
        node.attrs["pads"] = [0, begin, 0, end]
    if len(node.inputs) > 1 and node.inputs[1]:
        weight = graph.values[node.inputs[1]]
        if weight.is_const and weight.data.ndim == 3:
            set_node_const(graph, node, 1, weight.data[:, :, None, :], f"{node.name}.weight_2d")


def lift_axis(graph: Graph, node: Node) -> None:
    """Concat / Flatten: the ``axis`` attribute (Flatten's default 1 made explicit)."""
    node.attrs["axis"] = _lifted_axis(node.attrs.get("axis", 1))


def lift_softmax_axis(graph: Graph, node: Node) -> None:
    """Softmax: the ``axis`` attribute, whose default depends on the opset (-1 from 13, else 1)."""
    node.attrs["axis"] = _lifted_axis(node.attrs.get("axis", -1 if graph.opset >= 13 else 1))


def lift_axes(graph: Graph, node: Node) -> None:
    """Reduce*: the axes attribute or constant axes input."""
    if len(node.inputs) > 1 and node.inputs[1] and graph.values[node.inputs[1]].is_const:
        axes = graph.values[node.inputs[1]].data.ravel()
        set_node_const(graph, node, 1, np.asarray([_lifted_axis(a) for a in axes], np.int64), f"{node.name}.axes_2d")
    elif node.attrs.get("axes"):
        node.attrs["axes"] = [_lifted_axis(a) for a in node.attrs["axes"]]


def lift_broadcast(graph: Graph, node: Node) -> None:
    """Add / Mul / Sub / Div: a constant operand broadcasting against (N, C, L) gets the extra axis
    (right-aligned to rank 3, then [a, b, 1, c])."""
    for index, name in enumerate(node.inputs):
        value = graph.values.get(name)
        if value is not None and value.is_const and value.data.ndim >= 1:
            data = value.data.reshape([1] * (3 - value.data.ndim) + list(value.data.shape))
            set_node_const(graph, node, index, data[:, :, None, :], f"{node.name}.operand_2d")


def lift_transpose(graph: Graph, node: Node) -> None:
    """Transpose: a rank-3 ``perm`` gains the extent-1 axis in place (every rank-3 tensor is
    [a, b, 1, c], so [p0, p1, p2] becomes [p0, p1, 2, p2] in lifted axes)."""
    perm = node.attrs.get("perm", [2, 1, 0])
    node.attrs["perm"] = [_lifted_axis(perm[0]), _lifted_axis(perm[1]), 2, _lifted_axis(perm[2])]
