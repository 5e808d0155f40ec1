"""Streaming statistics: exact, order/batch independent, constant-size state."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fixpoint.calibrate.errors import CalibrationError
from fixpoint.calibrate.histogram import (
    HALF_BINS,
    NUM_BINS,
    TensorObserver,
    TensorStats,
    observe_values,
    merge_bin_pairs,
    range_exp_for,
)


def _observe(values: np.ndarray, batch: int | None = None) -> TensorStats:
    obs = TensorObserver("t")
    if batch is None:
        obs.update(values)
    else:
        for start in range(0, len(values), batch):
            obs.update(values[start : start + batch])
    return obs.result()


def _reference_hist(values: np.ndarray, range_exp: int) -> np.ndarray:
    """Direct float64 binning at the final range."""
    width = math.ldexp(1.0, range_exp) / HALF_BINS
    index = np.floor(values.astype(np.float64).ravel() / width).astype(np.int64) + HALF_BINS
    return np.bincount(index, minlength=NUM_BINS)


def _growing_values() -> np.ndarray:
    """Magnitudes rising over ~13 octaves so streaming doubles the range many times."""
    rng = np.random.default_rng(7)
    scale = np.logspace(-3, 1, 300)[:, None]
    values = (rng.standard_normal((300, 17)) * scale).astype(np.float32)
    values[150:160] = np.abs(values[150:160])  # include exact powers of two too
    values[200, 0] = 4.0
    values[201, 0] = -8.0
    return values


def test_streaming_in_batches_of_7_equals_all_at_once() -> None:
    values = _growing_values()
    whole = _observe(values)
    streamed = _observe(values, batch=7)
    first = TensorObserver("t")
    first.update(values[:7])
    assert streamed.range_exp - first.range_exp >= 8  # the merge path really ran
    assert streamed.range_exp == whole.range_exp
    assert np.array_equal(streamed.hist, whole.hist)
    assert (streamed.min, streamed.max, streamed.count) == (whole.min, whole.max, whole.count)


def test_order_does_not_matter() -> None:
    values = _growing_values()
    assert np.array_equal(_observe(values[::-1], batch=7).hist, _observe(values, batch=5).hist)


def test_histogram_matches_direct_binning() -> None:
    values = _growing_values()
    stats = _observe(values, batch=7)
    assert stats.range_exp == range_exp_for(float(np.abs(values).max()))
    assert np.array_equal(stats.hist, _reference_hist(values, stats.range_exp))
    assert stats.hist.sum() == values.size


@pytest.mark.parametrize("size", [1, 255, 256, 257, 1023, 100_003])
def test_kernel_blocks_and_lanes_match_direct_binning(size: int) -> None:
    """Whole blocks, partial blocks and a tail shorter than the lane count, in one call."""
    rng = np.random.default_rng(size)
    values = rng.standard_normal(size).astype(np.float32) * 3
    values[::5] = 0.0  # runs of one bin (ReLU zeros)
    values[::7] = np.maximum(values[::7], 0)
    exp = range_exp_for(float(np.abs(values).max()))
    hist = np.full(NUM_BINS, 5, np.int64)  # accumulates into what is there
    summary = observe_values(values, exp, hist)
    assert summary.added and summary.nans == 0
    assert (summary.min, summary.max) == (values.min(), values.max())
    assert summary.zeros == int(np.count_nonzero(values == 0.0))
    assert np.array_equal(hist - 5, _reference_hist(values, exp))


def test_kernel_leaves_the_histogram_alone_when_a_value_does_not_fit() -> None:
    values = np.array([0.5, -1.0, 3.0, 0.0], np.float32)
    hist = np.zeros(NUM_BINS, np.int64)
    too_small = observe_values(values, 1, hist)  # [-2, 2) cannot hold 3.0
    assert not too_small.added and not hist.any()
    assert (too_small.min, too_small.max, too_small.zeros) == (-1.0, 3.0, 1)
    assert observe_values(values, 2, hist).added and hist.sum() == 4
    edge = np.array([-4.0], np.float32)  # -R is inside [-R, R); +R is not
    assert observe_values(edge, 2, hist).added
    assert not observe_values(-edge, 2, hist).added
    nan = observe_values(np.array([1.0, np.nan, -2.0], np.float32), 4, hist)
    assert not nan.added and nan.nans == 1  # (min/max are then unspecified)
    assert hist.sum() == 5


def test_kernel_rejects_a_foreign_histogram() -> None:
    with pytest.raises(ValueError, match="NUM_BINS"):
        observe_values(np.ones(4, np.float32), 1, np.zeros(NUM_BINS, np.int32))


def test_range_is_next_power_of_two_strictly_above_max() -> None:
    stats = _observe(np.array([0.5, -8.0, 3.0], np.float32))
    assert stats.range == 16.0
    assert stats.hist[0 + HALF_BINS - 8 * HALF_BINS // 16] == 1  # -8 lands in its own bin


def test_merge_bin_pairs_equals_binning_at_double_range() -> None:
    values = np.random.default_rng(3).uniform(-0.99, 0.99, 5000).astype(np.float32)
    at_1 = _reference_hist(values, 0)
    for steps in (1, 2, 5, 13):
        assert np.array_equal(merge_bin_pairs(at_1, steps), _reference_hist(values, steps))


def test_state_size_does_not_grow_with_samples() -> None:
    rng = np.random.default_rng(0)
    small, large = TensorObserver("a"), TensorObserver("b")
    for _ in range(100 // 10):
        small.update(rng.standard_normal((10, 64)).astype(np.float32))
    for _ in range(1000 // 10):
        large.update(rng.standard_normal((10, 64)).astype(np.float32))
    assert small.count * 10 == large.count
    assert small.state_nbytes() == large.state_nbytes()
    assert large.result().hist.nbytes == NUM_BINS * 8


def test_abs_hist_and_edges() -> None:
    stats = _observe(np.array([-0.75, -0.25, 0.0, 0.25, 0.5], np.float32))
    assert stats.range == 1.0 and stats.offset == -1.0
    assert stats.hist_edges[0] == -1.0 and stats.hist_edges[-1] == 1.0
    folded = stats.abs_hist()
    width = stats.bin_width
    assert folded.sum() == 5
    assert folded[int(0.25 / width) - 1] + folded[int(0.25 / width)] == 2  # -0.25 and 0.25
    assert stats.is_nonnegative is False


def test_all_zero_tensor() -> None:
    stats = _observe(np.zeros((4, 4), np.float32))
    assert stats.min == stats.max == 0.0
    assert stats.hist[HALF_BINS] == 16


def test_nan_is_reported_with_tensor_name() -> None:
    obs = TensorObserver("conv_out")
    with pytest.raises(CalibrationError, match="conv_out"):
        obs.update(np.array([1.0, np.nan], np.float32))


def test_min_max_only_observer_has_no_histogram() -> None:
    obs = TensorObserver("t", histogram=False)
    obs.update(np.array([-1.0, 3.0], np.float32))
    stats = obs.result()
    assert stats.hist is None and (stats.min, stats.max) == (-1.0, 3.0)
