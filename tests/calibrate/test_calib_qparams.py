"""Quantization parameters from ranges, and the error model that prices ranges."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fixpoint.calibrate.errmodel import expected_error, sqnr_db
from fixpoint.calibrate.errors import CalibrationError
from fixpoint.calibrate.histogram import TensorObserver
from fixpoint.calibrate.qparams import quant_from_range, representable_range

RNG = np.random.default_rng(5)
RANGES = [
    (-1.0, 1.0),
    (-0.3, 5.0),
    (0.0, 6.0),
    (0.5, 2.0),
    (-7.0, -0.25),
    (-1e-3, 2e4),
    (-3.3333, 0.1),
    (0.0, 0.0),
    (-1e-9, 1e-9),
]


def _zero_is_exact(q) -> bool:
    # real 0 <-> integer code zero_point, which must be a legal code
    return q.qmin <= q.zero_point <= q.qmax and q.scale * (q.zero_point - q.zero_point) == 0.0


@pytest.mark.parametrize(
    "bits,scheme", [(8, "asymmetric"), (8, "symmetric"), (8, "pow2"), (16, "symmetric"), (16, "pow2")]
)
@pytest.mark.parametrize("lo,hi", RANGES)
def test_zero_representable_and_range_covered(lo: float, hi: float, bits: int, scheme: str) -> None:
    q = quant_from_range("t", lo, hi, bits, scheme, "max", (lo, hi))
    assert math.isfinite(q.scale) and q.scale > 0.0
    assert _zero_is_exact(q)
    assert q.lo <= 0.0 <= q.hi  # the range always includes 0
    r_lo, r_hi = representable_range(np.float64(q.scale), np.int64(q.zero_point), bits)
    assert r_lo <= q.lo + q.scale / 2 and r_hi >= q.hi - q.scale / 2
    if scheme == "symmetric" or bits == 16:
        assert q.zero_point == 0


@pytest.mark.parametrize("lo,hi", RANGES)
def test_symmetric_scale_and_zero_point(lo: float, hi: float) -> None:
    q = quant_from_range("t", lo, hi, 8, "symmetric", "max")
    assert q.zero_point == 0
    if max(-lo, hi) > 1e-3:
        assert q.scale == pytest.approx(max(-min(lo, 0), max(hi, 0)) / 127)


@pytest.mark.parametrize("lo,hi", RANGES)
def test_asymmetric_formula(lo: float, hi: float) -> None:
    q = quant_from_range("t", lo, hi, 8, "asymmetric", "max")
    lo_c, hi_c = min(lo, 0.0), max(hi, 0.0)
    if hi_c - lo_c > 1e-3:
        assert q.scale == pytest.approx((hi_c - lo_c) / 255)
        assert q.zero_point == int(np.clip(np.floor(-128 - lo_c / q.scale + 0.5), -128, 127))
    if lo >= 0.0:
        assert q.zero_point == -128  # all 256 codes serve [0, hi]


@pytest.mark.parametrize("lo,hi", RANGES)
@pytest.mark.parametrize("bits", [8, 16])
def test_pow2_scale_is_a_power_of_two_rounded_up(lo: float, hi: float, bits: int) -> None:
    q = quant_from_range("t", lo, hi, bits, "pow2", "max")
    mant, _ = math.frexp(q.scale)
    assert mant == 0.5  # exactly 2**k
    plain = quant_from_range("t", lo, hi, bits, "symmetric", "max")
    if lo >= 0.0 and bits == 8:
        assert q.zero_point == -128
        plain = quant_from_range("t", lo, hi, bits, "asymmetric", "max")
    assert plain.scale <= q.scale < 2 * plain.scale * (1 + 1e-12)


def test_degenerate_range_gets_tiny_positive_scale() -> None:
    for scheme in ("asymmetric", "symmetric", "pow2"):
        q = quant_from_range("dead", 0.0, 0.0, 8, scheme, "max")
        assert 0.0 < q.scale < 1e-6 and math.isfinite(q.scale)


def test_bad_arguments() -> None:
    with pytest.raises(CalibrationError, match="'t'.*bits"):
        quant_from_range("t", -1.0, 1.0, 4, "symmetric", "max")
    with pytest.raises(CalibrationError, match="'t'.*scheme"):
        quant_from_range("t", -1.0, 1.0, 8, "affine", "max")
    with pytest.raises(CalibrationError, match="'t'.*invalid clip range"):
        quant_from_range("t", 2.0, 1.0, 8, "symmetric", "max")
    with pytest.raises(CalibrationError, match="'t'.*invalid clip range"):
        quant_from_range("t", float("nan"), 1.0, 8, "symmetric", "max")


def _fake_quant_error(values: np.ndarray, lo: float, hi: float, scheme: str, power: int) -> float:
    q = quant_from_range("t", lo, hi, 8, scheme, "max")
    ints = np.clip(np.floor(values / q.scale + 0.5) + q.zero_point, q.qmin, q.qmax)
    return float(np.mean(np.abs(values - q.scale * (ints - q.zero_point)) ** power))


@pytest.mark.parametrize("scheme", ["asymmetric", "symmetric", "pow2"])
def test_error_model_matches_real_quantization(scheme: str) -> None:
    relu = np.maximum(RNG.standard_normal(400_000), 0).astype(np.float32)  # zero spike
    skew = (RNG.gamma(2.0, 1.0, 400_000) - 1.0).astype(np.float32)
    for values in (relu, skew):
        obs = TensorObserver("t")
        obs.update(values)
        stats = obs.result()
        for lo, hi in [(stats.min, stats.max), (min(stats.min, 0) * 0.5, stats.max * 0.4)]:
            for norm, power in (("l2", 2), ("l1", 1)):
                model = expected_error(stats, np.array([lo]), np.array([hi]), 8, scheme, norm)[0]
                assert model == pytest.approx(_fake_quant_error(values, lo, hi, scheme, power), rel=0.03)


def test_sqnr_of_8_bit_uniform_is_about_6db_per_bit() -> None:
    values = RNG.uniform(-1, 1, 200_000).astype(np.float32)
    obs = TensorObserver("t")
    obs.update(values)
    assert sqnr_db(obs.result(), -1.0, 1.0, 8, "symmetric") == pytest.approx(6.02 * 8, abs=0.5)


@pytest.mark.parametrize("scheme", ["asymmetric", "symmetric", "pow2"])
def test_moment_model_agrees_with_exact_model(scheme: str) -> None:
    from fixpoint.calibrate.errmodel import MomentModel

    values = np.concatenate(
        [RNG.standard_normal(300_000), np.maximum(RNG.standard_normal(300_000), 0), [9.0, -7.5]]
    ).astype(np.float32)
    obs = TensorObserver("t")
    obs.update(values)
    stats = obs.result()
    lo = np.array([stats.min, -3.0, -1.0, -0.2])
    hi = np.array([stats.max, 4.0, 1.5, 0.3])
    for norm in ("l2", "l1"):
        exact = expected_error(stats, lo, hi, 8, scheme, norm)
        assert MomentModel(stats).error(lo, hi, 8, scheme, norm) == pytest.approx(exact, rel=0.01)
