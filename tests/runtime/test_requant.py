"""fp_requantize_acc32 / fp_requantize_acc64 against fixpoint.reference.requant.

Random accumulators, multipliers and shifts over each mode's whole legal range
(docs/rounding.md), with constructed exact ties, saturation edges and the
worked examples of the documentation.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from fixpoint.reference.requant import requant32, requant64, shift_range
from kernel_harness import assert_exact, lib, make_rq_mode

ROUNDINGS = ("double", "single", "shift_only")
WIDTHS = (32, 16, 8, 2, 31, 17, 15, 24)
CASES = 4000  # per (mode, width): 3 * 8 * 4000 = 96,000 per accumulator width
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def call_c(fn, acc, mult, shift, rounding: str, bits: int) -> np.ndarray:
    mode = make_rq_mode(rounding, bits)
    return np.array([fn(int(a), int(m), int(s), mode) for a, m, s in zip(acc, mult, shift)], dtype=np.int64)


def random_multipliers(rng, n: int, bits: int) -> np.ndarray:
    top = 1 << (bits - 1)
    m = rng.integers(0, top, size=n)
    special = rng.random(n)
    m = np.where(special < 0.05, top - 1, m)  # largest
    m = np.where((special >= 0.05) & (special < 0.08), 0, m)
    m = np.where((special >= 0.08) & (special < 0.3), 1 << (bits - 2), m)  # 0.5: power-of-two scales
    m = np.where((special >= 0.3) & (special < 0.45), rng.integers(top // 2, top, size=n) | 1, m)  # odd, normalised
    return m.astype(np.int64)


def random_accumulators(rng, n: int, bits: int) -> np.ndarray:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    scale = np.exp2(rng.uniform(0, bits - 1, size=n))
    acc = np.clip(np.round(rng.uniform(-1, 1, size=n) * scale), lo, hi).astype(np.int64)
    special = rng.random(n)
    acc = np.where(special < 0.03, lo, acc)
    acc = np.where((special >= 0.03) & (special < 0.06), hi, acc)
    acc = np.where((special >= 0.06) & (special < 0.08), rng.integers(-2, 3, size=n), acc)
    return acc


def make_ties(
    rng, acc: np.ndarray, mult: np.ndarray, shift: np.ndarray, rounding: str, bits: int, acc_bits: int
) -> np.ndarray:
    """Replace a third of the accumulators by ones whose exact scaled value is k + 1/2.

    With an odd multiplier m and scale m * 2^(shift - (bits-1)), acc = (2j + 1) * 2^(t-1),
    t = (bits - 1) - shift, gives acc * scale = (2j + 1) * m / 2, a half-integer;
    with a power-of-two multiplier the same holds for the right exponent.
    """
    out = acc.copy()
    eff_bits = 16 if (acc_bits == 64 and bits > 16 and rounding != "shift_only") else bits
    for i in np.flatnonzero(rng.random(acc.size) < 0.33):
        if rounding == "shift_only":
            t = -int(shift[i])
        else:
            m = int(mult[i])
            if m == 0:
                continue
            tz = (m & -m).bit_length() - 1  # m = odd * 2^tz
            t = (eff_bits - 1) - int(shift[i]) - tz
        limit = acc_bits - 2 if acc_bits == 32 else 46
        if 1 <= t <= limit + 1:
            j = int(rng.integers(-(1 << max(0, limit - t)), 1 << max(0, limit - t)))
            out[i] = (2 * j + 1) << (t - 1)
    return out


def is_tie(acc: int, mult: int, shift: int, rounding: str, bits: int, acc_bits: int) -> bool:
    if rounding == "shift_only":
        scale = Fraction(2) ** shift
    elif acc_bits == 64 and bits > 16:
        d = bits - 16
        reduced = (mult + (1 << (d - 1))) >> d if mult < (0x7FFF << d) else 0x7FFF
        scale = Fraction(reduced, 1 << 15) * Fraction(2) ** shift
    else:
        scale = Fraction(mult, 1 << (bits - 1)) * Fraction(2) ** shift
    return (acc * scale - Fraction(1, 2)).denominator == 1


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_acc32_matches_reference(rounding):
    rng = np.random.default_rng([32, ROUNDINGS.index(rounding)])
    ties = 0
    for bits in WIDTHS:
        lo, hi = shift_range(rounding, bits, 32)
        acc = random_accumulators(rng, CASES, 32)
        mult = random_multipliers(rng, CASES, bits)
        shift = rng.integers(lo, hi + 1, size=CASES)
        shift[:4] = (lo, hi, 0, -1 if lo < 0 else hi)  # range ends always covered
        acc = make_ties(rng, acc, mult, shift, rounding, bits, 32)
        got = call_c(lib.fp_requantize_acc32, acc, mult, shift, rounding, bits)
        want = requant32(acc, mult, shift, rounding, bits)
        bad = np.flatnonzero(got != want)
        assert not bad.size, (
            f"{rounding}/{bits}: {bad.size} mismatches, first: acc={acc[bad[0]]} "
            f"m={mult[bad[0]]} s={shift[bad[0]]} got {got[bad[0]]} want {want[bad[0]]}"
        )
        ties += sum(
            is_tie(int(a), int(m), int(s), rounding, bits, 32) for a, m, s in zip(acc[:600], mult[:600], shift[:600])
        )
    assert ties > 200, f"only {ties} exact ties sampled: the tie construction is broken"


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_acc64_matches_reference(rounding):
    rng = np.random.default_rng([64, ROUNDINGS.index(rounding)])
    ties = 0
    for bits in WIDTHS:
        lo, hi = shift_range(rounding, bits, 64)
        acc = random_accumulators(rng, CASES, 50)  # about +-2^49: past the 2^47 saturation
        far = rng.random(CASES) < 0.03
        acc = np.where(
            far,
            rng.choice(
                [np.iinfo(np.int64).min, np.iinfo(np.int64).max, 1 << 47, -(1 << 47) - 1, (1 << 47) - 1, -(1 << 47)],
                size=CASES,
            ),
            acc,
        )
        mult = random_multipliers(rng, CASES, bits)
        shift = rng.integers(lo, hi + 1, size=CASES)
        shift[:4] = (lo, hi, 0, -1)
        acc = make_ties(rng, acc, mult, shift, rounding, bits, 64)
        got = call_c(lib.fp_requantize_acc64, acc, mult, shift, rounding, bits)
        want = requant64(acc, mult, shift, rounding, bits)
        bad = np.flatnonzero(got != want)
        assert not bad.size, (
            f"{rounding}/{bits}: {bad.size} mismatches, first: acc={acc[bad[0]]} "
            f"m={mult[bad[0]]} s={shift[bad[0]]} got {got[bad[0]]} want {want[bad[0]]}"
        )
        ties += sum(
            is_tie(int(a), int(m), int(s), rounding, bits, 64) for a, m, s in zip(acc[:600], mult[:600], shift[:600])
        )
    assert ties > 200, f"only {ties} exact ties sampled: the tie construction is broken"


# (acc, multiplier, shift, rounding, bits, expected): the worked examples of docs/rounding.md
DOC_EXAMPLES_32 = [
    (6, 1 << 30, -1, "double", 32, 2),  # 6 * 0.25 = 1.5: srdhm 3 (exact), rdbpot 1.5 -> 2 (away from 0)
    (-6, 1 << 30, -1, "double", 32, -2),  # -1.5 -> -2
    (6, 1 << 30, -1, "single", 32, 2),  # one rounding, half up
    (-6, 1 << 30, -1, "single", 32, -1),  # -1.5 -> -1 (half up, toward +inf)
    (-6, 0, -2, "shift_only", 32, -2),  # multiplier ignored: -6 / 4 = -1.5 -> -2 (away from 0)
    (5, 1 << 30, -1, "double", 32, 2),  # 1.25 -> 2: srdhm 2.5 -> 3, rdbpot 1.5 -> 2 (double rounding)
    (5, 1 << 30, -1, "single", 32, 1),  # 1.25 -> 1
    (-3, 1 << 30, 0, "double", 32, -1),  # srdhm ties go toward +inf: -1.5 -> -1
    (-3, 1 << 14, 0, "double", 16, -1),  # the same with a Q15 multiplier (widened to Q31 exactly)
    (3, 1 << 14, -1, "double", 16, 1),  # 0.75: srdhm 1.5 -> 2, rdbpot 1.0 -> 1
    (1 << 30, (1 << 31) - 1, 2, "double", 32, (1 << 31) - 2),  # 2^32 saturates to INT32_MAX before srdhm
    (INT32_MIN, 1 << 30, 1, "double", 32, -(1 << 30)),  # -2^32 saturates to INT32_MIN, * 0.5
    (INT32_MIN, (1 << 31) - 1, 0, "double", 32, INT32_MIN + 1),
    (INT32_MAX, 1, 30, "single", 32, 1 << 30),  # t = 31 - 30 = 1: (acc + 1) >> 1
    (3, 1, 31, "shift_only", 32, INT32_MAX),  # 3 * 2^31 saturates
    (-3, 1, 31, "shift_only", 32, INT32_MIN),
]


@pytest.mark.parametrize("acc,mult,shift,rounding,bits,want", DOC_EXAMPLES_32)
def test_acc32_documented_examples(acc, mult, shift, rounding, bits, want):
    got = lib.fp_requantize_acc32(acc, mult, shift, make_rq_mode(rounding, bits))
    assert got == want
    assert int(requant32(np.array([acc]), mult, shift, rounding, bits)[0]) == want


DOC_EXAMPLES_64 = [
    (6, 1 << 30, -1, "double", 32, 2),  # Q31 0.5 reduced to Q15 0.5; 1.5 -> 2
    (-6, 1 << 30, -1, "double", 32, -1),  # -1.5 -> -1: the int64 path rounds once, half up
    (-6, 1 << 30, -1, "single", 32, -1),  # DOUBLE and SINGLE are the same on the int64 path
    (5, 1 << 30, -1, "double", 32, 1),  # 1.25 -> 1 (no double rounding here)
    (-6, 0, -2, "shift_only", 32, -2),  # rounding shift: half away from zero
    (3, 1 << 14, 0, "double", 16, 2),  # a Q15 multiplier is used as is: 1.5 -> 2
    (100, 0x7FFF8000, 0, "double", 32, 100),  # m >= 0x7FFF0000 reduces to 0x7FFF: 99.997 -> 100
    (1 << 50, 1 << 30, 0, "double", 32, INT32_MAX),  # acc -> 2^47 - 1, * 0.5, saturated to int32
    (-(1 << 50), 1 << 30, 0, "double", 32, INT32_MIN),
    (-(1 << 50), 0, -62, "shift_only", 32, 0),  # -2^47 / 2^62 rounds to 0
]


@pytest.mark.parametrize("acc,mult,shift,rounding,bits,want", DOC_EXAMPLES_64)
def test_acc64_documented_examples(acc, mult, shift, rounding, bits, want):
    got = lib.fp_requantize_acc64(acc, mult, shift, make_rq_mode(rounding, bits))
    assert got == want
    assert int(requant64(np.array([acc]), mult, shift, rounding, bits)[0]) == want


def test_primitives_clamp_out_of_range_shifts():
    """Outside the legal range the primitives clamp the shift (no UB); kernels reject such shifts."""
    rng = np.random.default_rng(5)
    acc = random_accumulators(rng, 300, 32)
    for a in acc:
        a = int(a)
        for rounding, (lo, hi) in (("double", (-31, 31)), ("shift_only", (-31, 31)), ("single", (-31, 30))):
            mode = make_rq_mode(rounding, 32)
            m = (1 << 30) + 12345
            assert lib.fp_requantize_acc32(a, m, hi + 9, mode) == lib.fp_requantize_acc32(a, m, hi, mode)
            assert lib.fp_requantize_acc32(a, m, lo - 9, mode) == lib.fp_requantize_acc32(a, m, lo, mode)
            assert lib.fp_requantize_acc32(a, m, INT32_MIN, mode) == lib.fp_requantize_acc32(a, m, lo, mode)
            assert lib.fp_requantize_acc32(a, m, INT32_MAX, mode) == lib.fp_requantize_acc32(a, m, hi, mode)
        for rounding, (lo, hi) in (("double", (-47, 14)), ("single", (-47, 14)), ("shift_only", (-62, 15))):
            mode = make_rq_mode(rounding, 32)
            a64 = a << 16

            def r64(shift):
                return lib.fp_requantize_acc64(a64, 1 << 30, shift, mode)

            assert r64(hi + 5) == r64(INT32_MAX) == r64(hi)
            assert r64(lo - 5) == r64(INT32_MIN) == r64(lo)


def test_shift_ranges_match_documentation():
    """The legal ranges docs/rounding.md tabulates (and kernels enforce)."""
    assert shift_range("double", 32, 32) == (-31, 31)
    assert shift_range("shift_only", 32, 32) == (-31, 31)
    assert shift_range("single", 32, 32) == (-31, 30)
    assert shift_range("single", 16, 32) == (-47, 14)
    assert shift_range("single", 8, 32) == (-55, 6)
    assert shift_range("double", 32, 64) == shift_range("single", 32, 64) == (-47, 14)
    assert shift_range("double", 8, 64) == (-55, 6)
    assert shift_range("shift_only", 32, 64) == (-62, 15)


def test_reference_arrays_helper_is_exact():
    """assert_exact reports the differing index (guards the helper every kernel test relies on)."""
    with pytest.raises(AssertionError, match=r"\(1,\): got 3 want 2"):
        assert_exact(np.array([1, 3]), np.array([1, 2]), "helper")
