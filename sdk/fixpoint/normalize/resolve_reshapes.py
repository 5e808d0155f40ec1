"""Pass 7: resolve Flatten / Reshape / Squeeze / Unsqueeze for NHWC execution.

The integer program stores every activation NHWC, while ONNX reshapes are
defined on the NCHW element order. For each reshape (chains collapsed first):

* layout-neutral (the NHWC memory order of the elements is unchanged): the
  reshape disappears (consumers read its input) when the NHWC shape is the
  same or every consumer is a fully_connected (which reads its input flat);
  otherwise it becomes a ``copy`` node (also when its output is a graph output);
* an NCHW tensor flattened to [N, depth] feeding only fully_connected nodes:
  the FC weight columns are permuted from C-major (C, H, W) to HWC-major order
  so the FC reads the NHWC tensor directly, and the reshape disappears;
* anything else changes the element order: each 4-D side is transposed to (from) the stored
  order that equals its ONNX row-major order, which makes the reshape itself layout-neutral
  (transpose -> copy / alias -> transpose, see :func:`_reorder`). A rank-3 or rank-5 side is
  stored in its ONNX row-major order already (``fixpoint.iospec.row_major_layout``); other ranks
  are rejected, naming the node.
"""

from __future__ import annotations

import logging

import numpy as np

from fixpoint.frontend.errors import NormalizeError
from fixpoint.iospec import ROW_MAJOR_RANKS, row_major_stored
from fixpoint.ir import Graph, Node, Value
from fixpoint.normalize.graph_edit import (
    prune,
    remove_node,
    replace_uses,
    set_node_const,
    unique_name,
    unique_node_name,
)
from fixpoint.ops import registry

log = logging.getLogger(__name__)

RESHAPE_OPS = registry.onnx_types_normalized_by("resolve_reshapes")


def memory_order(shape: list[int]) -> np.ndarray | None:
    """ONNX (row-major) flat index stored at each NHWC memory position; None for an unsupported rank."""
    count = int(np.prod(shape))
    if len(shape) == 4:
        return np.arange(count).reshape(shape).transpose(0, 2, 3, 1).ravel()
    if len(shape) == 2 or len(shape) in ROW_MAJOR_RANKS:
        return np.arange(count)
    return None


def nhwc_shape(shape: list[int]) -> list[int] | None:
    if len(shape) == 4:
        return [shape[0], shape[2], shape[3], shape[1]]
    if len(shape) == 2:
        return [shape[0], 1, 1, shape[1]]
    if len(shape) in ROW_MAJOR_RANKS:
        return row_major_stored(shape)
    return None


def _collapse_chains(graph: Graph) -> None:
    """reshape(reshape(x)) == reshape(x): every reshape reads a non-reshape tensor."""
    for node in graph.nodes:
        if node.op in RESHAPE_OPS:
            producer = graph.producer(node.inputs[0])
            if producer is not None and producer.op in RESHAPE_OPS:
                node.fused.extend([*producer.fused, producer.name])
                node.inputs = [producer.inputs[0]]
            node.inputs = node.inputs[:1]  # shape / axes inputs: the output shape says it all


def _fc_consumers(graph: Graph, name: str) -> list[Node] | None:
    """The consumers of ``name`` if all are fully_connected reading it as x, else None."""
    consumers = graph.consumers(name)
    if name in graph.outputs or not consumers:
        return None
    if all(c.op == "fully_connected" and name not in c.inputs[1:] for c in consumers):
        return consumers
    return None


def _alias(graph: Graph, node: Node) -> None:
    """Remove ``node``; its consumers read its input. FCs record the absorbed reshape."""
    for consumer in graph.consumers(node.outputs[0]):
        if consumer.op == "fully_connected":
            consumer.fused.extend(n for n in [*node.fused, node.name] if n not in consumer.fused)
    replace_uses(graph, node.outputs[0], node.inputs[0])
    remove_node(graph, node)


def _permute_fc_weights(graph: Graph, node: Node, consumers: list[Node]) -> None:
    sample_shape = [1] + graph.values[node.inputs[0]].shape[1:]
    order = memory_order(sample_shape)  # column of the NHWC-read input -> ONNX column
    for fc in consumers:
        weight = graph.values[fc.inputs[1]].data
        set_node_const(graph, fc, 1, weight[:, order], f"{fc.name}.weight")
    _alias(graph, node)


def _resolve(graph: Graph, node: Node) -> None:
    src, dst = node.inputs[0], node.outputs[0]
    src_shape, dst_shape = graph.values[src].shape, graph.values[dst].shape
    src_order, dst_order = memory_order(src_shape), memory_order(dst_shape)
    for order, verb, name, shape in ((src_order, "reads", src, src_shape), (dst_order, "produces", dst, dst_shape)):
        if order is None:
            raise NormalizeError(
                f"{node.name} ({node.op}): {verb} rank-{len(shape)} tensor "
                f"'{name}' {shape}; only activations of rank 2 to 5 are supported"
            )
    fc_consumers = _fc_consumers(graph, dst)
    if np.array_equal(src_order, dst_order):
        same_shape = nhwc_shape(src_shape) == nhwc_shape(dst_shape)
        if dst not in graph.outputs and (same_shape or fc_consumers):
            _alias(graph, node)
        else:
            node.op, node.attrs = "copy", {}
        return
    flattening = len(dst_shape) == 2 and dst_shape[0] == src_shape[0]
    if flattening and fc_consumers:
        _permute_fc_weights(graph, node, fc_consumers)
        return
    _reorder(graph, node)


# A 4-D ONNX tensor t transposed by _TO_ROW_MAJOR is stored (NHWC) in t's ONNX row-major order;
# _FROM_ROW_MAJOR undoes it.
_TO_ROW_MAJOR = [0, 3, 1, 2]
_FROM_ROW_MAJOR = [0, 2, 3, 1]


def _add_transpose(graph: Graph, name: str, src: str, dst: str, perm: list[int]) -> Node:
    return Node(unique_node_name(graph, name), "transpose", [src], [dst], {"perm": perm})


def _reorder(graph: Graph, node: Node) -> None:
    """A reshape that changes the NHWC element order: transpose each 4-D side to the stored
    order that equals its ONNX row-major order (a 2-D side already is), so the reshape between
    them moves no element: transpose -> copy -> transpose."""
    src, dst = node.inputs[0], node.outputs[0]
    position = graph.nodes.index(node)
    if len(graph.values[src].shape) == 4:
        shape = [graph.values[src].shape[p] for p in _TO_ROW_MAJOR]
        staged = unique_name(graph, f"{src}.row_major")
        graph.values[staged] = Value(staged, shape)
        graph.nodes.insert(position, _add_transpose(graph, f"{node.name}.to_row_major", src, staged, _TO_ROW_MAJOR))
        position += 1
        node.inputs = [staged]
    if len(graph.values[dst].shape) == 4:
        shape = [graph.values[dst].shape[p] for p in _TO_ROW_MAJOR]
        staged = unique_name(graph, f"{dst}.row_major")
        graph.values[staged] = Value(staged, shape)
        node.outputs = [staged]
        graph.nodes.insert(
            position + 1, _add_transpose(graph, f"{node.name}.from_row_major", staged, dst, _FROM_ROW_MAJOR)
        )
    # Both sides now hold the elements in the ONNX row-major order of src (= that of dst) in
    # memory: the reshape between them is a byte copy of the stored tensors (not an ONNX
    # Reshape of the staged tensors, whose ONNX order differs).
    log.debug("%s (%s): reorders NHWC elements, staged through transposes", node.name, node.op)
    node.op, node.attrs = "copy", {}


def run(graph: Graph) -> Graph:
    _collapse_chains(graph)
    prune(graph)
    for node in [n for n in graph.nodes if n.op in RESHAPE_OPS]:
        onnx_op = node.op
        _resolve(graph, node)
        log.debug("%s (%s): resolved as %s", node.name, onnx_op, "copy" if node.op == "copy" else "alias")
    return prune(graph)
