"""From a real clip range [lo, hi] to integer quantization parameters.

real = scale * (q - zero_point), q a signed ``bits``-bit integer. Whatever the
scheme, the range is first widened to include 0 and the zero point is an
integer, so real 0 (ReLU outputs, padding) is exactly representable.

* symmetric  -- zero_point 0, scale = max(|lo|, |hi|) / qmax;
* asymmetric -- scale = (hi - lo) / (2**bits - 1), zero_point = round(qmin - lo/scale);
* pow2       -- the scale rounded *up* to a power of two (shift-only requantization):
  zero_point 0 for signed ranges and for 16-bit tensors (16-bit kernels take no
  offset); for non-negative 8-bit ranges zero_point = qmin so all 256 codes serve [0, hi].

``scale_zero_point`` is vectorised: the range search in
:mod:`fixpoint.calibrate.errmodel` prices candidate ranges with exactly the
parameters ``quant_from_range`` would produce.
"""

from __future__ import annotations

import math

import numpy as np

from fixpoint.calibrate.errors import CalibrationError
from fixpoint.quant import POLICIES, SCHEMES, TensorQuant

# A range narrower than this is treated as "all zeros". The floor keeps the
# scale far from 0 so later requantization multipliers (s_in*s_w/s_out) stay
# within hardware shift ranges instead of overflowing.
MIN_RANGE = 1e-6


def qlimits(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def scale_zero_point(lo: np.ndarray, hi: np.ndarray, bits: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise (scale, zero_point) for ranges [lo, hi] (any broadcastable arrays)."""
    qmin, qmax = qlimits(bits)
    lo = np.minimum(np.asarray(lo, np.float64), 0.0)
    hi = np.maximum(np.asarray(hi, np.float64), 0.0)
    if scheme == "symmetric":
        amax = np.maximum(np.maximum(-lo, hi), MIN_RANGE)
        return amax / qmax, np.zeros(amax.shape, np.int64)
    if scheme == "asymmetric":
        width = np.maximum(hi - lo, MIN_RANGE)
        scale = width / (qmax - qmin)
        zero = np.clip(np.floor(qmin - lo / scale + 0.5), qmin, qmax).astype(np.int64)
        return scale, zero
    if scheme == "pow2":
        return _pow2(lo, hi, bits)
    raise CalibrationError(f"unknown quantization scheme '{scheme}' (choose from {', '.join(SCHEMES)})")


def _pow2(lo: np.ndarray, hi: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    qmin, qmax = qlimits(bits)
    unsigned = (lo >= 0.0) & (bits <= 8)
    amax = np.maximum(np.maximum(-lo, hi), MIN_RANGE)
    raw = np.where(unsigned, np.maximum(hi, MIN_RANGE) / (qmax - qmin), amax / qmax)
    mant, exp = np.frexp(raw)  # raw = mant * 2**exp, 0.5 <= mant < 1
    scale = np.ldexp(1.0, np.where(mant == 0.5, exp - 1, exp))  # round up to 2**k
    zero = np.where(unsigned, qmin, 0).astype(np.int64)
    return scale, zero


def representable_range(scale: np.ndarray, zero: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Real interval [scale*(qmin-zp), scale*(qmax-zp)] the integers cover."""
    qmin, qmax = qlimits(bits)
    return scale * (qmin - zero), scale * (qmax - zero)


def quant_from_range(
    name: str, lo: float, hi: float, bits: int, scheme: str, policy: str, observed: tuple[float, float] = (0.0, 0.0)
) -> TensorQuant:
    """TensorQuant for clip range [lo, hi]; ``observed`` is the seen (min, max)."""
    _check_args(name, lo, hi, bits, scheme, policy)
    lo_c, hi_c = min(float(lo), 0.0), max(float(hi), 0.0)
    scale, zero = scale_zero_point(np.float64(lo_c), np.float64(hi_c), bits, scheme)
    return TensorQuant(
        name=name,
        scale=float(scale),
        zero_point=int(zero),
        bits=bits,
        scheme=scheme,
        policy=policy,
        lo=lo_c,
        hi=hi_c,
        observed_min=float(observed[0]),
        observed_max=float(observed[1]),
    )


def _check_args(name: str, lo: float, hi: float, bits: int, scheme: str, policy: str) -> None:
    if bits not in (8, 16):
        raise CalibrationError(f"tensor '{name}': activation bits must be 8 or 16, got {bits}")
    if scheme not in SCHEMES:
        raise CalibrationError(f"tensor '{name}': unknown scheme '{scheme}' (choose from {', '.join(SCHEMES)})")
    if policy not in POLICIES:
        raise CalibrationError(f"tensor '{name}': unknown policy '{policy}' (choose from {', '.join(POLICIES)})")
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise CalibrationError(f"tensor '{name}': invalid clip range [{lo}, {hi}]")
