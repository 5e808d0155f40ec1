"""Reference elementwise ops (add, mul, leaky relu): TFLite's reference integer kernels.

Inputs are integer arrays (NHWC, numpy broadcasting: a dim of 1 broadcasts);
every parameter may be a scalar or an array that broadcasts against the
inputs, so a leading "case" axis checks many parameter sets in one call. A
scale is a ``(multiplier, shift)`` pair in the given rounding mode
(:func:`fixpoint.reference.requant.requant32`).

TFLite does this arithmetic in int32 and assumes it never overflows; the
runtime saturates each intermediate to int32 instead, which is what the
explicit ``sat32`` calls below state.
"""

from __future__ import annotations

import numpy as np

from .requant import requant32, sat32

Scale = tuple  # (multiplier, shift), scalars or arrays


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def _rescale(x, scale: Scale, rounding: str, multiplier_bits: int) -> np.ndarray:
    multiplier, shift = scale
    return requant32(x, multiplier, shift, rounding, multiplier_bits)


def _output_stage(raw, output_offset, act_min, act_max) -> np.ndarray:
    return np.clip(_i64(raw) + _i64(output_offset), _i64(act_min), _i64(act_max))


def add(
    x1,
    x2,
    *,
    input1_offset,
    input2_offset,
    output_offset,
    left_shift,
    input1_scale: Scale,
    input2_scale: Scale,
    output_scale: Scale,
    act_min,
    act_max,
    rounding: str = "double",
    multiplier_bits: int = 32,
    subtract=0,
) -> np.ndarray:
    """Quantized add: both inputs are brought to a common scale with
    ``left_shift`` extra bits of headroom, summed (subtracted when
    ``subtract`` is 1: TFLite's Sub), then scaled to the output."""
    pot = np.int64(1) << _i64(left_shift)
    a = sat32((_i64(x1) + _i64(input1_offset)) * pot)
    b = sat32((_i64(x2) + _i64(input2_offset)) * pot)
    scaled_b = _rescale(b, input2_scale, rounding, multiplier_bits)
    total = sat32(
        _rescale(a, input1_scale, rounding, multiplier_bits) + np.where(_i64(subtract) != 0, sat32(-scaled_b), scaled_b)
    )
    return _output_stage(_rescale(total, output_scale, rounding, multiplier_bits), output_offset, act_min, act_max)


def mul(
    x1,
    x2,
    *,
    input1_offset,
    input2_offset,
    output_offset,
    output_scale: Scale,
    act_min,
    act_max,
    rounding: str = "double",
    multiplier_bits: int = 32,
) -> np.ndarray:
    """Quantized mul: the product of the zero-point-corrected inputs, scaled."""
    product = sat32((_i64(x1) + _i64(input1_offset)) * (_i64(x2) + _i64(input2_offset)))
    return _output_stage(_rescale(product, output_scale, rounding, multiplier_bits), output_offset, act_min, act_max)


def leaky_relu(
    x,
    *,
    input_offset,
    output_offset,
    identity_scale: Scale,
    alpha_scale: Scale,
    act_min,
    act_max,
    rounding: str = "double",
    multiplier_bits: int = 32,
) -> np.ndarray:
    """Quantized leaky relu: non-negative (zero-point-corrected) inputs use the
    identity scale, negative ones the alpha scale."""
    v = sat32(_i64(x) + _i64(input_offset))
    positive = _rescale(v, identity_scale, rounding, multiplier_bits)
    negative = _rescale(v, alpha_scale, rounding, multiplier_bits)
    return _output_stage(np.where(v >= 0, positive, negative), output_offset, act_min, act_max)
