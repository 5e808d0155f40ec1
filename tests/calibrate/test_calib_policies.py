"""Range policies on synthetic distributions with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fixpoint.calibrate.errmodel import expected_error
from fixpoint.calibrate.errors import CalibrationError
from fixpoint.calibrate.histogram import TensorObserver, TensorStats
from fixpoint.calibrate.kl import kl_divergences, kl_threshold_bins
from fixpoint.calibrate import policies
from fixpoint.calibrate.policies import AUTO_CANDIDATES, POLICIES, ClipRange, choose_range
from fixpoint.calibrate.qparams import quant_from_range

RNG = np.random.default_rng(42)
GAUSS = RNG.standard_normal(200_000).astype(np.float32)
# Rare outliers (as in real activations, where a histogram counts millions of values):
# clipping them costs less squared error than the coarser step of keeping them.
BIG_GAUSS = RNG.standard_normal(1_000_000).astype(np.float32)
OUTLIERS = np.concatenate([BIG_GAUSS, np.array([12.0, -11.0, 12.5], np.float32)])


def _stats(values: np.ndarray, name: str = "t") -> TensorStats:
    obs = TensorObserver(name)
    obs.update(values)
    return obs.result()


def _fake_quant_mse(values: np.ndarray, lo: float, hi: float, scheme: str = "asymmetric") -> float:
    q = quant_from_range("t", lo, hi, 8, scheme, "max")
    ints = np.clip(np.floor(values / q.scale + 0.5) + q.zero_point, q.qmin, q.qmax)
    return float(np.mean((values - q.scale * (ints - q.zero_point)) ** 2))


def test_registry_has_every_policy() -> None:
    assert set(POLICIES) == {"max", "percentile", "kl", "l1", "l2", "auto"}
    with pytest.raises(CalibrationError, match="unknown range policy 'minmax'"):
        choose_range("minmax", _stats(GAUSS), 8, "asymmetric")


def test_max_is_the_observed_range() -> None:
    values = RNG.uniform(-1.0, 3.0, 10_000).astype(np.float32)
    lo, hi = POLICIES["max"](_stats(values), 8, "asymmetric")
    assert (lo, hi) == (float(values.min()), float(values.max()))


def test_non_negative_tensors_get_lo_zero_under_every_policy() -> None:
    relu = np.maximum(GAUSS, 0) + np.float32(0.0)
    shifted = RNG.uniform(1.0, 2.0, 10_000).astype(np.float32)
    for name in POLICIES:
        for values in (relu, shifted):
            choice = choose_range(name, _stats(values), 8, "asymmetric")
            assert isinstance(choice, ClipRange)
            assert choice.lo == 0.0, name
            assert 0.0 < choice.hi <= float(values.max()), name


def test_percentile_on_known_data() -> None:
    grid = np.arange(100_000, dtype=np.float32) / 100_000  # uniform on [0, 1)
    stats = _stats(grid)
    lo, hi = POLICIES["percentile"](stats, 8, "asymmetric", percentile=99.0)
    assert lo == 0.0 and abs(hi - 0.99) <= stats.bin_width
    _, hi = POLICIES["percentile"](stats, 8, "asymmetric")  # default 99.99
    assert abs(hi - 0.9999) <= stats.bin_width


def test_percentile_two_sided_for_asymmetric_and_magnitude_for_symmetric() -> None:
    values = np.concatenate([RNG.uniform(-1, 0, 50_000), RNG.uniform(0, 4, 50_000)]).astype(np.float32)
    stats = _stats(values)
    lo, hi = POLICIES["percentile"](stats, 8, "asymmetric", percentile=99.0)
    assert abs(lo - (-0.98)) < 0.02 and abs(hi - 3.92) < 0.03  # 1 % from each tail
    lo, hi = POLICIES["percentile"](stats, 8, "symmetric", percentile=99.0)
    assert abs(hi - 3.92) < 0.03 and lo == float(values.min())  # |x| percentile, short side kept


def test_l2_clips_gaussian_outliers_and_beats_max() -> None:
    stats = _stats(OUTLIERS)
    lo, hi = POLICIES["l2"](stats, 8, "asymmetric")
    assert 3.0 < hi < 8.0 and -8.0 < lo < -3.0
    assert _fake_quant_mse(OUTLIERS, lo, hi) < 0.6 * _fake_quant_mse(OUTLIERS, stats.min, stats.max)


def test_l1_clips_outliers_harder_than_l2() -> None:
    stats = _stats(OUTLIERS)
    _, hi_l1 = POLICIES["l1"](stats, 8, "asymmetric")
    _, hi_l2 = POLICIES["l2"](stats, 8, "asymmetric")
    assert 2.0 < hi_l1 < 10.0 and hi_l1 <= hi_l2 * 1.05


def test_l2_keeps_uniform_data_unclipped() -> None:
    values = RNG.uniform(-2.0, 2.0, 100_000).astype(np.float32)
    lo, hi = POLICIES["l2"](_stats(values), 8, "asymmetric")
    assert hi > 0.97 * values.max() and lo < 0.97 * values.min()


def test_l2_refines_each_tail_of_a_skewed_signed_tensor() -> None:
    skewed = np.concatenate([-np.abs(BIG_GAUSS[:500_000]) * 0.2, np.abs(BIG_GAUSS[500_000:]) * 2.0]).astype(np.float32)
    stats = _stats(skewed)
    lo, hi = POLICIES["l2"](stats, 8, "asymmetric")
    assert stats.min < lo < 0.0 < hi < stats.max  # the short tail is trimmed on its own
    common = POLICIES["l2"](stats, 8, "symmetric")  # a common |x| threshold only
    assert common.lo == stats.min
    assert _fake_quant_mse(skewed, lo, hi) < _fake_quant_mse(skewed, stats.min, hi)


def test_kl_is_sensible() -> None:
    lo, hi = POLICIES["kl"](_stats(OUTLIERS), 8, "symmetric")
    assert 2.0 < hi < 20.0 and lo == -hi
    uniform = RNG.uniform(-1.0, 1.0, 100_000).astype(np.float32)
    lo, hi = POLICIES["kl"](_stats(uniform), 8, "symmetric")
    assert hi > 0.95 * uniform.max()
    lo, hi = POLICIES["kl"](_stats(OUTLIERS), 16, "symmetric")  # 32768 levels > bins: no clip
    assert (lo, hi) == (float(OUTLIERS.min()), float(OUTLIERS.max()))


def _dwsep_relu6_stats() -> TensorStats:
    """The histogram of dwsep's first ReLU6 output over its calibration set (tests/calibrate/data)."""
    with np.load(Path(__file__).parent / "data" / "dwsep_relu6_hist.npz") as saved:
        return TensorStats(
            "relu6",
            0.0,
            float(saved["max"]),
            int(saved["count"]),
            saved["hist"],
            int(saved["range_exp"]),
            int(saved["zeros"]),
        )


@pytest.mark.parametrize("scheme", ["asymmetric", "symmetric"])
def test_kl_keeps_a_saturating_clamp_whole(scheme: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """ReLU6 piles values up at 6.0; plain KL cut dwsep's at 2.0 and cost 6.7 pp of top-1."""
    stats = _dwsep_relu6_stats()
    assert POLICIES["kl"](stats, 8, scheme) == (0.0, 6.0)
    monkeypatch.setattr(policies, "SPIKE_FRACTION", np.inf)  # without the rule ...
    assert POLICIES["kl"](stats, 8, scheme).hi <= 5.5  # ... the spike is cut off


def test_a_lone_extreme_value_is_no_saturation_spike() -> None:
    relu = np.maximum(RNG.laplace(0.0, 1.0, 1000), 0).astype(np.float32)  # small tensor, 1 value on top
    assert not policies._saturation_spike(_stats(relu).abs_hist())


def _kl_reference(hist: np.ndarray, levels: int, kept: int) -> float:
    """TensorRT's loop for one candidate, literally (no smoothing)."""
    h = hist.astype(np.float64)
    p = h[:kept].copy()
    p[kept - 1] += h[kept:].sum()
    per = kept // levels
    q = np.zeros(kept)
    for g in range(levels):
        start, end = g * per, (g + 1) * per if g < levels - 1 else kept
        nonzero = p[start:end] != 0
        if nonzero.any():
            q[start:end][nonzero] = h[start:end].sum() / nonzero.sum()
    p, q = p / p.sum(), q / q.sum()
    mask = p > 0
    if np.any(q[mask] == 0):
        return np.inf
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


@pytest.mark.parametrize("levels", [128, 256])
def test_vectorised_kl_matches_the_reference_loop(levels: int) -> None:
    """Many group sizes (kept // levels: 1..12 for 128 levels, 1..6 for 256) and both level counts."""
    hist = _stats(OUTLIERS).abs_hist()
    kept, divergence = kl_divergences(hist, levels)
    assert len(set((kept // levels).tolist())) >= 6
    for index in list(range(0, len(kept), 97)) + [len(kept) - 1]:
        assert divergence[index] == pytest.approx(_kl_reference(hist, levels, int(kept[index])), rel=1e-9, abs=1e-12)
    assert kl_threshold_bins(hist, levels) in kept


def test_auto_picks_least_l2_and_records_the_winner() -> None:
    stats = _stats(OUTLIERS)
    choice = POLICIES["auto"](stats, 8, "asymmetric")
    assert choice.policy in AUTO_CANDIDATES
    candidates = [POLICIES[name](stats, 8, "asymmetric") for name in AUTO_CANDIDATES]
    errors = expected_error(
        stats, np.array([c.lo for c in candidates]), np.array([c.hi for c in candidates]), 8, "asymmetric"
    )
    mine = expected_error(stats, np.array([choice.lo]), np.array([choice.hi]), 8, "asymmetric")[0]
    assert mine == pytest.approx(errors.min())


def test_policies_without_histogram_fail_clearly() -> None:
    obs = TensorObserver("conv_out", histogram=False)
    obs.update(GAUSS[:100])
    stats = obs.result()
    assert POLICIES["max"](stats, 8, "asymmetric") == (stats.min, stats.max)
    with pytest.raises(CalibrationError, match="conv_out.*'kl' needs a histogram"):
        POLICIES["kl"](stats, 8, "asymmetric")


def test_non_positive_tensor() -> None:
    values = -np.abs(GAUSS[:10_000])
    for name in POLICIES:
        lo, hi = choose_range(name, _stats(values), 8, "asymmetric")
        assert hi == 0.0 and float(values.min()) <= lo < 0.0, name


def test_all_zero_tensor_under_every_policy() -> None:
    stats = _stats(np.zeros(1000, np.float32))
    for name in POLICIES:
        for scheme in ("asymmetric", "symmetric", "pow2"):
            assert tuple(choose_range(name, stats, 8, scheme)) == (0.0, 0.0), (name, scheme)
