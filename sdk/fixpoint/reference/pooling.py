"""Reference max / average pooling (TFLite reference integer kernels), NHWC.

Output position (oy, ox) covers input rows oy*stride_h - pad_top + [0, filter_h)
and columns ox*stride_w - pad_left + [0, filter_w); taps outside the input are
padding and take no part (average pool divides by the in-input tap count and
rounds half away from zero). Input and output share scale and zero point.
"""

from __future__ import annotations

import numpy as np


def _windows(
    x: np.ndarray,
    filter_h: int,
    filter_w: int,
    stride_h: int,
    stride_w: int,
    pad_top: int,
    pad_left: int,
    out_h: int,
    out_w: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Every window's taps: values [N, OH, FH, OW, FW, C] (clipped reads where
    the tap is padding) and whether each tap lies inside the input
    [1, OH, FH, OW, FW, 1]."""
    _, in_h, in_w, _ = x.shape
    rows = (np.arange(out_h) * stride_h - pad_top)[:, None] + np.arange(filter_h)[None, :]  # [OH, FH]
    cols = (np.arange(out_w) * stride_w - pad_left)[:, None] + np.arange(filter_w)[None, :]  # [OW, FW]
    row_ok = (rows >= 0) & (rows < in_h)
    col_ok = (cols >= 0) & (cols < in_w)
    values = x[:, np.clip(rows, 0, in_h - 1)][:, :, :, np.clip(cols, 0, in_w - 1)]
    inside = row_ok[:, :, None, None] & col_ok[None, None, :, :]
    return values, inside[None, :, :, :, :, None]


def max_pool(
    x,
    *,
    filter_h: int,
    filter_w: int,
    stride_h: int,
    stride_w: int,
    pad_top: int,
    pad_left: int,
    out_h: int,
    out_w: int,
    act_min: int,
    act_max: int,
) -> np.ndarray:
    """Largest in-input value of each window, clamped to [act_min, act_max]."""
    values, inside = _windows(
        np.asarray(x, dtype=np.int64), filter_h, filter_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w
    )
    best = np.where(inside, values, np.iinfo(np.int64).min).max(axis=(2, 4))
    if np.any(~inside.any(axis=(2, 4))):
        raise ValueError("max_pool: a window lies entirely in the padding")
    return np.clip(best, act_min, act_max)


def round_half_away_div(num, den) -> np.ndarray:
    """num / den (den > 0) rounded to the nearest integer, ties away from zero."""
    num, den = np.asarray(num, dtype=np.int64), np.asarray(den, dtype=np.int64)
    return np.sign(num) * ((2 * np.abs(num) + den) // (2 * den))


def avg_pool(
    x,
    *,
    filter_h: int,
    filter_w: int,
    stride_h: int,
    stride_w: int,
    pad_top: int,
    pad_left: int,
    out_h: int,
    out_w: int,
    act_min: int,
    act_max: int,
) -> np.ndarray:
    """Mean of the in-input values of each window, clamped to [act_min, act_max]."""
    values, inside = _windows(
        np.asarray(x, dtype=np.int64), filter_h, filter_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w
    )
    total = np.where(inside, values, 0).sum(axis=(2, 4))
    count = inside.sum(axis=(2, 4))
    if np.any(count == 0):
        raise ValueError("avg_pool: a window lies entirely in the padding")
    return np.clip(round_half_away_div(total, count), act_min, act_max)
