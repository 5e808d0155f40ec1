"""Pass 3 (canonicalize) converters of the data-movement ONNX ops: Transpose -> ``transpose``,
Slice -> ``slice``, Split -> one ``slice`` per output. Axes stay ONNX (NCHW) here;
``plan_layout`` maps ``perm`` / ``begin`` / ``stride`` to the stored NHWC dims."""
from __future__ import annotations

from fixpoint.ir import Graph, Node
from fixpoint.ops.onnx_movement import slice_arguments, split_sizes


def _transpose(graph: Graph, node: Node) -> None:
    rank = len(graph.values[node.inputs[0]].shape)
    perm = node.attrs.get("perm", list(range(rank))[::-1])
    node.op, node.inputs = "transpose", node.inputs[:1]
    node.attrs = {"perm": [int(p) % rank for p in perm]}


def full_slice(shape: list[int], starts: list[int], ends: list[int], axes: list[int],
               steps: list[int]) -> tuple[list[int], list[int], list[int]]:
    """(begin, stride, length) per axis of an ONNX Slice, clamped as ONNX (and numpy) clamp."""
    begin, stride, length = [0] * len(shape), [1] * len(shape), list(shape)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        first, stop, step = slice(start, end, step).indices(shape[axis])
        begin[axis], stride[axis] = first, step
        length[axis] = len(range(first, stop, step))
    return begin, stride, length


def _slice(graph: Graph, node: Node) -> None:
    args = slice_arguments(graph, node)
    assert args is not None, "checked by _slice_check"
    begin, stride, _ = full_slice(graph.values[node.inputs[0]].shape, *args)
    node.op, node.inputs = "slice", node.inputs[:1]
    node.attrs = {"begin": begin, "stride": stride}


def _split(graph: Graph, node: Node) -> None:
    shape = graph.values[node.inputs[0]].shape
    axis = int(node.attrs.get("axis", 0)) % len(shape)
    sizes = split_sizes(graph, node)
    assert sizes is not None, "checked by _split_check"
    outputs, offset = list(node.outputs), 0
    position = graph.nodes.index(node)
    node.inputs = node.inputs[:1]
    for i, (name, size) in enumerate(zip(outputs, sizes)):
        begin = [0] * len(shape)
        begin[axis] = offset
        offset += size
        attrs = {"begin": begin, "stride": [1] * len(shape)}
        if i == 0:
            node.op, node.outputs, node.attrs = "slice", [name], attrs
            continue
        graph.nodes.insert(position + i, Node(f"{node.name}.{i}", "slice", [node.inputs[0]], [name], attrs))
