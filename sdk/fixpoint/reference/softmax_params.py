"""Integer softmax parameters from float scales, exactly as TFLite's Prepare computes them.

This runs at lowering time on the host: floats are fine here (they never reach
the integer datapath). TFLite stores beta and scales as float32, so by default
the inputs are first rounded to float32, then the arithmetic is done in double
like the TFLite C++ (``float32_inputs=False`` skips that rounding).

* s8 (``softmax_s8_params``): PreprocessSoftmaxScaling with 5 integer bits,
  input_beta_real_multiplier = min(beta * input_scale * 2^26, 2^31 - 1),
  QuantizeMultiplierGreaterThanOne, diff_min = -CalculateInputRadius(5,
  input_left_shift, 31).
* s16 (``softmax_s16_params``): QuantizeMultiplier(input_scale * beta /
  (10 / 65535)) (the float32 product, as in TFLite), and the two 513-entry
  int16 tables of gen_lut: exp(x) on [-10, 0] and 1 / (1 + x) on [0, 1].
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LUT_SIZE = 513  # TFLite kInt16LUTArraySize
SCALED_DIFF_INTEGER_BITS = 5  # TFLite kScaledDiffIntegerBits (s8 path)


@dataclass(frozen=True)
class SoftmaxS8Params:
    input_multiplier: int
    input_left_shift: int
    diff_min: int


@dataclass(frozen=True)
class SoftmaxS16Params:
    input_multiplier: int
    input_left_shift: int
    exp_lut: np.ndarray  # int16[513]
    one_over_one_plus_x_lut: np.ndarray  # int16[513]


def tflite_round(x: float) -> float:
    """std::round: to nearest, halfway cases away from zero."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier (double rounding build): real = m / 2^31 * 2^shift,
    m in [2^30, 2^31); shifts below -31 flush to (0, 0)."""
    if real == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real)
    q = int(tflite_round(fraction * (1 << 31)))
    if abs(q) > (1 << 31):
        raise ValueError(f"quantize_multiplier: {real!r} is not a finite positive scale")
    if q == (1 << 31):
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if q > (1 << 31) - 1:
        raise ValueError(f"quantize_multiplier: {real!r} does not fit")
    return q, shift


def quantize_multiplier_greater_than_one(real: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplierGreaterThanOne: requires real > 1, shift >= 0."""
    if not real > 1.0:
        raise ValueError(
            f"softmax: beta * input_scale * 2^26 = {real!r} must exceed 1 "
            "(input scale too small for TFLite's int8 softmax)"
        )
    multiplier, shift = quantize_multiplier(real)
    if shift < 0:
        raise ValueError(f"softmax: negative left shift {shift} for multiplier {real!r}")
    return multiplier, shift


def preprocess_softmax_scaling(beta: float, input_scale: float, input_integer_bits: int) -> tuple[int, int]:
    """TFLite PreprocessSoftmaxScaling (double rounding): (multiplier, left_shift)."""
    max_real_multiplier = float((1 << 31) - 1)
    real = min(beta * input_scale * float(1 << (31 - input_integer_bits)), max_real_multiplier)
    return quantize_multiplier_greater_than_one(real)


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLite CalculateInputRadius: the largest |input diff| whose rescaled value fits."""
    max_input_rescaled = (
        1.0
        * ((1 << input_integer_bits) - 1)
        * float(1 << (total_signed_bits - input_integer_bits))
        / float(1 << input_left_shift)
    )
    return int(math.floor(max_input_rescaled))


def _as_float32(x: float, enabled: bool) -> float:
    return float(np.float32(x)) if enabled else float(x)


def softmax_s8_params(input_scale: float, beta: float = 1.0, *, float32_inputs: bool = True) -> SoftmaxS8Params:
    """input_multiplier, input_left_shift and diff_min of fp_softmax_params_t (s8)."""
    beta = _as_float32(beta, float32_inputs)
    input_scale = _as_float32(input_scale, float32_inputs)
    multiplier, left_shift = preprocess_softmax_scaling(beta, input_scale, SCALED_DIFF_INTEGER_BITS)
    diff_min = -calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift, 31)
    return SoftmaxS8Params(multiplier, left_shift, diff_min)


def gen_lut(func: Callable[[float], float], input_min: float, input_max: float, size: int = LUT_SIZE) -> np.ndarray:
    """TFLite gen_lut (double precision, int16 output in Q15 of [-1, 1)): size - 1
    samples of func, each biased by half the interpolation error at the
    midpoint of its segment, plus func(input_max) as the last entry."""
    steps = size - 1
    step = (input_max - input_min) / steps
    half_step = step / 2.0
    table = np.empty(size, dtype=np.int16)

    def to_table(v: float) -> int:
        return int(min(max(v, -32768.0), 32767.0))

    for i in range(steps):
        value = func(input_min + i * step)
        value_next = func(input_min + (i + 1) * step)
        value_mid = func(input_min + i * step + half_step)
        sample = tflite_round(value * 32768.0)
        midpoint_interp = tflite_round((value_next * 32768.0 + tflite_round(value * 32768.0)) / 2.0)
        midpoint = tflite_round(value_mid * 32768.0)
        bias = tflite_round((midpoint_interp - midpoint) / 2.0)
        table[i] = to_table(sample - bias)
    table[steps] = to_table(tflite_round(func(input_max) * 32768.0))
    return table


@functools.lru_cache(maxsize=None)
def _constant_luts() -> tuple[np.ndarray, np.ndarray]:
    exp_table = gen_lut(math.exp, -10.0, 0.0)
    reciprocal_table = gen_lut(lambda v: 1.0 / (1.0 + v), 0.0, 1.0)
    exp_table.flags.writeable = False
    reciprocal_table.flags.writeable = False
    return exp_table, reciprocal_table


def exp_lut() -> np.ndarray:
    """exp(x) on [-10, 0] (TFLite: exp(-10) is negligible in the sum); a fresh int16[513] copy."""
    return _constant_luts()[0].copy()


def one_over_one_plus_x_lut() -> np.ndarray:
    """1 / (1 + x) on [0, 1]; a fresh int16[513] copy."""
    return _constant_luts()[1].copy()


def softmax_s16_params(input_scale: float, beta: float = 1.0, *, float32_inputs: bool = True) -> SoftmaxS16Params:
    """input_multiplier, input_left_shift and the two tables of fp_softmax_params_t (s16).

    The rescale maps input differences so that [-65535, 0] spans [-10, 0]."""
    if float32_inputs:
        product = float(np.float32(input_scale) * np.float32(beta))  # float * float in TFLite
    else:
        product = float(input_scale) * float(beta)
    multiplier, shift = quantize_multiplier(product / (10.0 / 65535.0))
    if not -31 <= shift <= 31 or multiplier < 0:
        raise ValueError(f"softmax: input scale {input_scale!r} * beta {beta!r} is out of range for int16 softmax")
    return SoftmaxS16Params(multiplier, shift, exp_lut(), one_over_one_plus_x_lut())
