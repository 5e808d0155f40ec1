"""Reference table, prelu and minimum / maximum ops: TFLite's reference integer kernels.

The C kernels ``fp_lut_*``, ``fp_prelu_*``, ``fp_minimum_*`` / ``fp_maximum_*``
compute exactly this. Parameters may be scalars or arrays broadcasting
against the inputs (a leading "case" axis checks many parameter sets in one
call); a scale is a ``(multiplier, shift)`` pair
(:func:`fixpoint.reference.requant.requant32`).
"""

from __future__ import annotations

import numpy as np

from .elementwise import Scale, _i64, _output_stage, _rescale
from .requant import sat32


def lut_s8(x, table) -> np.ndarray:
    """``table[x + 128]`` (table: 256 int8 entries, entry 0 for input -128)."""
    table = np.asarray(table, dtype=np.int64)
    if table.shape[-1] != 256:
        raise ValueError(f"an int8 table has 256 entries, got {table.shape[-1]}")
    return np.take_along_axis(table, _i64(x) + 128, axis=-1) if table.ndim > 1 else table[_i64(x) + 128]


def lut_s16(x, table) -> np.ndarray:
    """TFLite's int16 LUT lookup: segment ``(x + 32768) >> 7``, 7 fractional bits,
    ``table[i] + floor(((table[i+1] - table[i]) * f + 64) / 128)``."""
    table = np.asarray(table, dtype=np.int64)
    if table.shape[-1] != 513:
        raise ValueError(f"an int16 table has 513 entries, got {table.shape[-1]}")
    u = _i64(x) + 32768
    i, f = u >> 7, u & 127
    if table.ndim > 1:
        base, nxt = np.take_along_axis(table, i, axis=-1), np.take_along_axis(table, i + 1, axis=-1)
    else:
        base, nxt = table[i], table[i + 1]
    return np.clip(base + (((nxt - base) * f + 64) >> 7), -32768, 32767)


def prelu(
    x,
    alpha,
    *,
    input_offset,
    alpha_offset,
    output_offset,
    identity_scale: Scale,
    alpha_scale: Scale,
    act_min,
    act_max,
    rounding: str = "double",
    multiplier_bits: int = 32,
) -> np.ndarray:
    """Quantized PRelu; ``alpha`` broadcasts against ``x`` (one value per channel on the last axis)."""
    v = sat32(_i64(x) + _i64(input_offset))
    a = sat32(_i64(alpha) + _i64(alpha_offset))
    positive = _rescale(v, identity_scale, rounding, multiplier_bits)
    negative = _rescale(sat32(v * a), alpha_scale, rounding, multiplier_bits)
    return _output_stage(np.where(v >= 0, positive, negative), output_offset, act_min, act_max)


def _minmax(
    x1,
    x2,
    pick,
    *,
    input1_offset,
    input2_offset,
    output_offset,
    input1_scale: Scale,
    input2_scale: Scale,
    act_min,
    act_max,
    rounding: str,
    multiplier_bits: int,
) -> np.ndarray:
    a = _rescale(sat32(_i64(x1) + _i64(input1_offset)), input1_scale, rounding, multiplier_bits)
    b = _rescale(sat32(_i64(x2) + _i64(input2_offset)), input2_scale, rounding, multiplier_bits)
    return _output_stage(pick(a, b), output_offset, act_min, act_max)


def minimum(x1, x2, *, rounding: str = "double", multiplier_bits: int = 32, **kw) -> np.ndarray:
    """Both inputs rescaled to the output scale, then the smaller (numpy broadcasting)."""
    return _minmax(x1, x2, np.minimum, rounding=rounding, multiplier_bits=multiplier_bits, **kw)


def maximum(x1, x2, *, rounding: str = "double", multiplier_bits: int = 32, **kw) -> np.ndarray:
    """Both inputs rescaled to the output scale, then the larger (numpy broadcasting)."""
    return _minmax(x1, x2, np.maximum, rounding=rounding, multiplier_bits=multiplier_bits, **kw)
