"""Scale -> (multiplier, shift) register selection for every requant profile."""

import numpy as np
import pytest

from fixpoint.ir import ModelError
from fixpoint.lower.scales import (
    achieved_factor,
    legal_shift_range,
    quantize_scale,
    require_representable,
    scale_tolerance,
)
from fixpoint.plan import RequantProfile
from fixpoint.reference.requant import requant32, requant64

RNG = np.random.default_rng(0)
SCALES = np.concatenate([np.exp(RNG.uniform(np.log(1e-6), np.log(50.0), 500)), [0.5, 1.0, 2.0, 0.999999999]])


def tflite_quantize_multiplier(scale: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier (C++ std::frexp / std::round), written independently."""
    import math

    if scale == 0:
        return 0, 0
    q, shift = math.frexp(scale)
    q_fixed = int(math.floor(q * (1 << 31) + 0.5))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    return q_fixed, shift


def test_double_32bit_matches_tflite_quantize_multiplier():
    regs = quantize_scale(SCALES, RequantProfile())
    expected = [tflite_quantize_multiplier(float(s)) for s in SCALES]
    assert [(int(m), int(s)) for m, s in zip(regs.multiplier, regs.shift)] == expected


def test_carry_of_2_pow_31_moves_to_the_shift():
    scale = 1.0 - 2.0**-40  # rounds to 2^31 at Q31
    regs = quantize_scale(scale, RequantProfile())
    assert (int(regs.multiplier[0]), int(regs.shift[0])) == (1 << 30, 1)


@pytest.mark.parametrize("rounding", ["double", "single", "shift_only"])
@pytest.mark.parametrize("k", [-20, -7, -1, 0, 1, 5])
def test_powers_of_two_are_exact(rounding, k):
    for bits in (32, 16, 8):
        regs = quantize_scale(2.0**k, RequantProfile(rounding=rounding, multiplier_bits=bits))
        assert regs.rel_error[0] == 0.0
        assert regs.achieved[0] == 2.0**k


@pytest.mark.parametrize("bits", [32, 24, 16, 12, 8, 4])
@pytest.mark.parametrize("rounding", ["double", "single"])
def test_error_is_bounded_by_the_register_precision(bits, rounding):
    profile = RequantProfile(rounding=rounding, multiplier_bits=bits)
    # keep the shift inside every range (4-bit single rounding allows shifts up to 2)
    regs = quantize_scale(SCALES[(SCALES > 1e-4) & (SCALES < 2.0)], profile)
    assert np.all(regs.multiplier < (1 << (bits - 1)))
    assert np.all(regs.multiplier >= (1 << (bits - 2)))  # normalized: the most precise choice
    assert regs.max_rel_error <= 2.0 ** -(bits - 1)
    np.testing.assert_array_equal(regs.achieved, achieved_factor(regs.multiplier, regs.shift, profile))


@pytest.mark.parametrize("rounding", ["double", "single"])
@pytest.mark.parametrize("bits", [32, 16, 8])
def test_registers_scale_accumulators_like_the_kernel(rounding, bits):
    profile = RequantProfile(rounding=rounding, multiplier_bits=bits)
    acc = RNG.integers(-(1 << 20), 1 << 20, size=200)
    for scale in (0.0003721, 0.0123, 0.5, 0.77, 1.9, 3.2):
        regs = quantize_scale(scale, profile)
        got = requant32(acc, regs.multiplier[0], regs.shift[0], rounding, bits)
        want = acc * regs.achieved[0]
        # kernel = exact product of the achieved factor, up to its (double) rounding
        assert np.max(np.abs(got - want)) <= 1.0, (scale, np.max(np.abs(got - want)))


def test_64bit_accumulator_path_uses_the_q15_reduction():
    profile = RequantProfile()
    for scale in (1.7e-5, 0.000123, 0.0061, 0.99999):
        limit = min(1 << 46, int(2**30 / scale))  # no saturation of the int32 result
        acc = RNG.integers(-limit, limit, size=200)
        regs = quantize_scale(scale, profile, acc_bits=64)
        got = requant64(acc, regs.multiplier[0], regs.shift[0], "double", 32)
        want = acc * regs.achieved[0]
        assert np.max(np.abs(got - want)) <= 0.5 + 1e-6
        assert regs.max_rel_error <= 2.0**-15


def test_shift_only_picks_the_nearest_power_of_two():
    profile = RequantProfile(rounding="shift_only")
    regs = quantize_scale([0.7, 0.76, 3.0, 2.9, 1 / 256], profile)
    assert regs.shift.tolist() == [-1, 0, 2, 1, -8]
    # the multiplier is ignored by SHIFT_ONLY; it holds the Q31 value closest to 1.0
    assert set(regs.multiplier.tolist()) == {(1 << 31) - 1}
    acc = np.arange(-1000, 1000)
    np.testing.assert_array_equal(
        requant32(acc, 12345, regs.shift[4], "shift_only"),
        requant32(acc, regs.multiplier[4], regs.shift[4], "shift_only"),
    )


def test_zero_scale_is_exact():
    regs = quantize_scale([0.0, 0.25], RequantProfile())
    assert regs.multiplier[0] == 0 and regs.rel_error[0] == 0.0


def test_scale_below_the_shift_range_loses_precision_then_underflows():
    profile = RequantProfile(multiplier_bits=16, shift_min=-8, shift_max=7)
    regs = quantize_scale([2.0**-10 * 0.75, 2.0**-30], profile)
    assert regs.shift.tolist() == [-8, -8]
    assert regs.rel_error[0] == 0.0  # 0.75 * 2^-10 = 12288/2^15 * 2^-8: still exact
    assert regs.multiplier[1] == 0 and regs.rel_error[1] == 1.0
    assert regs.ideal_shift[1] == -29


def test_scale_above_the_shift_range_saturates_the_multiplier():
    profile = RequantProfile(multiplier_bits=8, shift_min=-16, shift_max=2)
    regs = quantize_scale(40.0, profile)
    assert (int(regs.multiplier[0]), int(regs.shift[0])) == (127, 2)
    assert regs.rel_error[0] == pytest.approx(1 - 127 / 128 * 4 / 40)


def test_unrepresentable_scale_raises_a_one_line_error_naming_the_layer():
    profile = RequantProfile(multiplier_bits=16, shift_min=-8, shift_max=7)
    regs = quantize_scale([0.01, 2.0**-30], profile)
    with pytest.raises(ModelError) as info:
        require_representable(regs, "conv_7", "output", profile, 1e-3)
    msg = str(info.value)
    assert "\n" not in msg
    assert "conv_7" in msg and "channel 1" in msg and "-29" in msg and "[-8, 7]" in msg


def test_shift_only_error_says_power_of_two():
    profile = RequantProfile(rounding="shift_only")
    regs = quantize_scale(0.3, profile)
    with pytest.raises(ModelError, match=r"layer 'lr'.*not a power of two.*pow2"):
        require_representable(regs, "lr", "alpha", profile, 1e-3)


def test_narrow_multiplier_precision_is_not_an_error():
    profile = RequantProfile(multiplier_bits=6)
    regs = quantize_scale(SCALES[SCALES > 1e-4], profile)
    assert regs.max_rel_error > 1e-3
    require_representable(regs, "fc", "output", profile, 1e-3)  # the register's own limit
    assert scale_tolerance(profile, 1e-3) == pytest.approx(2.0**-5)


def test_profile_range_intersects_the_mode_range():
    assert legal_shift_range(RequantProfile()) == (-31, 30)
    assert legal_shift_range(RequantProfile(rounding="single", multiplier_bits=16)) == (-31, 14)
    assert legal_shift_range(RequantProfile(), acc_bits=64) == (-31, 14)
    with pytest.raises(ModelError, match="does not overlap"):
        legal_shift_range(RequantProfile(rounding="single", multiplier_bits=8, shift_min=10, shift_max=20))


def test_vectorised_per_channel():
    scales = np.array([1e-3, 2e-3, 5e-4])
    regs = quantize_scale(scales, RequantProfile())
    assert regs.multiplier.shape == (3,) and regs.shift.tolist() == [-9, -8, -10]
