"""Weight and bias quantization.

Weights are symmetric and narrow range (zero point 0, ``[-127, 127]`` for 8
bits, ``[-7, 7]`` for 4 bits; ternary / binary weights for 2 / 1 bits,
:mod:`fixpoint.lower.lowbit_weights`) so that ``-w`` is always representable and the
kernels need no filter offset. Scales are per output channel by default; the
``pow2`` scheme rounds each scale up to a power of two (shift-only boards).
Biases are ``round(b / (s_in * s_w[c]))`` in int32 (int64 for the s16 datapath).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .lowbit_weights import LOWBIT, lowbit_scales, lowbit_values

log = logging.getLogger(__name__)

WEIGHT_SCHEMES = ("symmetric", "pow2")


@dataclass
class QuantizedWeights:
    values: np.ndarray  # int8, in [-qmax, qmax]
    scale: np.ndarray  # float64 [n]: one per output channel, or [1]
    axis: int  # output-channel axis of ``values``
    bits: int

    @property
    def qmax(self) -> int:
        return weight_qmax(self.bits)

    def dequantize(self) -> np.ndarray:
        return self.values.astype(np.float64) * _expand(self.scale, self.values.ndim, self.axis)


def weight_qmax(bits: int) -> int:
    """Narrow symmetric range limit: 127 for int8, 7 for int4, 1 for ternary (2) and binary (1)."""
    if bits not in (1, 2, 4, 8):
        raise ValueError(f"weight bits must be 1, 2, 4 or 8, got {bits}")
    return 1 if bits in LOWBIT else (1 << (bits - 1)) - 1


def round_half_away(x) -> np.ndarray:
    """Round half away from zero (numpy's default rounds half to even)."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _expand(per_channel: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return (
        np.asarray(per_channel, dtype=np.float64).reshape(shape)
        if per_channel.size > 1
        else np.asarray(per_channel, dtype=np.float64).reshape([1] * ndim)
    )


def channel_absmax(w: np.ndarray, axis: int) -> np.ndarray:
    other = tuple(i for i in range(w.ndim) if i != axis)
    return np.max(np.abs(w), axis=other).astype(np.float64)


def weight_scales(
    w: np.ndarray, axis: int, bits: int, per_channel: bool = True, scheme: str = "symmetric"
) -> np.ndarray:
    """Scale per output channel (or one) such that max|w| maps to qmax."""
    if scheme not in WEIGHT_SCHEMES:
        raise ValueError(f"weight scheme must be one of {WEIGHT_SCHEMES}, got '{scheme}'")
    if bits in LOWBIT:
        return lowbit_scales(w, axis, bits, per_channel, scheme)
    qmax = weight_qmax(bits)
    absmax = channel_absmax(w, axis) if per_channel else np.array([float(np.max(np.abs(w)))])
    overall = float(absmax.max()) if absmax.size else 0.0
    # an all-zero channel quantizes to 0 with any scale; borrow the tensor's so
    # its bias stays in int32 range (1.0 when the whole tensor is zero)
    absmax = np.where(absmax > 0, absmax, overall if overall > 0 else float(qmax))
    scale = absmax / qmax
    if scheme == "pow2":
        # round up so that max|w| still fits without clipping
        scale = np.ldexp(1.0, np.ceil(np.log2(scale)).astype(np.int64))
    return scale


def quantize_weights(
    w: np.ndarray,
    axis: int,
    bits: int = 8,
    per_channel: bool = True,
    scheme: str = "symmetric",
    scale: np.ndarray | None = None,
) -> QuantizedWeights:
    """Round-to-nearest weights (``scale`` may be given, e.g. after refinement)."""
    w = np.asarray(w, dtype=np.float64)
    if scale is None:
        scale = weight_scales(w, axis, bits, per_channel, scheme)
    if bits in LOWBIT:
        q = lowbit_values(w, _expand(scale, w.ndim, axis), bits)
        return QuantizedWeights(q, np.asarray(scale, dtype=np.float64), axis, bits)
    qmax = weight_qmax(bits)
    q = np.clip(round_half_away(w / _expand(scale, w.ndim, axis)), -qmax, qmax)
    return QuantizedWeights(q.astype(np.int8), np.asarray(scale, dtype=np.float64), axis, bits)


def bias_dtype(datapath: str) -> type:
    return np.int64 if datapath == "s16" else np.int32


def quantize_bias(b: np.ndarray, input_scale: float, weight_scale: np.ndarray, datapath: str) -> tuple[np.ndarray, int]:
    """Bias in accumulator units and the number of entries that saturated."""
    dtype = bias_dtype(datapath)
    info = np.iinfo(dtype)
    real = round_half_away(np.asarray(b, dtype=np.float64) / (input_scale * weight_scale))
    # compare in float: int64 limits are not exact in float64, so saturate a bit inside
    limit_hi = float(info.max) if dtype is np.int32 else float(2**62)
    saturated = int(np.count_nonzero((real > limit_hi) | (real < -limit_hi)))
    return np.clip(real, -limit_hi, limit_hi).astype(dtype), saturated


CLIP_FRACTIONS = np.linspace(0.3, 1.0, 71)  # of each channel's max |w|: the MSE search grid


def parse_weight_clip(spec: str) -> tuple[str, float]:
    """'none' | 'mse' | 'sigma:K' -> (method, K); a one-line error otherwise."""
    method, _, arg = str(spec).partition(":")
    if method in ("none", "mse") and not arg:
        return method, 0.0
    if method == "sigma":
        try:
            k = float(arg)
        except ValueError:
            k = 0.0
        if k > 0:
            return method, k
    raise ValueError(f"weight clip must be none, mse or sigma:K with K > 0, got '{spec}'")


def clipped_scales(w: np.ndarray, axis: int, bits: int, per_channel: bool, scheme: str, clip: str) -> np.ndarray:
    """Weight scales with the range clipped per output channel (a clipped weight saturates at +-qmax).

    ``mse``: the clip of least squared weight error, searched over ``CLIP_FRACTIONS`` of max |w| with the
    exact quantizer (rounding and saturation); ``sigma:K``: K standard deviations of the channel's weights
    about zero (never beyond max |w|); ``none``: max |w|. Low bit widths gain most: at 4 bits an outlier
    weight otherwise sets a step that rounds most of the channel to 0 or +-1.
    """
    method, k = parse_weight_clip(clip)
    full = weight_scales(w, axis, bits, per_channel, scheme)
    if method == "none":
        return full
    qmax = weight_qmax(bits)
    rows = (
        np.moveaxis(np.asarray(w, np.float64), axis, 0).reshape(w.shape[axis], -1)
        if per_channel
        else np.asarray(w, np.float64).reshape(1, -1)
    )
    absmax = full * qmax if scheme == "symmetric" else np.max(np.abs(rows), axis=1)
    absmax = np.where(absmax > 0, absmax, full * qmax)
    if method == "sigma":
        sigma = np.sqrt(np.mean(rows**2, axis=1))
        return _scheme_scale(np.minimum(k * sigma, absmax), qmax, scheme, full)
    best, best_err = full, _weight_error(rows, full, qmax)
    for f in CLIP_FRACTIONS:
        scale = _scheme_scale(f * absmax, qmax, scheme, full)
        err = _weight_error(rows, scale, qmax)
        better = err < best_err
        best, best_err = np.where(better, scale, best), np.where(better, err, best_err)
    return best


def _scheme_scale(threshold: np.ndarray, qmax: int, scheme: str, fallback: np.ndarray) -> np.ndarray:
    scale = np.where(threshold > 0, threshold / qmax, fallback)
    if scheme == "pow2":
        scale = np.ldexp(1.0, np.ceil(np.log2(scale)).astype(np.int64))
    return scale


def _weight_error(rows: np.ndarray, scale: np.ndarray, qmax: int) -> np.ndarray:
    """Per row: sum of squared error of symmetric quantization with ``scale``."""
    s = scale[:, None]
    q = np.clip(round_half_away(rows / s), -qmax, qmax)
    return np.sum((q * s - rows) ** 2, axis=1)
