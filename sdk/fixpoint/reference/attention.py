"""Reference batch_matmul and layer_norm: the integer arithmetic of ``fp_batch_matmul_*`` and
``fp_layer_norm_*`` (docs/kernels.md "batch_matmul", "layer_norm"), in numpy / Python integers."""

from __future__ import annotations

import math

import numpy as np

from .requant import requant32, requant64, sat32

__all__ = ["batch_matmul", "layer_norm", "ln_rsqrt", "LN_FRAC_BITS"]

LN_FRAC_BITS = 15


def _index(stride, dims_axes) -> np.ndarray:
    """Sum of index * stride over (axis position in the 5-D grid, extent, stride)."""
    total = np.zeros([1] * 5, dtype=np.int64)
    for (axis, extent), s in zip(dims_axes, stride):
        shape = [1] * 5
        shape[axis] = extent
        total = total + np.arange(extent, dtype=np.int64).reshape(shape) * int(s)
    return total


def batch_matmul(
    a,
    b,
    *,
    batch,
    rows,
    depth,
    cols,
    input1_stride,
    input2_stride,
    output_stride,
    output_size,
    input1_offset,
    input2_offset,
    output_offset,
    output_scale,
    act_min,
    act_max,
    rounding: str = "double",
    multiplier_bits: int = 32,
    acc64: bool = False,
) -> np.ndarray:
    """Flat output of ``output_size`` elements (those no index reaches stay 0).

    Grid axes (b0, b1, m, n, k): A[b0, b1, m, k] * B[b0, b1, k, n] summed over k; s8 (``acc64``
    False): the exact sum saturated to int32, requant32; s16: the int64 sum, requant64."""
    a, b = np.asarray(a, dtype=np.int64).reshape(-1), np.asarray(b, dtype=np.int64).reshape(-1)
    b0, b1 = int(batch[0]), int(batch[1])
    ia = _index(input1_stride, [(0, b0), (1, b1), (2, rows), (4, depth)])
    ib = _index(input2_stride, [(0, b0), (1, b1), (4, depth), (3, cols)])
    io = _index(output_stride, [(0, b0), (1, b1), (2, rows), (3, cols)])[..., 0]
    x = a[ia] + int(input1_offset)
    y = b[ib] + int(input2_offset)
    acc = (x * y).sum(axis=4)
    m, s = output_scale
    if acc64:
        raw = requant64(acc, m, s, rounding, multiplier_bits)
    else:
        raw = requant32(sat32(acc), m, s, rounding, multiplier_bits)
    res = np.clip(raw.astype(np.int64) + int(output_offset), int(act_min), int(act_max))
    out = np.zeros(int(output_size), dtype=np.int64)
    out[np.broadcast_to(io, res.shape).reshape(-1)] = res.reshape(-1)
    return out


def ln_rsqrt(v: int) -> tuple[int, int]:
    """(r, shift) of fp_ln_rsqrt: g = (62 - bitlen(v)) // 2, s = isqrt(v * 4^g), r = 2^61 // s,
    shift = 61 - g - 15, so that d / sqrt(v) * 2^15 ~ d * r / 2^shift."""
    g = (62 - int(v).bit_length()) // 2
    s = math.isqrt(int(v) << (2 * g))
    return (1 << 61) // s, 61 - g - LN_FRAC_BITS


def _scale_half_away(d: np.ndarray, r: int, shift: int) -> np.ndarray:
    mag = (np.abs(d).astype(object) * r + (1 << (shift - 1))) >> shift
    return np.where(d < 0, -mag, mag).astype(np.int64)


def layer_norm(
    x,
    *,
    gamma,
    beta,
    eps_term,
    input_offset,
    output_offset,
    output_scale,
    act_min,
    act_max,
    axis: int = -1,
    rounding: str = "double",
    multiplier_bits: int = 32,
) -> np.ndarray:
    """Layer normalization of integer ``x`` over ``axis``:
    c = x + input_offset, S = sum c, d = D * c - S, V = D * sum c^2 - S^2 + eps_term,
    t = round_half_away(d * r / 2^shift) with (r, shift) = ln_rsqrt(V) (t = 0 when V = 0),
    out = clamp(requant64(t * gamma + beta, output_scale) + output_offset, act_min, act_max)."""
    x = np.moveaxis(np.asarray(x, dtype=np.int64), axis, -1)
    depth = x.shape[-1]
    vectors = x.reshape(-1, depth) + int(input_offset)
    gamma, beta = np.asarray(gamma, dtype=np.int64), np.asarray(beta, dtype=np.int64)
    out = np.empty_like(vectors)
    m, s = output_scale
    for i, c in enumerate(vectors):
        total = int(c.sum())
        v = depth * int((c * c).sum()) - total * total + int(eps_term)
        d = depth * c - total
        if v == 0:
            t = np.zeros(depth, dtype=np.int64)
        else:
            r, shift = ln_rsqrt(v)
            t = _scale_half_away(d, r, shift)
        raw = requant64(t * gamma + beta, m, s, rounding, multiplier_bits)
        out[i] = np.clip(raw.astype(np.int64) + int(output_offset), int(act_min), int(act_max))
    return np.moveaxis(out.reshape(x.shape), -1, axis)
