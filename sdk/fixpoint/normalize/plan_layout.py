"""Pass 8 (last): move everything to the runtime's NHWC layouts.

Node attributes and constants are rewritten first, while every Value still
has its ONNX shape (axes are mapped using the rank of the node's *output*,
which earlier passes never alias away); then every activation Value becomes
4-D NHWC with ``source_layout`` recording the ONNX layout of that name. A rank-3 or rank-5
activation keeps its ONNX row-major element order (NHWC [N, 1, 1, size], layout ``ND:...``):
only ops that do not care where an element sits (elementwise, copy) take it, and their
constants are expanded to the same order.
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from fixpoint.frontend.errors import NormalizeError
from fixpoint.iospec import ROW_MAJOR_RANKS, row_major_layout, row_major_stored
from fixpoint.ir import Graph, Node
from fixpoint.normalize.graph_edit import set_node_const
from fixpoint.normalize.resolve_reshapes import nhwc_shape
from fixpoint.ops import registry

log = logging.getLogger(__name__)

# ONNX axis -> NHWC axis, by ONNX rank.
_AXIS_MAP = {4: {0: 0, 1: 3, 2: 1, 3: 2}, 2: {0: 0, 1: 3}}
_SOURCE_LAYOUT = {4: "NCHW", 2: "NC"}


def _out_rank(graph: Graph, node: Node) -> int:
    return len(graph.values[node.outputs[0]].shape)


def to_nhwc_data(data: np.ndarray, rank: int) -> np.ndarray:
    """A constant broadcast operand, ONNX-aligned to ``rank``, as a 4-D NHWC array."""
    data = data.reshape([1] * (rank - data.ndim) + list(data.shape))
    if rank == 4:
        return data.transpose(0, 2, 3, 1)
    return data.reshape(data.shape[0], 1, 1, data.shape[1])


def _row_major_operand(graph: Graph, node: Node) -> None:
    """A constant operand of an elementwise op on a row-major tensor: one value stays [1, 1, 1, 1],
    anything else is broadcast to the whole sample and stored in the same row-major order."""
    operand = graph.values[node.inputs[1]]
    if not operand.is_const:
        return
    data = operand.data.astype(np.float32)
    if data.size == 1:
        data = data.reshape(1, 1, 1, 1)
    else:
        sample = [1, *graph.values[node.outputs[0]].shape[1:]]
        data = np.broadcast_to(data, sample).reshape(row_major_stored(sample))
    set_node_const(graph, node, 1, np.ascontiguousarray(data), f"{node.name}.operand")


def _rewrite_row_major(graph: Graph, node: Node) -> None:
    rewrite = _REWRITES.get(node.op)
    if rewrite is _elementwise:
        _row_major_operand(graph, node)
    elif rewrite is not None:
        shape = graph.values[node.outputs[0]].shape
        raise NormalizeError(
            f"{node.name} ({node.op}): produces rank-{len(shape)} tensor '{node.outputs[0]}' "
            f"{shape}, stored row-major; this op needs a 2-D or 4-D tensor"
        )


def _conv2d(graph: Graph, node: Node) -> None:
    weight = graph.values[node.inputs[1]].data  # OIHW
    set_node_const(graph, node, 1, weight.transpose(0, 2, 3, 1), f"{node.name}.weight")


def _depthwise(graph: Graph, node: Node) -> None:
    weight = graph.values[node.inputs[1]].data  # [C_out, 1, KH, KW]
    set_node_const(graph, node, 1, weight.transpose(1, 2, 3, 0), f"{node.name}.weight")


def _elementwise(graph: Graph, node: Node) -> None:
    operand = graph.values[node.inputs[1]]
    if operand.is_const:
        data = to_nhwc_data(operand.data.astype(np.float32), _out_rank(graph, node))
        set_node_const(graph, node, 1, data, f"{node.name}.operand")


def _concat(graph: Graph, node: Node) -> None:
    node.attrs["axis"] = _AXIS_MAP[_out_rank(graph, node)][int(node.attrs["axis"])]


def _softmax(graph: Graph, node: Node) -> None:
    """ONNX axes -> the consecutive NHWC axes holding the same elements (softmax does not depend on
    their order, so C, H, W flattened before opset 13 is NHWC H, W, C)."""
    axis_map = _AXIS_MAP[_out_rank(graph, node)]
    axes = sorted(axis_map[int(a)] for a in node.attrs["axis"])
    if axes != list(range(axes[0], axes[-1] + 1)):
        raise NormalizeError(f"{node.name} (softmax): ONNX axes {node.attrs['axis']} are not consecutive in NHWC")
    node.attrs["axis"] = axes


def _pad(graph: Graph, node: Node) -> None:
    axis_map = _AXIS_MAP[_out_rank(graph, node)]
    for key in ("pads_before", "pads_after"):
        nhwc = [0, 0, 0, 0]
        for onnx_axis, amount in enumerate(node.attrs[key]):
            nhwc[axis_map[onnx_axis]] = int(amount)
        node.attrs[key] = nhwc


def _stored_axes(rank: int) -> list[int | None]:
    """The ONNX axis held at each stored (N, H, W, C) position; None for a size-1 filler dim."""
    stored: list[int | None] = [None] * 4
    for onnx_axis, position in _AXIS_MAP[rank].items():
        stored[position] = onnx_axis
    return stored


def _transpose(graph: Graph, node: Node) -> None:
    """ONNX perm over NCHW axes -> perm over the stored dims: the output's stored dim i is the
    output's ONNX axis o, which is the input's ONNX axis perm[o], stored at _AXIS_MAP[perm[o]]."""
    rank = _out_rank(graph, node)
    perm = [int(p) for p in node.attrs["perm"]]
    node.attrs["perm"] = [i if o is None else _AXIS_MAP[rank][perm[o]] for i, o in enumerate(_stored_axes(rank))]


def _slice(graph: Graph, node: Node) -> None:
    rank = _out_rank(graph, node)
    begin, stride = [0, 0, 0, 0], [1, 1, 1, 1]
    for onnx_axis, position in _AXIS_MAP[rank].items():
        begin[position] = int(node.attrs["begin"][onnx_axis])
        stride[position] = int(node.attrs["stride"][onnx_axis])
    node.attrs["begin"], node.attrs["stride"] = begin, stride


# runtime op key -> attribute / constant rewrite, from the registry rows' layout_rewrite.
_REWRITES: dict[str, Callable[[Graph, Node], None]] = registry.runtime_refs("layout_rewrite")


def _convert_activation(graph: Graph, name: str) -> None:
    value = graph.values[name]
    rank = len(value.shape)
    if rank in ROW_MAJOR_RANKS:
        value.source_layout = row_major_layout(value.shape)
        value.shape = row_major_stored(value.shape)
        return
    if rank not in _SOURCE_LAYOUT:
        producer = graph.producer(name)
        where = f" (output of {producer.name} ({producer.op}))" if producer else " (graph input)"
        raise NormalizeError(
            f"tensor '{name}'{where} has rank {rank} {value.shape}; only activations of rank 2 to 5 are supported"
        )
    value.shape = nhwc_shape(value.shape)
    # "NCL": a rank-3 tensor lifted to (N, C, 1, L) at the front door (fixpoint.frontend.lift_1d)
    value.source_layout = value.source_layout or _SOURCE_LAYOUT[rank]


def run(graph: Graph) -> Graph:
    for node in graph.nodes:
        rank = _out_rank(graph, node)
        if rank in ROW_MAJOR_RANKS:
            _rewrite_row_major(graph, node)
            continue
        if rank not in _SOURCE_LAYOUT:
            continue  # reported with the tensor name by _convert_activation
        rewrite = _REWRITES.get(node.op)
        if rewrite is not None:
            rewrite(graph, node)
    for name in graph.activation_names():
        _convert_activation(graph, name)
    graph.stage = "normalized"
    log.debug("layout planned: %d nodes", len(graph.nodes))
    return graph
