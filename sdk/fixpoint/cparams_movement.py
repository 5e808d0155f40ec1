"""C field values of the data-movement layers: concat, pad, requantize, copy, transpose, slice, resize (see
:mod:`fixpoint.cparams` for the conventions; the registry rows in fixpoint/ops/defs/ name these builders)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .cparams import MAX_LAYER_INPUTS, CParamsError, OpContext, _count, dims
from .plan import DTYPES

__all__ = [
    "concat_axis",
    "concat_geometry",
    "concat_params",
    "pad_params",
    "requantize_params",
    "copy_params",
    "transpose_params",
    "slice_params",
    "resize_params",
]


def concat_axis(in_shapes, out_shape) -> int:
    """The NHWC axis along which ``in_shapes`` concatenate into ``out_shape``."""
    differing = {a for s in in_shapes for a in range(4) if s[a] != out_shape[a]}
    if len(differing) > 1:
        raise CParamsError(
            f"concat inputs {[list(s) for s in in_shapes]} differ from output {list(out_shape)} in more than one axis"
        )
    axis = differing.pop() if differing else 3
    if sum(s[axis] for s in in_shapes) != out_shape[axis]:
        raise CParamsError(f"concat inputs {[list(s) for s in in_shapes]} do not add up to output {list(out_shape)}")
    return axis


def concat_geometry(c: OpContext, n: int) -> tuple[int, int, list[int]]:
    """outer, inner, axis_size: from params when given (checked against the
    element counts), else from the shapes."""
    for s in [*c.in_shapes, c.out_shape]:
        dims(s)
    if not any(k in c.scalars for k in ("outer", "inner", "axis_size")):
        axis = concat_axis(c.in_shapes, c.out_shape)
        return _count(c.out_shape[:axis]), _count(c.out_shape[axis + 1 :]), [s[axis] for s in c.in_shapes]
    outer, inner, sizes = c.scalar("outer"), c.scalar("inner"), c.int_list("axis_size", n)
    counts = [outer * a * inner for a in sizes]
    if counts != [_count(s) for s in c.in_shapes] or outer * sum(sizes) * inner != _count(c.out_shape):
        raise CParamsError(
            f"params outer {outer}, inner {inner}, axis_size {sizes} do not match the "
            f"input shapes {[list(s) for s in c.in_shapes]} and output {list(c.out_shape)}"
        )
    return outer, inner, sizes


def concat_params(c: OpContext) -> dict[str, Any]:
    n = len(c.in_shapes)
    if not 1 <= n <= MAX_LAYER_INPUTS:
        raise CParamsError(f"concat takes 1..{MAX_LAYER_INPUTS} inputs, got {n}")
    outer, inner, sizes = concat_geometry(c, n)
    pad = MAX_LAYER_INPUTS - n
    c._used.add("input_scale")
    scales = c.scalars.get("input_scale")
    if not isinstance(scales, (list, tuple)) or len(scales) != n:
        raise CParamsError(f"params field 'input_scale' must be a list of {n} scales, got {scales!r}")
    zero_offsets = c.datapath == "s16" and "input_offset" not in c.scalars
    offsets = [0] * n if zero_offsets else c.int_list("input_offset", n)
    return {
        "n_inputs": c.derived("n_inputs", n),
        "outer": outer,
        "inner": inner,
        "axis_size": sizes + [0] * pad,
        "input_offset": offsets + [0] * pad,
        "input_scale": [c.scale(f"input_scale[{i}]", v) for i, v in enumerate(scales)]
        + [{"multiplier": 0, "shift": 0}] * pad,
        "output_offset": c.offset("output_offset"),
        "mode": dict(c.mode),
    }


def pad_params(c: OpContext) -> dict[str, Any]:
    return {
        "input": dims(c.in_shapes[0]),
        "output": dims(c.out_shape),
        "pad_before": c.int_list("pad_before", 4),
        "pad_value": c.scalar("pad_value"),
        "mode": c.scalar("mode", 0),
    }


def requantize_params(c: OpContext) -> dict[str, Any]:
    fields = {
        "size": c.derived("size", _count(c.in_shapes[0])),
        "input_offset": c.scalar("input_offset"),
        "output_offset": c.scalar("output_offset"),
        "scale": c.scale("scale"),
    }
    fields.update(c.act_range())
    fields["mode"] = dict(c.mode)
    return fields


def copy_params(c: OpContext) -> dict[str, Any]:
    if _count(c.in_shapes[0]) != _count(c.out_shape):
        raise CParamsError(f"copy input {list(c.in_shapes[0])} and output {list(c.out_shape)} sizes differ")
    return {"bytes": c.derived("bytes", _count(c.out_shape) * np.dtype(DTYPES[c.out_dtype]).itemsize)}


def transpose_params(c: OpContext) -> dict[str, Any]:
    perm = c.int_list("perm", 4)
    if sorted(perm) != [0, 1, 2, 3] or tuple(c.in_shapes[0][p] for p in perm) != tuple(c.out_shape):
        raise CParamsError(f"params field 'perm' {perm} does not map {list(c.in_shapes[0])} to {list(c.out_shape)}")
    return {"input": dims(c.in_shapes[0]), "perm": perm}


def slice_params(c: OpContext) -> dict[str, Any]:
    # the kernel checks begin / stride against the dims (FP_ERR_ARG)
    return {
        "input": dims(c.in_shapes[0]),
        "output": dims(c.out_shape),
        "begin": c.int_list("begin", 4),
        "stride": c.int_list("stride", 4),
    }


def resize_params(c: OpContext) -> dict[str, Any]:
    # the kernel checks the ranges (FP_ERR_ARG)
    return {
        "input": dims(c.in_shapes[0]),
        "output": dims(c.out_shape),
        "method": c.scalar("method", 0),
        "coord": c.scalar("coord", 0),
        "nearest_mode": c.scalar("nearest_mode", 0),
        "ratio_num": c.int_list("ratio_num", 2),
        "ratio_den": c.int_list("ratio_den", 2),
    }
