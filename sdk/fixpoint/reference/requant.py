"""Reference requantization (docs/rounding.md), vectorised over int64 numpy arrays.

Formulas are stated arithmetically (floor divisions of exact products) rather
than as the C bit tricks, so an error in either shows up as a mismatch.
"""

from __future__ import annotations

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
ROUNDING = {"double": 0, "single": 1, "shift_only": 2, "half_even": 3}


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def sat32(x) -> np.ndarray:
    return np.clip(_i64(x), INT32_MIN, INT32_MAX)


def round_half_up_div_pow2(x, e) -> np.ndarray:
    """floor(x / 2^e + 1/2) for e >= 1 (exact for |x| < 2^62)."""
    x, e = _i64(x), _i64(e)
    return (x + (np.int64(1) << (e - 1))) >> e


def round_half_away_div_pow2(x, e) -> np.ndarray:
    """x / 2^e rounded half away from zero; e == 0 returns x."""
    x, e = _i64(x), _i64(e)
    safe_e = np.maximum(e, 1)
    mag = (np.abs(x) + (np.int64(1) << (safe_e - 1))) >> safe_e
    return np.where(e <= 0, x, np.sign(x) * mag)


def round_half_even_div_pow2(x, e) -> np.ndarray:
    """x / 2^e rounded to nearest, ties to the even neighbour, for e >= 1."""
    x, e = _i64(x), _i64(e)
    q = x >> e  # floor
    rem = x - (q << e)
    half = np.int64(1) << (e - 1)
    return q + ((rem > half) | ((rem == half) & (q % 2 == 1)))


def fit_accumulator(acc, acc_bits: int = 32, wrap: bool = False) -> np.ndarray:
    """An int32 accumulator as an ``acc_bits``-wide register holds it: saturated, or wrapped mod 2^bits."""
    acc = _i64(acc)
    if acc_bits >= 32:
        return acc
    lo, span = -(1 << (acc_bits - 1)), 1 << acc_bits
    if wrap:
        return (acc - lo) % span + lo  # numpy %: result has the divisor's sign
    return np.clip(acc, lo, lo + span - 1)


def srdhm(a, b) -> np.ndarray:
    """round(a * b / 2^31), ties toward +inf, saturating a = b = INT32_MIN."""
    a, b = _i64(a), _i64(b)
    both_min = (a == INT32_MIN) & (b == INT32_MIN)
    res = round_half_up_div_pow2(np.where(both_min, 0, a * b), 31)
    return np.where(both_min, INT32_MAX, res)


def requant32(
    acc,
    multiplier,
    shift,
    rounding: str = "double",
    multiplier_bits: int = 32,
    acc_bits: int = 32,
    acc_wrap: bool = False,
) -> np.ndarray:
    """Scale int32 accumulators; arrays broadcast. Result saturated to int32.

    ``acc_bits`` < 32: the accumulator first passes an engine's narrower register (fit_accumulator)."""
    acc, m, s = fit_accumulator(acc, acc_bits, acc_wrap), _i64(multiplier), _i64(shift)
    bits = int(min(max(multiplier_bits, 2), 32))
    if rounding in ("single", "half_even"):
        total = np.clip((bits - 1) - s, 1, 62)
        divide = round_half_even_div_pow2 if rounding == "half_even" else round_half_up_div_pow2
        return sat32(divide(acc * m, total))
    if rounding == "shift_only":
        left = sat32(acc * (np.int64(1) << np.clip(s, 0, 31)))
        return np.where(s >= 0, left, round_half_away_div_pow2(acc, np.maximum(-s, 0)))
    m_q31 = m << (32 - bits)
    left = np.where(s > 0, np.minimum(s, 31), 0)
    x = sat32(acc * (np.int64(1) << left))
    return round_half_away_div_pow2(srdhm(x, m_q31), np.minimum(np.where(s > 0, 0, -s), 31))


def requant64(acc, multiplier, shift, rounding: str = "double", multiplier_bits: int = 32) -> np.ndarray:
    """Scale int64 accumulators (s16 datapath, TFLite's int64 path)."""
    # object dtype: accumulators may exceed int64 before the saturation to 48 bits
    x = np.asarray(np.clip(np.asarray(acc, dtype=object), -(1 << 47), (1 << 47) - 1), dtype=object).astype(np.int64)
    m, s = _i64(multiplier), _i64(shift)
    bits = int(min(max(multiplier_bits, 2), 32))
    if rounding == "shift_only":
        left = sat32(x * (np.int64(1) << np.clip(s, 0, 15)))
        return np.where(s >= 0, left, sat32(round_half_away_div_pow2(x, np.minimum(np.maximum(-s, 0), 62))))
    if bits > 16:
        d = bits - 16
        reduced = np.where(m < (0x7FFF << d), (m + (1 << (d - 1))) >> d, 0x7FFF)
        total = 15 - s
    else:
        reduced = m
        total = (bits - 1) - s
    reduced = np.maximum(reduced, 0)
    divide = round_half_even_div_pow2 if rounding == "half_even" else round_half_up_div_pow2
    return sat32(divide(x * reduced, np.clip(total, 1, 62)))


def shift_range(rounding: str, multiplier_bits: int = 32, acc_bits: int = 32) -> tuple[int, int]:
    """Legal shift values for a mode (docs/rounding.md); outside them kernels clamp."""
    if rounding in ("single", "half_even") or acc_bits == 64 and rounding != "shift_only":
        bits = multiplier_bits if (acc_bits == 32 or multiplier_bits <= 16) else 16
        return (bits - 1) - 62, (bits - 1) - 1
    if rounding == "shift_only":
        return -31 if acc_bits == 32 else -62, 31 if acc_bits == 32 else 15
    return -31, 31
