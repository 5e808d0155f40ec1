"""Pass 3 (canonicalize) converters of the data-movement ONNX ops: Transpose -> ``transpose``,
Slice -> ``slice``, Split -> one ``slice`` per output, Resize -> ``resize``, Gather (constant
indices) -> slices (+ concat, + a reshape dropping the axis of a scalar index). Axes stay ONNX (NCHW) here;
``plan_layout`` maps ``perm`` / ``begin`` / ``stride`` to the stored NHWC dims."""

from __future__ import annotations

from fractions import Fraction
from math import gcd

import numpy as np

from fixpoint.ir import Graph, Node, Value
from fixpoint.normalize.graph_edit import set_node_const, unique_name, unique_node_name
from fixpoint.iospec import ROW_MAJOR_RANKS
from fixpoint.ops.onnx_movement import (
    MAX_RESIZE_DIM,
    gather_indices,
    index_runs,
    reduced_transpose,
    resize_arguments,
    slice_arguments,
    split_sizes,
)

# Stored (NHWC) position i of a 4-D tensor holds ONNX axis _STORED_AXES[i].
_STORED_AXES = [0, 2, 3, 1]


def _transpose(graph: Graph, node: Node) -> None:
    shape = graph.values[node.inputs[0]].shape
    rank = len(shape)
    perm = [int(p) % rank for p in node.attrs.get("perm", list(range(rank))[::-1])]
    node.op, node.inputs = "transpose", node.inputs[:1]
    node.attrs = {"perm": perm}
    if rank in ROW_MAJOR_RANKS:
        _row_major_transpose(graph, node, shape, perm)


def _row_major_transpose(graph: Graph, node: Node, shape: list[int], perm: list[int]) -> None:
    """A transpose of a row-major (rank-3 / rank-5) tensor as copy -> 4-D transpose -> copy.

    The axes that move form at most 4 groups (``reduced_transpose``: dims [a, b, c, d], perm q).
    The first copy views the row-major bytes as a 4-D tensor whose *stored* (NHWC) dims are
    [a, b, c, d] (ONNX shape [a, d, b, c]); the transpose gets the ONNX perm that plan_layout maps
    to the stored perm q; the last copy views the result as the row-major output again."""
    reduced = reduced_transpose(shape, perm)
    assert reduced is not None, "checked by _transpose_check"
    dims, q = reduced
    src, dst = node.inputs[0], node.outputs[0]
    onnx_in = [dims[_STORED_AXES.index(axis)] for axis in range(4)]
    onnx_perm = [0] * 4
    for i in range(4):
        onnx_perm[_STORED_AXES[i]] = _STORED_AXES[q[i]]
    onnx_out = [onnx_in[p] for p in onnx_perm]
    staged_in = _new_value(graph, f"{src}.grouped", onnx_in)
    staged_out = _new_value(graph, f"{dst}.grouped", onnx_out)
    position = graph.nodes.index(node)
    graph.nodes.insert(position, Node(unique_node_name(graph, f"{node.name}.group"), "copy", [src], [staged_in]))
    node.inputs, node.outputs, node.attrs = [staged_in], [staged_out], {"perm": onnx_perm}
    graph.nodes.insert(position + 2, Node(unique_node_name(graph, f"{node.name}.ungroup"), "copy", [staged_out], [dst]))


def full_slice(
    shape: list[int], starts: list[int], ends: list[int], axes: list[int], steps: list[int]
) -> tuple[list[int], list[int], list[int]]:
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
    if len(begin) in ROW_MAJOR_RANKS:
        _row_major_slice(graph, node)


def _row_major_slice(graph: Graph, node: Node) -> None:
    """A slice of a row-major (rank-3 / rank-5) tensor along one axis a: a copy views its bytes
    as a 4-D tensor of stored dims [N, outer, L, inner] (outer / inner: the product of the axes
    before / after a), the slice runs on stored dim 2 (ONNX axis 3), and a copy views the result
    as the row-major output. Nothing cut: a copy."""
    src, dst = node.inputs[0], node.outputs[0]
    shape, out_shape = list(graph.values[src].shape), list(graph.values[dst].shape)
    begin, stride = node.attrs["begin"], node.attrs["stride"]
    cut = [a for a in range(len(shape)) if begin[a] != 0 or stride[a] != 1 or out_shape[a] != shape[a]]
    assert len(cut) <= 1 and 0 not in cut, "checked by the Slice / Split support check"
    if not cut:
        node.op, node.attrs = "copy", {}
        return
    axis = cut[0]
    outer, inner = int(np.prod(shape[1:axis])), int(np.prod(shape[axis + 1 :]))
    grouped = _new_value(graph, f"{src}.grouped", [shape[0], inner, outer, shape[axis]])
    sliced = _new_value(graph, f"{dst}.grouped", [shape[0], inner, outer, out_shape[axis]])
    position = graph.nodes.index(node)
    graph.nodes.insert(position, Node(unique_node_name(graph, f"{node.name}.group"), "copy", [src], [grouped]))
    graph.nodes.insert(position + 2, Node(unique_node_name(graph, f"{node.name}.ungroup"), "copy", [sliced], [dst]))
    node.inputs, node.outputs = [grouped], [sliced]
    node.attrs = {"begin": [0, 0, 0, begin[axis]], "stride": [1, 1, 1, stride[axis]]}


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
    if len(shape) in ROW_MAJOR_RANKS:
        for part in [n for n in graph.nodes if n.op == "slice" and n.outputs[0] in outputs]:
            _row_major_slice(graph, part)


def _ratio(in_size: int, out_size: int, scale: float | None, coord: str) -> tuple[int, int]:
    """Input per output length as (num, den): align_corners (in-1)/(out-1); a scale factor that
    does not give out exactly is kept as the closest fraction (ONNX maps x to x / scale)."""
    if coord == "align_corners":
        return (in_size - 1, out_size - 1) if out_size > 1 else (in_size, out_size)
    if scale is not None and float(in_size) * scale != float(out_size):
        exact = Fraction(scale).limit_denominator(MAX_RESIZE_DIM)
        return exact.denominator, exact.numerator
    common = gcd(in_size, out_size)
    return in_size // common, out_size // common


def _resize(graph: Graph, node: Node) -> None:
    args = resize_arguments(graph, node)
    assert args is not None, "checked by _resize_check"
    in_hw, out_hw = graph.values[node.inputs[0]].shape[2:], graph.values[node.outputs[0]].shape[2:]
    coord, scales = args["coord"], args["scales"]
    ratios = [
        _ratio(i, o, None if scales is None else float(scales[2 + k]), coord)
        for k, (i, o) in enumerate(zip(in_hw, out_hw))
    ]
    if coord == "pytorch_half_pixel":
        # PyTorch maps a length-1 output to coordinate 0: half_pixel with ratio 0 gives -1/2, which
        # every nearest rounding and the bilinear taps clamp to pixel 0.
        ratios = [(0, 1) if o == 1 else r for r, o in zip(ratios, out_hw)]
        coord = "half_pixel"
    node.op, node.inputs = "resize", node.inputs[:1]
    node.attrs = {
        "method": "nearest" if args["mode"] == "nearest" else "bilinear",
        "coord": coord,
        "nearest_mode": args["nearest"] if args["mode"] == "nearest" else "round_prefer_floor",
        "ratio_num": [num for num, _ in ratios],
        "ratio_den": [den for _, den in ratios],
    }


def _new_value(graph: Graph, hint: str, shape: list[int]) -> str:
    name = unique_name(graph, hint)
    graph.values[name] = Value(name, shape)
    return name


def _group_for_gather(graph: Graph, node: Node) -> None:
    """A Gather on a row-major (rank-3 / rank-5) tensor along axis a: a copy views its bytes as a
    4-D tensor of stored dims [N, outer, L, inner] (outer / inner: the product of the axes before /
    after a), the Gather runs on stored dim 2 (ONNX axis 3) keeping it, and a copy views the result
    as the row-major tensor with the axis kept; a scalar index then drops it (a Reshape)."""
    found = gather_indices(graph, node)
    assert found is not None, "checked by _gather_check"
    axis, indices, scalar = found
    src, dst = node.inputs[0], node.outputs[0]
    shape = list(graph.values[src].shape)
    outer, inner = int(np.prod(shape[1:axis])), int(np.prod(shape[axis + 1 :]))
    grouped = _new_value(graph, f"{src}.grouped", [shape[0], inner, outer, shape[axis]])
    gathered = _new_value(graph, f"{dst}.grouped", [shape[0], inner, outer, len(indices)])
    kept_shape = [*shape[:axis], len(indices), *shape[axis + 1 :]]
    kept = _new_value(graph, f"{dst}.kept", kept_shape) if scalar else dst
    position = graph.nodes.index(node)
    graph.nodes.insert(position, Node(unique_node_name(graph, f"{node.name}.group"), "copy", [src], [grouped]))
    after = [Node(unique_node_name(graph, f"{node.name}.ungroup"), "copy", [gathered], [kept])]
    if scalar:
        after.append(Node(unique_node_name(graph, f"{node.name}.drop_axis"), "Reshape", [kept], [dst]))
    graph.nodes[position + 2 : position + 2] = after
    node.inputs[0], node.outputs, node.attrs = grouped, [gathered], {**node.attrs, "axis": 3}
    set_node_const(graph, node, 1, np.asarray(indices, np.int64), f"{node.name}.indices")


def _gather(graph: Graph, node: Node) -> None:
    """Constant indices along one axis: every maximal arithmetic run of them is a slice; several
    runs are joined by a concat on that axis; a scalar index then drops the axis (a Reshape,
    resolved with the other reshapes)."""
    if len(graph.values[node.inputs[0]].shape) in ROW_MAJOR_RANKS:
        _group_for_gather(graph, node)
    found = gather_indices(graph, node)
    assert found is not None, "checked by _gather_check"
    axis, indices, scalar = found
    src, dst = node.inputs[0], node.outputs[0]
    shape = list(graph.values[src].shape)
    position = graph.nodes.index(node)
    runs = index_runs(indices)
    kept = dst
    if scalar:  # the slice keeps the axis (length 1), a reshape drops it
        kept = _new_value(graph, f"{dst}.kept", [*shape[:axis], 1, *shape[axis + 1 :]])
        graph.nodes.insert(
            position + 1, Node(unique_node_name(graph, f"{node.name}.drop_axis"), "Reshape", [kept], [dst])
        )
    parts = []
    for k, (begin, stride, length) in enumerate(runs):
        part = (
            kept if len(runs) == 1 else _new_value(graph, f"{dst}.run{k}", [*shape[:axis], length, *shape[axis + 1 :]])
        )
        begins, strides = [0] * len(shape), [1] * len(shape)
        begins[axis], strides[axis] = begin, stride
        parts.append(part)
        if k == 0:
            node.op, node.inputs, node.outputs = "slice", [src], [part]
            node.attrs = {"begin": begins, "stride": strides}
        else:
            graph.nodes.insert(
                position + k,
                Node(
                    unique_node_name(graph, f"{node.name}.run{k}"),
                    "slice",
                    [src],
                    [part],
                    {"begin": begins, "stride": strides},
                ),
            )
    if len(runs) > 1:
        graph.nodes.insert(
            position + len(runs),
            Node(unique_node_name(graph, f"{node.name}.join"), "concat", parts, [kept], {"axis": axis}),
        )


# Stored (NHWC) dims [n, a, b, d] are ONNX dims [n, d, a, b]; ONNX perm [0, 1, 3, 2] swaps the
# stored dims 1 and 2, [0, 3, 2, 1] swaps the stored dims 2 and 3 (plan_layout composes them).
_SWAP_12, _SWAP_23 = [0, 1, 3, 2], [0, 3, 2, 1]


def _onnx_shape(stored: list[int]) -> list[int]:
    return [stored[0], stored[3], stored[1], stored[2]]


def _stage(graph: Graph, node: Node, steps: list[tuple[str, list[int]]]) -> None:
    """Replace ``node`` by a chain of transposes (("transpose", ONNX perm)) and byte copies
    (("copy", stored shape of the result)) over stored tensors; the last step writes its output.
    The staged values only exist in stored order (their ONNX order is not the model's)."""
    src, dst = node.inputs[0], node.outputs[0]
    stored = [graph.values[src].shape[k] for k in (0, 2, 3, 1)]
    position = graph.nodes.index(node)
    current = src
    for k, (op, arg) in enumerate(steps):
        stored = (
            [stored[0], stored[2], stored[1], stored[3]]
            if op == "transpose" and arg == _SWAP_12
            else [stored[0], stored[1], stored[3], stored[2]]
            if op == "transpose"
            else list(arg)
        )
        last = k == len(steps) - 1
        out = dst if last else _new_value(graph, f"{dst}.stage{k}", _onnx_shape(stored))
        attrs = {"perm": list(arg)} if op == "transpose" else {}
        if last:
            node.op, node.inputs, node.outputs, node.attrs = op, [current], [out], attrs
        else:
            graph.nodes.insert(
                position + k, Node(unique_node_name(graph, f"{node.name}.stage{k}"), op, [current], [out], attrs)
            )
        current = out


def _depth_to_space(graph: Graph, node: Node) -> None:
    """Stored x [n, H, W, b*b*C] (DCR channel (i*b + j)*C + c) -> [n, H*b, W*b, C]: swap H and W,
    view W, H*b, swap back, view: every step moves whole rows (see docs/normalized-ir.md).
    CRD (channel c*b*b + i*b + j) first moves the (i, j) block in front of c."""
    n, channels, h, w = graph.values[node.inputs[0]].shape
    b = int(node.attrs["blocksize"])
    c = channels // (b * b)
    mode = node.attrs.get("mode", "DCR")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    steps: list[tuple[str, list[int]]] = []
    if mode == "CRD":
        steps += [("copy", [n, h * w, c, b * b]), ("transpose", _SWAP_23), ("copy", [n, h, w, b * b * c])]
    steps += [
        ("transpose", _SWAP_12),
        ("copy", [n, w, h * b, b * c]),
        ("transpose", _SWAP_12),
        ("copy", [n, h * b, w * b, c]),
    ]
    _stage(graph, node, steps)


def _space_to_depth(graph: Graph, node: Node) -> None:
    """Stored x [n, H*b, W*b, C] -> [n, H, W, b*b*C] (channel (i*b + j)*C + c): the inverse chain."""
    n, c, hb, wb = graph.values[node.inputs[0]].shape
    b = int(node.attrs["blocksize"])
    _stage(
        graph,
        node,
        [
            ("copy", [n, hb, wb // b, b * c]),
            ("transpose", _SWAP_12),
            ("copy", [n, wb // b, hb // b, b * b * c]),
            ("transpose", _SWAP_12),
        ],
    )
