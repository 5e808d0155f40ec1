"""Reference reduce (ReduceSum / ReduceMean / ReduceMax) of the C runtime, NHWC.

An output dim equal to the input dim is kept; an output dim of 1 (input dim
> 1) is reduced. ``kind`` "sum": ``clamp(requant32(sat32(sum(x + input_offset)),
scale) + output_offset)``; a mean is the same arithmetic with 1/count folded
into the scale (TFLite's QuantizedMeanOrSum: one requantization of the
zero-point-corrected sum). ``kind`` "max": ``clamp(max(x))``, input and output
sharing scale and zero point (offsets and scale unused). The sum is exact in
int64 and saturated to int32 (TFLite keeps it in int32 and assumes no overflow).
"""

from __future__ import annotations

import numpy as np

from .requant import requant32, sat32

KINDS = {"sum": 0, "max": 1}  # fp_reduce_kind_t


def reduced_axes(in_shape, out_shape) -> tuple[int, ...]:
    """The NHWC axes an (input, output) shape pair reduces (dims that differ)."""
    if len(in_shape) != len(out_shape) or any(o not in (i, 1) for i, o in zip(in_shape, out_shape)):
        raise ValueError(f"reduce: output {list(out_shape)} is not input {list(in_shape)} with reduced dims of 1")
    return tuple(a for a, (i, o) in enumerate(zip(in_shape, out_shape)) if i != o)


def reduce(
    x,
    *,
    out_shape,
    kind: str,
    input_offset: int = 0,
    output_offset: int = 0,
    scale=(0, 0),
    act_min: int,
    act_max: int,
    rounding: str = "double",
    multiplier_bits: int = 32,
) -> np.ndarray:
    """The C kernel's result for NHWC ``x`` reduced to ``out_shape``."""
    x = np.asarray(x, dtype=np.int64)
    axes = reduced_axes(x.shape, out_shape)
    if kind == "max":
        return np.clip(x.max(axis=axes, keepdims=True), act_min, act_max).reshape(out_shape)
    if kind != "sum":
        raise ValueError(f"reduce: kind {kind!r} is not one of {sorted(KINDS)}")
    total = sat32((x + np.int64(input_offset)).sum(axis=axes, keepdims=True))
    raw = requant32(total, scale[0], scale[1], rounding, multiplier_bits)
    return np.clip(raw + np.int64(output_offset), act_min, act_max).reshape(out_shape)
