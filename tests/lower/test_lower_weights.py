"""Weight and bias quantization."""

import numpy as np
import pytest

from fixpoint.lower.weights import quantize_bias, quantize_weights, round_half_away, weight_scales

RNG = np.random.default_rng(1)


def test_per_channel_int8_uses_the_narrow_symmetric_range():
    w = RNG.normal(size=(6, 3, 3, 4)) * np.array([1e-3, 0.1, 1, 10, 100, 0.5])[:, None, None, None]
    qw = quantize_weights(w, axis=0, bits=8)
    assert qw.values.dtype == np.int8 and qw.scale.shape == (6,)
    per_channel_max = np.abs(qw.values.reshape(6, -1)).max(axis=1)
    np.testing.assert_array_equal(per_channel_max, [127] * 6)  # every channel uses the full range
    assert qw.values.min() >= -127
    err = np.abs(qw.dequantize() - w).reshape(6, -1).max(axis=1)
    assert np.all(err <= qw.scale / 2 + 1e-12)


def test_int4_range_is_minus_7_to_7():
    w = RNG.normal(size=(5, 40))
    qw = quantize_weights(w, axis=0, bits=4)
    assert qw.values.min() >= -7 and qw.values.max() <= 7
    assert np.all(np.abs(qw.values).max(axis=1) == 7)


def test_depthwise_channel_axis_is_last():
    w = RNG.normal(size=(1, 3, 3, 8)) * np.arange(1, 9)
    qw = quantize_weights(w, axis=3, bits=8)
    np.testing.assert_allclose(qw.scale, np.abs(w).max(axis=(0, 1, 2)) / 127)


def test_per_tensor_has_one_scale():
    w = RNG.normal(size=(4, 10))
    qw = quantize_weights(w, axis=0, bits=8, per_channel=False)
    assert qw.scale.shape == (1,) and qw.scale[0] == pytest.approx(np.abs(w).max() / 127)


def test_pow2_scales_are_powers_of_two_and_never_clip():
    w = RNG.normal(size=(7, 12)) * 3
    qw = quantize_weights(w, axis=0, bits=8, scheme="pow2")
    assert np.all(np.log2(qw.scale) == np.round(np.log2(qw.scale)))
    assert np.all(np.abs(w) / qw.scale[:, None] <= 127)


def test_all_zero_channel_borrows_the_tensor_scale():
    w = RNG.normal(size=(3, 5))
    w[1] = 0
    scale = weight_scales(w, 0, 8)
    assert scale[1] == pytest.approx(np.abs(w).max() / 127)
    assert np.all(quantize_weights(w, 0).values[1] == 0)


def test_bias_is_rounded_to_accumulator_units_and_saturates():
    b = np.array([0.5, -0.25, 1e9])
    q, saturated = quantize_bias(b, 0.01, np.array([0.001, 0.002, 0.001]), "s8")
    assert q.dtype == np.int32 and q.tolist()[:2] == [50000, -12500] and q[2] == 2**31 - 1
    assert saturated == 1
    q16, saturated16 = quantize_bias(b, 0.01, np.array([0.001, 0.002, 0.001]), "s16")
    assert q16.dtype == np.int64 and q16[2] == 100_000_000_000_000 and saturated16 == 0


def test_round_half_away_from_zero():
    assert round_half_away([0.5, 1.5, -0.5, -2.5, 2.4]).tolist() == [1, 2, -1, -3, 2]
