"""Reference integer softmax over the last axis of [rows, depth] (TFLite).

s8 (TFLite reference Softmax for int8 -> int8, as CMSIS-NN arm_softmax_s8):
gemmlowp fixed point. Notation: "Qi" is a raw int32 r standing for
r / 2^(31 - i) (i integer bits). With d = x - max(row):

* d >= diff_min is rescaled to Q5 by SaturatingRoundingDoublingHighMul(
  d * 2^input_left_shift, input_multiplier) (the product saturates to int32);
* exp(d) in Q0 is gemmlowp's exp_on_negative_values: d = -k/4 + r with
  r in [-1/4, 0): a 4th-order Taylor polynomial around -1/8 for exp(r), then a
  multiplication by exp(-2^j / 4) for every set bit j of k;
* the exps, each rounded to Q12, are summed (saturated to int32); the sum is
  normalised to [1, 2) and its reciprocal taken by gemmlowp's three-step
  Newton-Raphson one_over_one_plus_x_for_x_in_0_1;
* out = round(reciprocal * exp / 2^(num_bits_over_unit + 23)) - 128, clamped,
  and -128 where d < diff_min. Output scale 1/256, zero point -128.

s8_s16 (TFLite's int8 -> int16 Softmax): the same up to the last step, which
divides by 2^(num_bits_over_unit + 15) and subtracts 32768 (clamped; -32768
where d < diff_min). Output scale 1/65536, zero point -32768.

s16 (TFLite SoftmaxInt16): d is rescaled by input_multiplier /
input_left_shift (TFLite MultiplyByQuantizedMultiplier, double rounding) so
that [-65535, 0] spans [-10, 0], shifted by +32767 into int16 and looked up in
the interpolating 513-entry exp table; the sum of exps (Q15) is normalised,
its reciprocal looked up in the 1/(1+x) table, and each exp multiplied by it
with a rounding shift. Output scale 1/32768, zero point 0.

Every fixed-point constant is derived below from its real value, the way
gemmlowp's GEMMLOWP_CHECKED_FIXEDPOINT_CONSTANT checks them.

The parameters may be scalars or per-row arrays of shape [rows, 1] (tables
[rows, 513]), so that rows of many differently parameterised calls can be
checked in one go.
"""

from __future__ import annotations

import math

import numpy as np

from .requant import INT32_MAX, INT32_MIN, requant32, round_half_away_div_pow2, srdhm

ACCUMULATION_INTEGER_BITS = 12  # TFLite kAccumulationIntegerBits
SCALED_DIFF_INTEGER_BITS = 5  # TFLite kScaledDiffIntegerBits


def fixed_constant(value: float, integer_bits: int) -> int:
    """The raw int32 closest to ``value`` in Q(integer_bits)."""
    return int(round(value * 2.0 ** (31 - integer_bits)))


EXP_MINUS_ONE_EIGHTH = fixed_constant(math.exp(-1.0 / 8.0), 0)
ONE_THIRD = fixed_constant(1.0 / 3.0, 0)
# exp(-2^j / 4) for j = 0..6, i.e. exp(-1/4) ... exp(-16)
EXP_MINUS_QUARTER_POWERS = tuple(fixed_constant(math.exp(-(2.0**j) / 4.0), 0) for j in range(7))
FORTY_EIGHT_OVER_SEVENTEEN = fixed_constant(48.0 / 17.0, 2)
MINUS_THIRTY_TWO_OVER_SEVENTEEN = fixed_constant(-32.0 / 17.0, 2)


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def times_pow2_saturated(x, exponent: int) -> np.ndarray:
    """x * 2^exponent saturated to int32 (exponent >= 0)."""
    return np.clip(_i64(x) * (1 << exponent), INT32_MIN, INT32_MAX)


def rounding_half_sum(a, b) -> np.ndarray:
    """(a + b) / 2 rounded to nearest, ties away from zero."""
    s = _i64(a) + _i64(b)
    return np.sign(s) * ((np.abs(s) + 1) // 2)


def exp_on_interval(a) -> np.ndarray:
    """exp(a) for Q0 a in [-1/4, 0): Taylor expansion in x = a + 1/8,
    exp(a) = exp(-1/8) * (1 + x + x^2/2 + x^3/6 + x^4/24)."""
    x = _i64(a) + (1 << 28)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    # ((x^4/4 + x^3) / 3 + x^2) / 2 = x^4/24 + x^3/6 + x^2/2
    tail = round_half_away_div_pow2(srdhm(round_half_away_div_pow2(x4, 2) + x3, ONE_THIRD) + x2, 1)
    return EXP_MINUS_ONE_EIGHTH + srdhm(EXP_MINUS_ONE_EIGHTH, x + tail)


def exp_on_negative_values_q5(a) -> np.ndarray:
    """exp(a) in Q0 for Q5 values a <= 0; exp(0) is the largest Q0 value."""
    a = _i64(a)
    quarter = 1 << (31 - SCALED_DIFF_INTEGER_BITS - 2)  # 1/4 in Q5
    r = np.mod(a, quarter) - quarter  # in [-1/4, 0)
    quarters = (r - a) // quarter  # a = r - quarters / 4
    result = exp_on_interval(r * (1 << SCALED_DIFF_INTEGER_BITS))
    for j, factor in enumerate(EXP_MINUS_QUARTER_POWERS):
        result = np.where((quarters >> j) & 1 == 1, srdhm(result, factor), result)
    return np.where(a == 0, INT32_MAX, result)


def one_over_one_plus_x(a) -> np.ndarray:
    """1 / (1 + a) in Q0 for Q0 a in [0, 1): Newton-Raphson on d = (1 + a)/2,
    x <- x + x * (1 - d * x), three times, from x = 48/17 - 32/17 * d (Q2)."""
    d = rounding_half_sum(a, INT32_MAX)
    x = FORTY_EIGHT_OVER_SEVENTEEN + srdhm(d, MINUS_THIRTY_TWO_OVER_SEVENTEEN)
    for _ in range(3):
        one_minus_dx = (1 << 29) - srdhm(d, x)  # Q2
        x = x + times_pow2_saturated(srdhm(x, one_minus_dx), 2)  # Q4 -> Q2
    return times_pow2_saturated(x, 1)  # 1/d / 2 in Q1 -> Q0


def leading_zeros32(x) -> np.ndarray:
    """Leading zero bits of positive int32 values."""
    _, exponent = np.frexp(_i64(x).astype(np.float64))  # x = m * 2^e, m in [0.5, 1)
    return 32 - exponent.astype(np.int64)


def reciprocal(total, integer_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite GetReciprocal: (scale Q0, num_bits_over_unit) with
    1 / total = scale * 2^-num_bits_over_unit, for total > 0 in Q(integer_bits)."""
    total = _i64(total)
    headroom_plus_one = leading_zeros32(total)
    normalised_minus_one = total * (np.int64(1) << headroom_plus_one) - (1 << 31)
    return one_over_one_plus_x(normalised_minus_one), integer_bits - headroom_plus_one


def softmax_s8(x, *, input_multiplier, input_left_shift, diff_min) -> np.ndarray:
    """int8 softmax over the last axis (output scale 1/256, zero point -128)."""
    return _softmax_from_s8(x, input_multiplier, input_left_shift, diff_min, 8)


def softmax_s8_s16(x, *, input_multiplier, input_left_shift, diff_min) -> np.ndarray:
    """int8 in, int16 out softmax over the last axis (output scale 1/65536, zero point -32768)."""
    return _softmax_from_s8(x, input_multiplier, input_left_shift, diff_min, 16)


def _softmax_from_s8(x, input_multiplier, input_left_shift, diff_min, out_bits: int) -> np.ndarray:
    """The int8-input softmax with an ``out_bits``-bit output (zero point -2^(out_bits-1))."""
    lo, hi = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    x = _i64(x)
    diff = x - x.max(axis=-1, keepdims=True)
    used = diff >= _i64(diff_min)
    shifted = np.clip(diff * (np.int64(1) << _i64(input_left_shift)), INT32_MIN, INT32_MAX)
    scaled = srdhm(shifted, input_multiplier)
    exps = exp_on_negative_values_q5(scaled)
    exps_q12 = round_half_away_div_pow2(exps, ACCUMULATION_INTEGER_BITS)
    total = np.minimum(np.where(used, exps_q12, 0).sum(axis=-1, keepdims=True), INT32_MAX)
    scale, bits_over_unit = reciprocal(total, ACCUMULATION_INTEGER_BITS)
    prob = round_half_away_div_pow2(srdhm(scale, exps), bits_over_unit + 31 - out_bits) + lo
    return np.where(used, np.clip(prob, lo, hi), lo)


def wrap16(v) -> np.ndarray:
    """v reduced into [-32768, 32767] modulo 2^16."""
    return np.mod(_i64(v) + 32768, 1 << 16) - 32768


def lut_lookup_s16(value, lut) -> np.ndarray:
    """TFLite's interpolating int16 table lookup on a 513-entry table: entry
    (value + 32768) // 128, plus the slope to the next entry times the
    remaining 7 bits, rounded (results wrap to int16 like TFLite's casts).
    ``lut`` is one table [513] or one per leading index of ``value`` [..., 513]."""
    lut = _i64(lut)
    if lut.shape[-1] != 513:
        raise ValueError(f"lookup table must have 513 entries, got shape {lut.shape}")
    biased = _i64(value) + 32768
    index, frac = biased // 128, biased % 128
    if lut.ndim == 1:
        base, following = lut[index], lut[index + 1]
    else:
        base = np.take_along_axis(lut, index, axis=-1)
        following = np.take_along_axis(lut, index + 1, axis=-1)
    slope = wrap16(following - base)
    return wrap16(base + (slope * frac + 64) // 128)


def softmax_s16(x, *, input_multiplier, input_left_shift, exp_lut, one_over_one_plus_x_lut) -> np.ndarray:
    """int16 softmax over the last axis (input zero point 0, output scale 1/32768)."""
    x = _i64(x)
    diff = x - x.max(axis=-1, keepdims=True)
    scaled = requant32(diff, input_multiplier, input_left_shift, "double", 32)
    exps = lut_lookup_s16(np.clip(scaled + 32767, -32768, 32767), exp_lut)  # Q15
    total = np.clip(exps.sum(axis=-1, keepdims=True), 1, INT32_MAX)
    headroom_plus_one = leading_zeros32(total)
    # total normalised to [2^30, 2^31), then to Q15 of a value in [1, 2]
    shifted = (total * (np.int64(1) << (headroom_plus_one - 1)) + (1 << 13)) // (1 << 14)
    recip = lut_lookup_s16(np.clip(shifted - (1 << 15) - (1 << 16), -32768, 32767), one_over_one_plus_x_lut)
    right_shift = 31 - headroom_plus_one
    half = np.where(right_shift > 0, np.int64(1) << np.maximum(right_shift - 1, 0), 0)
    out = (exps * recip + half) // (np.int64(1) << right_shift)
    return np.clip(out, 0, 32767)
