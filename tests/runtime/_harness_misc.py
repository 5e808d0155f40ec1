"""Helpers shared by the elementwise / pooling / softmax / data-movement kernel tests.

Builds on kernel_harness (cffi module, sentinel outputs, exact comparison) and
adds random legal scales, activation ranges and zero-point offsets for the
fp_scale_t-based params structs, plus chunked comparison of many cases.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fixpoint.reference.requant import shift_range
from kernel_harness import (
    FP_ERR_ARG,
    FP_OK,
    SENTINEL,
    as_ptr,
    assert_exact,
    ffi,
    is_untouched,
    lib,
    make_rq_mode,
    random_mode,
    random_scales,
    sentinel_output,
)

__all__ = [
    "FP_ERR_ARG",
    "FP_OK",
    "SENTINEL",
    "as_ptr",
    "assert_exact",
    "ffi",
    "is_untouched",
    "lib",
    "make_rq_mode",
    "random_mode",
    "sentinel_output",
    "DTYPE",
    "TYPE_RANGE",
    "CTYPE",
    "scale_array",
    "random_act_range",
    "random_input_offset",
    "random_output_offset",
    "random_values",
    "assert_cases",
    "expect_rejected",
    "bad_scales",
    "per_case",
]

DTYPE = {"s8": np.int8, "s16": np.int16}
TYPE_RANGE = {"s8": (-128, 127), "s16": (-32768, 32767)}
CTYPE = {"s8": "int8_t", "s16": "int16_t"}


def scale_array(rng: np.random.Generator, n: int, target, rounding: str, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` legal (multiplier, shift) pairs near ``target``: a fifth of them
    power-of-two multipliers (frequent exact rounding ties), a few arbitrary
    multipliers with shifts anywhere in the legal range (saturation, flush to
    zero), a few zero multipliers."""
    pow2 = rng.random(n) < 0.2
    m_any, s_any = random_scales(n, target, rounding, bits, 32)
    m_pow2, s_pow2 = random_scales(n, target, rounding, bits, 32, power_of_two=True)
    mult = np.where(pow2, m_pow2, m_any).astype(np.int64)
    shift = np.where(pow2, s_pow2, s_any).astype(np.int64)
    lo, hi = shift_range(rounding, bits, 32)
    wild = rng.random(n) < 0.04
    mult = np.where(wild, rng.integers(0, 1 << (bits - 1), n), mult)
    shift = np.where(wild, rng.integers(lo, hi + 1, n), shift)
    mult = np.where(rng.random(n) < 0.01, 0, mult)
    return mult, shift


def random_act_range(rng: np.random.Generator, n: int, datapath: str, output_offset) -> tuple[np.ndarray, np.ndarray]:
    """Per case: the full type range (70 %), a fused ReLU (15 %) or a random sub-range."""
    lo, hi = TYPE_RANGE[datapath]
    a, b = np.sort(rng.integers(lo, hi + 1, (2, n)), axis=0)
    u = rng.random(n)
    act_min = np.where(u < 0.7, lo, np.where(u < 0.85, np.maximum(lo, output_offset), a))
    act_max = np.where(u < 0.85, hi, b)
    return act_min.astype(np.int64), act_max.astype(np.int64)


def random_input_offset(rng: np.random.Generator, n: int, datapath: str) -> np.ndarray:
    """-zero_point: [-127, 128] for int8 tensors (extremes often), 0 for int16."""
    if datapath == "s16":
        return np.zeros(n, np.int64)
    off = rng.integers(-127, 129, n)
    return np.where(rng.random(n) < 0.1, rng.choice([-127, 128], n), off)


def random_output_offset(rng: np.random.Generator, n: int, datapath: str) -> np.ndarray:
    """+zero_point: [-128, 127] for int8 tensors, 0 for int16."""
    if datapath == "s16":
        return np.zeros(n, np.int64)
    off = rng.integers(-128, 128, n)
    return np.where(rng.random(n) < 0.1, rng.choice([-128, 127], n), off)


def random_values(rng: np.random.Generator, datapath: str, shape) -> np.ndarray:
    """Activations: the whole type range, only its extremes, or a narrow span."""
    lo, hi = TYPE_RANGE[datapath]
    u = rng.random()
    if u < 0.1:
        return rng.choice([lo, hi, lo + 1, hi - 1, 0], size=shape).astype(DTYPE[datapath])
    if u < 0.4:
        span = 1 << int(rng.integers(1, 8 if datapath == "s8" else 16))
        return np.clip(rng.integers(-span, span + 1, size=shape), lo, hi).astype(DTYPE[datapath])
    return rng.integers(lo, hi + 1, size=shape).astype(DTYPE[datapath])


def per_case(values: np.ndarray, ndim: int) -> np.ndarray:
    """Per-case parameters [K] reshaped to broadcast against [K, ...] data of ``ndim`` trailing dims."""
    return np.asarray(values).reshape((-1,) + (1,) * ndim)


def assert_cases(got: np.ndarray, want: np.ndarray, describe: Callable[[int], str], context: str) -> None:
    """Exact comparison of stacked per-case outputs; names the first failing case's parameters."""
    got64, want64 = np.asarray(got, np.int64), np.asarray(want, np.int64)
    if got64.shape == want64.shape and np.array_equal(got64, want64):
        return
    bad = np.argwhere(got64 != want64) if got64.shape == want64.shape else np.zeros((1, 1), int)
    k = int(bad[0][0])
    assert_exact(got[k], want[k], f"{context}: case {k} ({describe(k)})")
    assert_exact(got, want, context)


def expect_rejected(call: Callable[[np.ndarray], int], out_shape, dtype, what: str) -> None:
    """``call(out)`` must return FP_ERR_ARG and leave the sentinel output untouched."""
    out = sentinel_output(out_shape, dtype)
    status = int(call(out))
    assert status == FP_ERR_ARG, f"{what}: status {status}, expected FP_ERR_ARG"
    assert is_untouched(out), f"{what}: output written on error"


def bad_scales() -> list[tuple[str, tuple[int, int], int, int]]:
    """(description, (rounding code, bits), multiplier, shift) combinations that must be rejected."""
    return [
        ("unknown rounding", (4, 32), 1 << 30, 0),  # 3 is FP_ROUND_HALF_EVEN
        ("multiplier_bits 1", (0, 1), 0, 0),
        ("multiplier_bits 33", (0, 33), 1 << 30, 0),
        ("negative multiplier", (0, 32), -1, 0),
        ("multiplier 2^15 with 16 bits", (1, 16), 1 << 15, 0),
        ("double shift 32", (0, 32), 1 << 30, 32),
        ("double shift -32", (0, 32), 1 << 30, -32),
        ("single shift 31 (32 bits)", (1, 32), 1 << 30, 31),
        ("single shift -32 (32 bits)", (1, 32), 1 << 30, -32),
        ("single shift 7 (8 bits)", (1, 8), 64, 7),
        ("shift_only shift 32", (2, 32), 0, 32),
        ("shift_only shift -32", (2, 32), 0, -32),
    ]
