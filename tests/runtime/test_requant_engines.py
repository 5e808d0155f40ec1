"""Engine datapaths in fp_rq_mode_t: round-half-even and narrow (saturating / wrapping) accumulators.

The C requantizer (fp_requantize_acc32 / _acc64) against fixpoint.reference.requant, with
accumulators that leave the narrow register and constructed exact ties; and a float model of
the same arithmetic, which ignores the register and the tie rule, disagrees where they bite.
"""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.reference.requant import fit_accumulator, requant32, requant64
from kernel_harness import assert_exact, ffi, lib

CASES = 3000


def mode(rounding: int, bits: int, acc_bits: int = 0, wrap: int = 0):
    return ffi.new(
        "fp_rq_mode_t *", {"rounding": rounding, "multiplier_bits": bits, "acc_bits": acc_bits, "acc_wrap": wrap}
    )[0]


def c_requant32(acc, mult, shift, m) -> np.ndarray:
    return np.array(
        [lib.fp_requantize_acc32(int(a), int(x), int(s), m) for a, x, s in zip(acc, mult, shift)], dtype=np.int64
    )


@pytest.mark.parametrize("acc_bits,wrap", [(24, 0), (24, 1), (16, 0), (12, 1), (8, 0)])
@pytest.mark.parametrize("rounding,name", [(0, "double"), (1, "single"), (2, "shift_only"), (3, "half_even")])
def test_narrow_accumulator_matches_reference(acc_bits, wrap, rounding, name):
    rng = np.random.default_rng(acc_bits * 10 + rounding + 100 * wrap)
    bits = 16
    acc = rng.integers(-(1 << 31), 1 << 31, size=CASES) >> rng.integers(0, 31, size=CASES)
    mult = rng.integers(1 << (bits - 2), 1 << (bits - 1), size=CASES)
    shift = rng.integers(-20, 0, size=CASES)
    got = c_requant32(acc, mult, shift, mode(rounding, bits, acc_bits, wrap))
    want = requant32(acc, mult, shift, name, bits, acc_bits=acc_bits, acc_wrap=bool(wrap))
    assert_exact(got, want, f"{name} acc{acc_bits} wrap={wrap}")
    # the register bites on some of these cases: the int32 result differs there
    plain = requant32(acc, mult, shift, name, bits)
    assert np.count_nonzero(plain != want) > CASES // 10


def test_fit_accumulator_edges():
    values = np.array([(1 << 23) - 1, 1 << 23, -(1 << 23), -(1 << 23) - 1, (1 << 31) - 1, -(1 << 31)])
    assert fit_accumulator(values, 24).tolist() == [(1 << 23) - 1] * 2 + [-(1 << 23)] * 2 + [(1 << 23) - 1, -(1 << 23)]
    assert fit_accumulator(values, 24, wrap=True).tolist() == [
        (1 << 23) - 1,
        -(1 << 23),
        -(1 << 23),
        (1 << 23) - 1,
        -1,
        0,
    ]
    m = mode(1, 16, 24, 1)
    assert [lib.fp_requantize_acc32(int(v), 1 << 14, 1, m) for v in values] == requant32(
        values, 1 << 14, 1, "single", 16, acc_bits=24, acc_wrap=True
    ).tolist()


@pytest.mark.parametrize("acc64", [False, True])
def test_half_even_ties(acc64):
    """Exact ties k + 1/2 go to the even neighbour (single rounding sends them all up)."""
    rng = np.random.default_rng(7 + acc64)
    bits = 16
    t = rng.integers(15, 31, size=CASES)  # total shift; acc * m = acc * 2^14
    shift = (bits - 1) - t
    mult = np.full(CASES, 1 << (bits - 2))  # 0.5 in Q15
    k = rng.integers(-(1 << 10), 1 << 10, size=CASES)
    tie = (2 * k + 1) << (t - 15)  # acc * 2^(14 - t) = k + 1/2
    acc = np.where(rng.random(CASES) < 0.5, tie, tie + rng.integers(-3, 4, size=CASES))
    fn, ref = (lib.fp_requantize_acc64, requant64) if acc64 else (lib.fp_requantize_acc32, requant32)
    got = np.array([fn(int(a), int(x), int(s), mode(3, bits)) for a, x, s in zip(acc, mult, shift)])
    assert_exact(got, ref(acc, mult, shift, "half_even", bits), "half_even")
    ties = np.array([(int(a) << 14) % (1 << int(e)) == 1 << (int(e) - 1) for a, e in zip(acc, t)])
    assert np.all(got[ties] % 2 == 0)
    single = ref(acc, mult, shift, "single", bits)
    assert np.count_nonzero(single[ties] != got[ties]) > CASES // 8
    assert_exact(got[~ties], single[~ties], "half_even off the ties")


def test_float_model_misses_the_narrow_accumulator():
    """A float model of the requantizer (real scale, no register) disagrees once sums leave 24 bits."""
    acc = np.array([(1 << 23) + 5000, -(1 << 24), 3 << 22, 1000])
    mult, shift, bits = 1 << 14, -10, 16  # scale 0.5 * 2^-10
    got = c_requant32(acc, [mult] * 4, [shift] * 4, mode(1, bits, 24, 0))
    float_model = np.floor(acc * 2.0**-11 + 0.5).astype(np.int64)
    assert got[3] == float_model[3]
    assert np.all(got[:3] != float_model[:3])
    assert got[0] == ((1 << 23) - 1 + (1 << 10)) >> 11
