"""Numpy references of the transpose and slice kernels (runtime/src/kernels/fp_transpose_*.c,
fp_slice_*.c). Both move values without changing them, so the references are exact index maps
over the 4 stored dims (N, H, W, C)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def transpose(x, *, perm: Sequence[int]) -> np.ndarray:
    """Output dim i is input dim perm[i]: out[i0, i1, i2, i3] = x[j] with j[perm[k]] = i_k."""
    x = np.asarray(x)
    if sorted(int(p) for p in perm) != list(range(x.ndim)):
        raise ValueError(f"perm {list(perm)} is not a permutation of {x.ndim} dims")
    return np.transpose(x, [int(p) for p in perm])


def slice_(x, *, begin: Sequence[int], stride: Sequence[int], out_shape: Sequence[int]) -> np.ndarray:
    """out[i0, .., i3] = x[begin[0] + i0 * stride[0], .., begin[3] + i3 * stride[3]]; every index
    must lie inside x (the kernel refuses the params otherwise)."""
    x = np.asarray(x)
    index = []
    for b, s, n, d in zip(begin, stride, out_shape, x.shape):
        taps = int(b) + int(s) * np.arange(int(n))
        if int(s) == 0 or int(n) < 1 or taps.min() < 0 or taps.max() >= d:
            raise ValueError(
                f"slice begin {list(begin)} stride {list(stride)} out {list(out_shape)} "
                f"leaves the input {list(x.shape)}"
            )
        index.append(taps)
    return x[np.ix_(*index)]


# ---- resize ----------------------------------------------------------------------------------------

RESIZE_METHODS = ("nearest", "bilinear")
RESIZE_COORDS = ("asymmetric", "half_pixel", "align_corners", "tf_half_pixel_for_nn")
NEAREST_ROUNDINGS = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def nearest_indices(out_size: int, in_size: int, num: int, den: int, coord: int, nearest_mode: int) -> np.ndarray:
    """Source index of every output index: the exact rational coordinate a / b rounded per
    ``nearest_mode`` (0 ties down, 1 ties up, 2 floor, 3 ceil), clamped to [0, in_size - 1]."""
    x = np.arange(out_size, dtype=np.int64)
    if coord == 1:
        a, b = (2 * x + 1) * num - den, 2 * den
    elif coord == 3:
        a, b = (2 * x + 1) * num, 2 * den
    else:
        a, b = x * num, den
    idx = {0: -((b - 2 * a) // (2 * b)), 1: (2 * a + b) // (2 * b), 2: a // b, 3: -((-a) // b)}[nearest_mode]
    return np.clip(idx, 0, in_size - 1)


def bilinear_taps(out_size: int, in_size: int, num: int, den: int, half_pixel: bool):
    """TFLite's integer bilinear positions: (Q10 coordinate, lower tap, upper tap) per output index,
    the coordinate clamped to the last input pixel (never reached by TFLite's own geometry)."""
    scale_10 = (1024 * num + den // 2) // den
    x = np.arange(out_size, dtype=np.int64)
    v = x * scale_10 + scale_10 // 2 - 512 if half_pixel else x * scale_10
    v = np.minimum(v, 1024 * (in_size - 1))
    lo = np.maximum(np.trunc(v / 1024).astype(np.int64), 0)  # C division truncates toward zero
    hi = np.minimum((v + 1023) // 1024, in_size - 1)  # v >= -512: floor == trunc here
    return v, lo, hi


def resize(
    x,
    *,
    out_hw: Sequence[int],
    method: int,
    coord: int,
    nearest_mode: int,
    ratio_num: Sequence[int],
    ratio_den: Sequence[int],
) -> np.ndarray:
    """fp_resize of an NHWC integer array (see fp_resize_params_t): nearest or TFLite bilinear."""
    x = np.asarray(x)
    info = np.iinfo(x.dtype)
    n, in_h, in_w, c = x.shape
    if method == 0:
        rows = nearest_indices(out_hw[0], in_h, ratio_num[0], ratio_den[0], coord, nearest_mode)
        cols = nearest_indices(out_hw[1], in_w, ratio_num[1], ratio_den[1], coord, nearest_mode)
        return x[:, rows][:, :, cols]
    vy, y0, y1 = bilinear_taps(out_hw[0], in_h, ratio_num[0], ratio_den[0], coord == 1)
    vx, x0, x1 = bilinear_taps(out_hw[1], in_w, ratio_num[1], ratio_den[1], coord == 1)
    dy = (vy - 1024 * y0)[None, :, None, None]
    dx = (vx - 1024 * x0)[None, None, :, None]
    xi = x.astype(np.int64)

    def tap(rows, cols):
        return xi[:, rows][:, :, cols]

    acc = (
        tap(y0, x0) * (1024 - dy) * (1024 - dx)
        + tap(y1, x0) * dy * (1024 - dx)
        + tap(y0, x1) * (1024 - dy) * dx
        + tap(y1, x1) * dy * dx
    )
    rounded = np.where(acc > 0, acc + (1 << 19), acc - (1 << 19))
    out = np.sign(rounded) * (np.abs(rounded) >> 20)  # C division truncates toward zero
    return np.clip(out, info.min, info.max).astype(x.dtype)
