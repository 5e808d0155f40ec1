"""Support checks of the data-movement ONNX ops (Transpose, Slice, Split); rows in
``fixpoint/ops/defs/movement.py``. Each check's docstring is its rule (see
:mod:`fixpoint.ops.onnx_ops`)."""

from __future__ import annotations

import numpy as np

from fixpoint.iospec import ROW_MAJOR_RANKS
from fixpoint.ir import Graph, Node

# Activation ranks the runtime's tensor model stores (plan_layout maps them to NHWC).
MOVEMENT_RANKS = (2, 4)
# Ranks a Gather result may have (rank 3 and 5 are stored in their ONNX row-major order).
GATHER_RESULT_RANKS = (2, 3, 4, 5)


def reduced_transpose(shape: list[int], perm: list[int]) -> tuple[list[int], list[int]] | None:
    """A transpose of a row-major tensor as one of at most 4 dims: axes of extent 1 dropped, axes
    that stay neighbours in the output merged. Returns (row-major input dims, perm over them),
    padded in front with extent-1 dims to 4; None when more than 4 groups of axes move."""
    kept = [a for a in perm if shape[a] != 1]
    groups: list[list[int]] = []
    for axis in kept:
        if groups and groups[-1][-1] + 1 == axis:
            groups[-1].append(axis)
        else:
            groups.append([axis])
    if len(groups) > 4:
        return None
    by_input = sorted(range(len(groups)), key=lambda g: groups[g][0])
    dims = [int(np.prod([shape[a] for a in groups[g]])) for g in by_input]
    order = [by_input.index(g) for g in range(len(groups))]  # output group k reads input group order[k]
    pad = 4 - len(groups)
    return [1] * pad + dims, list(range(pad)) + [pad + o for o in order]


def _helpers():
    # Imported when called: fixpoint.ops.onnx_ops resolves these checks while it is imported.
    from fixpoint.ops import onnx_ops

    return onnx_ops


def _rank_problem(graph: Graph, node: Node) -> str | None:
    rank = len(graph.values[node.inputs[0]].shape)
    return None if rank in MOVEMENT_RANKS else f"rank-{rank} input"


def _const_ints(graph: Graph, node: Node, index: int, attr_name: str) -> list[int] | None:
    """An int list given as constant input ``index`` (newer opsets) or attribute ``attr_name``."""
    ops = _helpers()
    name = ops.input_name(node, index)
    if name:
        data = ops.const_data(graph, name)
        return None if data is None else [int(v) for v in np.asarray(data).ravel()]
    value = node.attrs.get(attr_name)
    return None if value is None else [int(v) for v in value]


def _transpose_check(node: Node, graph: Graph) -> str | None:
    """Transpose: any permutation of a 2-D or 4-D activation, or of a rank-3 or rank-5 one when the axes
    that move form at most 4 groups (extent-1 axes dropped, axes that stay neighbours merged)."""
    shape = graph.values[node.inputs[0]].shape
    rank = len(shape)
    if rank not in MOVEMENT_RANKS and rank not in ROW_MAJOR_RANKS:
        return f"rank-{rank} input"
    perm = node.attrs.get("perm", list(range(rank))[::-1])
    if sorted(int(p) % rank if -rank <= int(p) < rank else -1 for p in perm) != list(range(rank)):
        return f"perm={list(perm)} is not a permutation of {rank} axes"
    if rank in ROW_MAJOR_RANKS and reduced_transpose(shape, [int(p) % rank for p in perm]) is None:
        return f"perm={list(perm)} of {shape} moves more than 4 groups of axes"
    return None


def slice_arguments(graph: Graph, node: Node) -> tuple[list[int], list[int], list[int], list[int]] | None:
    """(starts, ends, axes, steps) of a Slice, attribute (opset < 10) or constant input form."""
    rank = len(graph.values[node.inputs[0]].shape)
    if graph.opset < 10:
        starts, ends = node.attrs.get("starts"), node.attrs.get("ends")
        axes = node.attrs.get("axes")
        steps = None
    else:
        ops = _helpers()
        if not all(ops._is_static(graph, name) for name in node.inputs[1:]):
            return None
        starts, ends = _const_ints(graph, node, 1, ""), _const_ints(graph, node, 2, "")
        axes, steps = _const_ints(graph, node, 3, ""), _const_ints(graph, node, 4, "")
    if starts is None or ends is None:
        return None
    axes = list(range(len(starts))) if axes is None else [int(a) for a in axes]
    steps = [1] * len(starts) if steps is None else steps
    return (
        [int(s) for s in starts],
        [int(e) for e in ends],
        [a + rank if a < 0 else a for a in axes],
        [int(s) for s in steps],
    )


def _slice_check(node: Node, graph: Graph) -> str | None:
    """Slice: a 2-D or 4-D activation, or a rank-3 or rank-5 one cut along one non-batch axis,
    constant starts / ends / axes / steps (any sign, steps non-zero), no empty result."""
    shape = graph.values[node.inputs[0]].shape
    row_major = len(shape) in ROW_MAJOR_RANKS
    problem = None if row_major else _rank_problem(graph, node)
    if problem:
        return problem
    args = slice_arguments(graph, node)
    if args is None:
        return "starts, ends, axes or steps are not constant"
    starts, ends, axes, steps = args
    rank = len(graph.values[node.inputs[0]].shape)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        return "starts, ends, axes and steps differ in length"
    if any(not 0 <= a < rank for a in axes) or len(set(axes)) != len(axes):
        return f"axes={axes} are not distinct axes of a rank-{rank} tensor"
    if 0 in steps:
        return "a step is 0"
    if 0 in graph.values[node.outputs[0]].shape:
        return "the result is empty"
    if row_major:
        cut = [
            a
            for a, start, end, step in zip(axes, starts, ends, steps)
            if slice(start, end, step).indices(shape[a]) != (0, shape[a], 1)
        ]
        if len(cut) > 1 or 0 in cut:
            return f"cuts axes {cut} of a rank-{len(shape)} tensor (one non-batch axis at most)"
    return None


def split_sizes(graph: Graph, node: Node) -> list[int] | None:
    """The length of every Split output along the split axis (None if not constant)."""
    shape = graph.values[node.inputs[0]].shape
    axis = int(node.attrs.get("axis", 0)) % len(shape)
    sizes = (
        _const_ints(graph, node, 1, "split")
        if graph.opset >= 13
        else ([int(v) for v in node.attrs["split"]] if "split" in node.attrs else None)
    )
    if sizes is None:
        if graph.opset >= 13 and len(node.inputs) > 1 and node.inputs[1]:
            return None
        parts = int(node.attrs.get("num_outputs", len(node.outputs)))
        chunk = -(-shape[axis] // parts)  # opset 18: the last chunk may be smaller
        sizes = [min(chunk, shape[axis] - i * chunk) for i in range(parts)]
    return sizes


def _split_check(node: Node, graph: Graph) -> str | None:
    """Split: a 2-D or 4-D activation along any axis, a rank-3 or rank-5 one along a non-batch axis,
    constant split sizes (input, attribute or num_outputs), no empty output."""
    rank = len(graph.values[node.inputs[0]].shape)
    problem = None if rank in ROW_MAJOR_RANKS else _rank_problem(graph, node)
    if problem:
        return problem
    axis = node.attrs.get("axis", 0)
    if not isinstance(axis, int) or not -rank <= axis < rank:
        return f"axis={axis} is out of range for a rank-{rank} tensor"
    if rank in ROW_MAJOR_RANKS and axis % rank == 0:
        return f"axis {axis} is the batch axis of a rank-{rank} tensor"
    sizes = split_sizes(graph, node)
    if sizes is None:
        return "split sizes are not constant"
    if (
        len(sizes) != len(node.outputs)
        or sum(sizes) != graph.values[node.inputs[0]].shape[axis % rank]
        or min(sizes) < 1
    ):
        return f"split sizes {sizes} do not divide axis {axis} into {len(node.outputs)} non-empty outputs"
    return None


RESIZE_COORDS = {
    "asymmetric": 0,
    "half_pixel": 1,
    "align_corners": 2,
    "tf_half_pixel_for_nn": 3,
    "pytorch_half_pixel": 1,
}
NEAREST_MODES = {"round_prefer_floor": 0, "round_prefer_ceil": 1, "floor": 2, "ceil": 3}
MAX_RESIZE_DIM = 32767  # fp_resize_params_t: H and W of both sides, ratio terms


def _text(value, default: str) -> str:
    value = default if value is None else value
    return value.decode() if isinstance(value, bytes) else str(value)


def resize_arguments(graph: Graph, node: Node) -> dict | None:
    """mode, coordinate transform, nearest mode and the constant scales / sizes of a Resize
    (None when scales / sizes are not constant)."""
    ops = _helpers()
    if not all(ops._is_static(graph, name) for name in node.inputs[1:]):
        return None
    if graph.opset < 11:
        scales, sizes = ops.const_data(graph, ops.input_name(node, 1)), None
        coord, nearest = "asymmetric", "floor"  # opset 10: Upsample's semantics
    else:
        scales, sizes = ops.const_data(graph, ops.input_name(node, 2)), ops.const_data(graph, ops.input_name(node, 3))
        coord = _text(node.attrs.get("coordinate_transformation_mode"), "half_pixel")
        nearest = _text(node.attrs.get("nearest_mode"), "round_prefer_floor")
    return {
        "mode": _text(node.attrs.get("mode"), "nearest"),
        "coord": coord,
        "nearest": nearest,
        "scales": None if scales is None or np.asarray(scales).size == 0 else np.asarray(scales, np.float64),
        "sizes": None if sizes is None or np.asarray(sizes).size == 0 else np.asarray(sizes, np.int64),
    }


def _resize_check(node: Node, graph: Graph) -> str | None:
    """Resize: of H and W of a 4-D activation (N and C kept), mode nearest (any nearest_mode) or
    linear, coordinate_transformation_mode half_pixel, pytorch_half_pixel, align_corners,
    asymmetric or (nearest) tf_half_pixel_for_nn, constant scales or sizes, H and W up to 32767,
    no antialias / axes."""
    shape = graph.values[node.inputs[0]].shape
    if len(shape) != 4:
        return f"rank-{len(shape)} input"
    if int(node.attrs.get("antialias", 0)) or node.attrs.get("axes") is not None:
        return "antialias or axes"
    args = resize_arguments(graph, node)
    if args is None:
        return "scales or sizes are not constant"
    if args["mode"] not in ("nearest", "linear"):
        return f"mode={args['mode']}"
    if args["coord"] not in RESIZE_COORDS or (args["mode"] == "linear" and args["coord"] == "tf_half_pixel_for_nn"):
        return f"coordinate_transformation_mode={args['coord']} with mode={args['mode']}"
    if args["mode"] == "nearest" and args["nearest"] not in NEAREST_MODES:
        return f"nearest_mode={args['nearest']}"
    out = graph.values[node.outputs[0]].shape
    if out[:2] != shape[:2] or (args["scales"] is not None and list(args["scales"][:2]) != [1.0, 1.0]):
        return "resizes N or C"
    if args["scales"] is None and args["sizes"] is None:
        return "neither scales nor sizes"
    if max(*shape[2:], *out[2:]) > MAX_RESIZE_DIM or min(out[2:]) < 1:
        return f"H, W {shape[2:]} -> {out[2:]} outside 1..{MAX_RESIZE_DIM}"
    return None


MAX_GATHER_RUNS = 8  # a gathered index list becomes at most this many slices joined by one concat


def index_runs(indices: list[int]) -> list[tuple[int, int, int]]:
    """``indices`` as maximal arithmetic runs (begin, stride, length), greedily from the left."""
    runs: list[tuple[int, int, int]] = []
    i = 0
    while i < len(indices):
        if i + 1 == len(indices) or indices[i + 1] == indices[i]:
            runs.append((indices[i], 1, 1))
            i += 1
            continue
        stride, j = indices[i + 1] - indices[i], i + 1
        while j + 1 < len(indices) and indices[j + 1] - indices[j] == stride:
            j += 1
        runs.append((indices[i], stride, j - i + 1))
        i = j + 1
    return runs


def gather_indices(graph: Graph, node: Node) -> tuple[int, list[int], bool] | None:
    """(axis, indices made non-negative, scalar index) of a Gather with constant indices."""
    ops = _helpers()
    data = ops.const_data(graph, node.inputs[1])
    if data is None:
        return None
    shape = graph.values[node.inputs[0]].shape
    axis = int(node.attrs.get("axis", 0)) % len(shape)
    flat = [int(v) + (shape[axis] if int(v) < 0 else 0) for v in np.asarray(data).ravel()]
    return axis, flat, np.asarray(data).ndim == 0


def _gather_check(node: Node, graph: Graph) -> str | None:
    """Gather: constant indices (a scalar drops the axis, a 1-D list keeps it) into a 2-D or 4-D
    activation, or along a non-batch axis of a rank-3 or rank-5 one, result of rank 2 to 5, a list split
    into at most 8 arithmetic runs (slices + concat)."""
    shape = graph.values[node.inputs[0]].shape
    row_major = len(shape) in ROW_MAJOR_RANKS
    problem = None if row_major else _rank_problem(graph, node)
    if problem:
        return problem
    axis = node.attrs.get("axis", 0)
    if not isinstance(axis, int) or not -len(shape) <= axis < len(shape):
        return f"axis={axis} is out of range for a rank-{len(shape)} tensor"
    if row_major and axis % len(shape) == 0:
        return f"axis {axis} is the batch axis of a rank-{len(shape)} tensor"
    found = gather_indices(graph, node)
    if found is None:
        return "indices are not constant"
    axis, indices, _ = found
    data = _helpers().const_data(graph, node.inputs[1])
    if np.asarray(data).ndim > 1 or not indices:
        return f"indices of shape {list(np.asarray(data).shape)}"
    if any(not 0 <= i < shape[axis] for i in indices):
        return f"an index is outside axis {axis} of length {shape[axis]}"
    out_rank = len(graph.values[node.outputs[0]].shape)
    if out_rank not in GATHER_RESULT_RANKS:
        return f"rank-{out_rank} result"
    if len(index_runs(indices)) > MAX_GATHER_RUNS:
        return f"{len(index_runs(indices))} index runs (at most {MAX_GATHER_RUNS})"
    return None


def _depth_to_space_check(node: Node, graph: Graph) -> str | None:
    """DepthToSpace: a 4-D activation, mode DCR or CRD, any blocksize (transposes and copies)."""
    shape = graph.values[node.inputs[0]].shape
    mode = node.attrs.get("mode", "DCR")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if len(shape) != 4:
        return f"rank-{len(shape)} input"
    if mode not in ("DCR", "CRD"):
        return f"mode={mode}"
    return None


def _space_to_depth_check(node: Node, graph: Graph) -> str | None:
    """SpaceToDepth: a 4-D activation, any blocksize (transposes and copies)."""
    shape = graph.values[node.inputs[0]].shape
    return None if len(shape) == 4 else f"rank-{len(shape)} input"
