"""Ternary (2-bit, s2) and binary (1-bit, s1) weight quantization.

Both are symmetric with one scale per output channel (or one per tensor):

* ternary: ``q = sign(w)`` where ``|w| > threshold`` else 0, ``w ~ scale * q``.
  The threshold and scale minimise the channel's squared error exactly: keeping
  the k largest ``|w|`` with ``scale = mean`` of them leaves the error
  ``sum(w^2) - S_k^2 / k`` (``S_k`` the sum of the k largest), so the best k
  maximises ``S_k^2 / k`` (one sort per channel). This is the MSE-optimal
  version of the usual ``0.7 * mean|w|`` rule, which it replaces.
* binary: ``q = +1`` for ``w >= 0`` else -1 (no zero), ``scale = mean|w|``,
  which is the MSE-optimal scale for sign quantization.

The ``pow2`` scheme (shift-only boards) rounds each scale to the nearest
power of two in the log domain; there is no clipping to avoid since the
values are already at most 1 in magnitude.
"""

from __future__ import annotations

import numpy as np

LOWBIT = (1, 2)


def _channels_first(w: np.ndarray, axis: int, per_channel: bool) -> np.ndarray:
    """|w| as [channels, n] (one row when per tensor)."""
    a = np.abs(np.moveaxis(np.asarray(w, dtype=np.float64), axis, 0))
    return a.reshape(a.shape[0], -1) if per_channel else a.reshape(1, -1)


def ternary_scales(w: np.ndarray, axis: int, per_channel: bool = True) -> np.ndarray:
    """MSE-optimal ternary scale per channel (the mean |w| of the weights kept non-zero)."""
    a = -np.sort(-_channels_first(w, axis, per_channel), axis=1)  # descending
    sums = np.cumsum(a, axis=1)
    k = np.arange(1, a.shape[1] + 1, dtype=np.float64)
    best = np.argmax(sums**2 / k, axis=1)
    return sums[np.arange(a.shape[0]), best] / k[best]


def binary_scales(w: np.ndarray, axis: int, per_channel: bool = True) -> np.ndarray:
    """Binary scale per channel: mean |w|."""
    return _channels_first(w, axis, per_channel).mean(axis=1)


def lowbit_scales(w: np.ndarray, axis: int, bits: int, per_channel: bool, scheme: str) -> np.ndarray:
    """Scales for 1- or 2-bit weights; an all-zero channel borrows the tensor's (1.0 if all zero)."""
    scale = ternary_scales(w, axis, per_channel) if bits == 2 else binary_scales(w, axis, per_channel)
    overall = float(scale.max()) if scale.size else 0.0
    scale = np.where(scale > 0, scale, overall if overall > 0 else 1.0)
    if scheme == "pow2":
        scale = np.ldexp(1.0, np.round(np.log2(scale)).astype(np.int64))
    return scale


def lowbit_values(w: np.ndarray, scale_b: np.ndarray, bits: int) -> np.ndarray:
    """Integer weights (int8) for the broadcast scale ``scale_b``: ternary {-1, 0, 1}, binary {-1, 1}."""
    w = np.asarray(w, dtype=np.float64)
    if bits == 1:
        return np.where(w >= 0, 1, -1).astype(np.int8)
    # keep |w| > scale / 2: round-to-nearest of w / scale clipped to [-1, 1]; for the MSE-optimal
    # scale this keeps exactly the weights above the optimal threshold up to ties
    return np.where(np.abs(w) > scale_b / 2, np.sign(w), 0).astype(np.int8)
