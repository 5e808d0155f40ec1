"""Real scale factors -> (multiplier, shift) register values for a RequantProfile.

A register pair means ``real = multiplier / 2^(bits-1) * 2^shift`` (docs/rounding.md),
with ``0 <= multiplier < 2^(bits-1)`` and ``shift`` in the legal range of the
mode. ``shift_only`` hardware ignores the multiplier: ``real = 2^shift``.

The choice is closed form: the normalized representation (multiplier in
``[2^(bits-2), 2^(bits-1))``, TFLite ``QuantizeMultiplier`` for 32 bits) is the
most precise one, so it is taken whenever its shift is legal; outside the range
the clamped shift with the best multiplier is the least-error representable
value. Every result carries the factor the kernel really applies and the
relative error, so lowering can record and bound it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fixpoint.ir import ModelError
from fixpoint.plan import RequantProfile
from fixpoint.reference.requant import shift_range

# the widest multiplier the 64-bit (s16) accumulator path really uses: it
# reduces wider multipliers to Q15 (fp_requant64)
_ACC64_MULT_BITS = 16


@dataclass(frozen=True)
class ScaleRegisters:
    """Register values for one or more real scales (one entry per channel)."""

    scale: np.ndarray  # float64, the wanted real factors
    multiplier: np.ndarray  # int64 register values (fit int32)
    shift: np.ndarray  # int64 register values (fit int32)
    achieved: np.ndarray  # float64, the factor the kernel applies
    rel_error: np.ndarray  # float64, |achieved - scale| / scale (0 for scale 0)
    ideal_shift: np.ndarray  # int64, shift the scale needs with a normalized multiplier

    @property
    def max_rel_error(self) -> float:
        return float(self.rel_error.max()) if self.rel_error.size else 0.0

    def pairs(self) -> list[dict[str, int]]:
        """As fp_scale_t dicts (the plan's representation of a scalar scale)."""
        return [{"multiplier": int(m), "shift": int(s)} for m, s in zip(self.multiplier, self.shift)]


def legal_shift_range(profile: RequantProfile, acc_bits: int = 32) -> tuple[int, int]:
    """The board's register range intersected with what the kernel mode allows."""
    lo, hi = shift_range(profile.rounding, profile.multiplier_bits, acc_bits)
    lo, hi = max(lo, profile.shift_min), min(hi, profile.shift_max)
    if lo > hi:
        raise ModelError(
            f"requant profile: shift range [{profile.shift_min}, {profile.shift_max}] does not "
            f"overlap the legal range of rounding '{profile.rounding}' "
            f"with {profile.multiplier_bits}-bit multipliers"
        )
    return lo, hi


def effective_multiplier_bits(profile: RequantProfile, acc_bits: int = 32) -> int:
    """Multiplier precision the kernel really uses (the 64-bit path reduces to Q15)."""
    bits = int(min(max(profile.multiplier_bits, 2), 32))
    if acc_bits == 64 and profile.rounding != "shift_only":
        return min(bits, _ACC64_MULT_BITS)
    return bits


def precision_floor(profile: RequantProfile, acc_bits: int = 32) -> float:
    """Worst relative error of a normalized multiplier: the hardware's own limit.

    0 for shift_only, whose only exact values are powers of two.
    """
    if profile.rounding == "shift_only":
        return 0.0
    return 2.0 ** -(effective_multiplier_bits(profile, acc_bits) - 1)


def _round_half_up(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


def _normalized(scale: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Q(bits-1) mantissa and exponent, the 2^(bits-1) carry folded into the exponent."""
    q, exp = np.frexp(scale)  # scale = q * 2^exp, q in [0.5, 1)
    m = _round_half_up(q * 2.0 ** (bits - 1))
    carry = m >= 2.0 ** (bits - 1)
    m = np.where(carry, m / 2.0, m)
    exp = exp + carry.astype(np.int64)
    return m, exp.astype(np.int64)


def _multiplier_registers(scale: np.ndarray, bits: int, lo: int, hi: int):
    """(multiplier, shift, ideal_shift) at ``bits`` of precision within [lo, hi]."""
    m, exp = _normalized(scale, bits)
    shift = np.clip(exp, lo, hi)
    # outside the range, re-round the mantissa for the clamped shift; above the
    # range the multiplier saturates, below it loses precision (maybe to 0)
    rescaled = _round_half_up(np.ldexp(scale, (bits - 1) - shift))
    m = np.where(shift == exp, m, np.minimum(rescaled, 2.0 ** (bits - 1) - 1))
    zero = scale == 0
    m = np.where(zero, 0.0, m)
    shift = np.where(zero, 0, shift).astype(np.int64)
    shift = np.clip(shift, lo, hi)
    return m.astype(np.int64), shift, np.where(zero, 0, exp)


def _shift_only_registers(scale: np.ndarray, bits: int, lo: int, hi: int):
    q, exp = np.frexp(scale)
    # nearest power of two in relative terms: 2^(exp-1) unless scale >= 1.5 * 2^(exp-1)
    ideal = np.where(2.0 * q >= 1.5, exp, exp - 1).astype(np.int64)
    ideal = np.where(scale == 0, lo, ideal)
    shift = np.clip(ideal, lo, hi)
    # the kernel ignores the multiplier; store the Q(bits-1) value closest to 1.0
    # so a reader applying the generic formula still gets ~2^shift
    m = np.full(scale.shape, (1 << (bits - 1)) - 1, dtype=np.int64)
    return m, shift, ideal


def achieved_factor(
    multiplier: np.ndarray, shift: np.ndarray, profile: RequantProfile, acc_bits: int = 32
) -> np.ndarray:
    """The real factor the kernel applies for these registers (ignoring rounding of acc)."""
    m = np.asarray(multiplier, dtype=np.float64)
    s = np.asarray(shift, dtype=np.int64)
    if profile.rounding == "shift_only":
        return np.ldexp(np.ones_like(m), s)
    bits = int(min(max(profile.multiplier_bits, 2), 32))
    if acc_bits == 64 and bits > _ACC64_MULT_BITS:
        d = bits - _ACC64_MULT_BITS
        cap = float(0x7FFF << d)
        m = np.where(m < cap, np.floor((m + 2.0 ** (d - 1)) / 2.0**d), float(0x7FFF))
        bits = _ACC64_MULT_BITS
    return np.ldexp(m, s - (bits - 1))


def quantize_scale(scale, profile: RequantProfile, acc_bits: int = 32) -> ScaleRegisters:
    """Register values for real scale factor(s) ``scale`` (scalar or per channel)."""
    values = np.atleast_1d(np.asarray(scale, dtype=np.float64))
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"scales must be finite and non-negative, got {values[~(values >= 0)][:3]}")
    lo, hi = legal_shift_range(profile, acc_bits)
    bits = int(min(max(profile.multiplier_bits, 2), 32))
    if profile.rounding == "shift_only":
        m, shift, ideal = _shift_only_registers(values, bits, lo, hi)
    else:
        eff = effective_multiplier_bits(profile, acc_bits)
        m, shift, ideal = _multiplier_registers(values, eff, lo, hi)
        # the 64-bit path rounds the register back down by bits - eff
        m = m << (bits - eff)
    achieved = achieved_factor(m, shift, profile, acc_bits)
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.where(values > 0, np.abs(achieved - values) / np.where(values > 0, values, 1.0), 0.0)
    return ScaleRegisters(values, m, shift, achieved, err, ideal)


def scale_tolerance(profile: RequantProfile, max_scale_error: float, acc_bits: int = 32) -> float:
    """Error above which a scale counts as unrepresentable on this board.

    A narrow multiplier register is never an error by itself: its own rounding
    limit (``precision_floor``) is always accepted.
    """
    return max(max_scale_error, precision_floor(profile, acc_bits) * (1.0 + 1e-9))


def require_representable(
    regs: ScaleRegisters, layer: str, what: str, profile: RequantProfile, max_scale_error: float, acc_bits: int = 32
) -> None:
    """Raise a one-line ModelError naming the layer when a scale is off by more than allowed."""
    tol = scale_tolerance(profile, max_scale_error, acc_bits)
    bad = np.flatnonzero(regs.rel_error > tol)
    if bad.size == 0:
        return
    i = int(bad[np.argmax(regs.rel_error[bad])])
    lo, hi = legal_shift_range(profile, acc_bits)
    channel = f" (channel {i})" if regs.scale.size > 1 else ""
    if profile.rounding == "shift_only" and lo <= regs.ideal_shift[i] <= hi:
        reason = (
            f"is not a power of two (nearest 2^{int(regs.shift[i])}); this board has shift-only "
            f"requantization, calibrate with the pow2 scheme"
        )
    else:
        reason = (
            f"needs shift {int(regs.ideal_shift[i])} but the board's shift range is [{lo}, {hi}] "
            f"({profile.rounding}, {profile.multiplier_bits}-bit multiplier)"
        )
    raise ModelError(
        f"layer '{layer}': {what} scale {regs.scale[i]:.6g}{channel} {reason}; "
        f"relative error {regs.rel_error[i]:.3g} exceeds {tol:.3g}"
    )
