"""Range policies: which real interval [lo, hi] a tensor's integers should cover.

``POLICIES`` maps a name to ``choose_range(stats, bits, scheme, **options)``,
returning a :class:`ClipRange` -- a plain ``(lo, hi)`` tuple that also
remembers the policy that produced it (``auto`` reports the winner).

Every policy treats an all non-negative tensor (e.g. after ReLU) as [0, hi]:
no code is spent on negatives that never occur. Signed tensors are clipped at
a common magnitude T: [max(min, -T), min(max, T)], so a one-sided tail is cut
without moving the short side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fixpoint.calibrate.errmodel import MomentModel, expected_error
from fixpoint.calibrate.errors import CalibrationError
from fixpoint.calibrate.histogram import TensorStats
from fixpoint.calibrate.kl import kl_threshold_bins, last_occupied

DEFAULT_PERCENTILE = 99.99
# a saturation spike: the top bin holds at least this share of the non-zero values ...
SPIKE_FRACTION = 1e-4
SPIKE_MIN_COUNT = 16  # (a lone extreme value in a small tensor is no pile-up)
SPIKE_RATIO = 8.0  # ... and this many times the mean of the bins just below it
SPIKE_NEIGHBOURS = 8
AUTO_CANDIDATES = ("max", "percentile", "kl", "l1", "l2")
_GRID_1D = 512  # l1/l2 threshold grid over (0, max|x|] ...
_REFINE = 64  # ... then this many points between the best one's neighbours
_GRID_2D = 64  # (lo, hi) grid per axis for signed tensors, asymmetric scheme ...
_REFINE_2D = 16  # ... then this many steps per axis around the best pair


class ClipRange(tuple):
    """``(lo, hi)`` with ``.policy``: the policy that actually chose it."""

    policy: str

    def __new__(cls, lo: float, hi: float, policy: str) -> "ClipRange":
        obj = super().__new__(cls, (float(lo), float(hi)))
        obj.policy = policy
        return obj

    @property
    def lo(self) -> float:
        return self[0]

    @property
    def hi(self) -> float:
        return self[1]


def _clip_at(stats: TensorStats, threshold: float) -> tuple[float, float]:
    """[lo, hi] for magnitude threshold T (lo = 0 for non-negative tensors)."""
    if stats.is_nonnegative:
        return 0.0, min(stats.max, threshold)
    if stats.max <= 0.0:
        return max(stats.min, -threshold), 0.0
    return max(stats.min, -threshold), min(stats.max, threshold)


def _needs_hist(stats: TensorStats, policy: str) -> None:
    if stats.hist is None:
        raise CalibrationError(
            f"tensor '{stats.name}': policy '{policy}' needs a histogram (statistics were collected as min/max only)"
        )


def choose_max(stats: TensorStats, bits: int, scheme: str, **_: Any) -> ClipRange:
    """The observed range: nothing is ever clipped."""
    lo = 0.0 if stats.is_nonnegative else stats.min
    return ClipRange(lo, max(stats.max, 0.0), "max")


def _quantile(stats: TensorStats, counts: np.ndarray, first_edge: float, q: float) -> float:
    """Value below which a fraction q of ``counts`` lies (linear inside a bin)."""
    cdf = np.cumsum(counts)
    target = q * cdf[-1]
    j = int(np.searchsorted(cdf, target, side="left"))
    j = min(j, len(counts) - 1)
    below = cdf[j - 1] if j > 0 else 0
    frac = (target - below) / counts[j] if counts[j] else 0.0
    return float(first_edge + (j + frac) * stats.bin_width)


def choose_percentile(
    stats: TensorStats, bits: int, scheme: str, percentile: float = DEFAULT_PERCENTILE, **_: Any
) -> ClipRange:
    """Clip the ``100 - percentile`` % most extreme values (of |x| for symmetric schemes)."""
    _needs_hist(stats, "percentile")
    if not 50.0 <= percentile <= 100.0:
        raise CalibrationError(f"tensor '{stats.name}': percentile must be in [50, 100], got {percentile}")
    q = percentile / 100.0
    if stats.is_nonnegative or stats.max <= 0.0 or scheme != "asymmetric":
        lo, hi = _clip_at(stats, _quantile(stats, stats.abs_hist(), 0.0, q))
    else:  # asymmetric scheme, signed data: cut each tail on its own
        lo = max(stats.min, _quantile(stats, stats.hist, stats.offset, 1.0 - q))
        hi = min(stats.max, _quantile(stats, stats.hist, stats.offset, q))
    return ClipRange(lo, hi, "percentile")


def _levels(stats: TensorStats, bits: int, scheme: str) -> int:
    """Integer codes available to one sign of |x| under the scheme's parameters."""
    one_sided = stats.is_nonnegative or stats.max <= 0.0
    if scheme == "asymmetric" and one_sided:
        return 1 << bits  # the zero point moves to the end of the range
    if scheme == "pow2" and stats.is_nonnegative and bits <= 8:
        return 1 << bits  # see qparams: zero_point = qmin
    return 1 << (bits - 1)


def _saturation_spike(counts: np.ndarray) -> bool:
    """Does the top occupied bin hold a pile-up (a clamp such as ReLU6 saturating)?

    KL folds clipped mass into the last kept bin and barely notices moving a
    spike of values sitting exactly at a bound (6.0 -> 5.5 on dwsep's ReLU6
    outputs, which cost 6.7 pp of top-1). A smooth tail's last bin holds a
    handful of values; a saturating clamp's holds a share of the whole tensor.
    """
    last = last_occupied(counts)
    total = counts.sum()
    if last == 0 or total == 0:
        return False
    top = counts[last - 1]
    below = counts[max(0, last - 1 - SPIKE_NEIGHBOURS) : last - 1]
    return top >= max(SPIKE_FRACTION * total, SPIKE_MIN_COUNT) and top >= SPIKE_RATIO * (
        below.mean() if below.size else 0.0
    )


def choose_kl(stats: TensorStats, bits: int, scheme: str, **_: Any) -> ClipRange:
    """TensorRT entropy calibration: 2048 |x| bins, 2**(bits-1) levels (2**bits for [0, hi]).

    Exact zeros are left out: after a ReLU they are a spike in bin 0 that Q
    smears over its whole first level, which drags the threshold down.
    """
    _needs_hist(stats, "kl")
    counts = stats.abs_hist()
    counts[0] -= stats.zeros  # exact zeros are exact at any threshold: they must not steer it
    if _saturation_spike(counts):
        return ClipRange(*choose_max(stats, bits, scheme), "kl")
    kept = kl_threshold_bins(counts, _levels(stats, bits, scheme))
    lo, hi = _clip_at(stats, kept * stats.bin_width)
    return ClipRange(lo, hi, "kl")


def _search(stats: TensorStats, bits: int, scheme: str, norm: str) -> ClipRange:
    """Clip range of least expected error, priced by the moment model.

    One-sided tensors and the symmetric schemes search a magnitude threshold;
    a signed tensor under the asymmetric scheme searches (lo, hi) jointly,
    because the two tails of e.g. a residual sum are rarely alike.
    """
    _needs_hist(stats, norm)
    model = MomentModel(stats)
    if scheme == "asymmetric" and stats.min < 0.0 < stats.max:
        lo, hi = _grid_2d(model, stats, bits, scheme, norm)
    else:
        lo, hi = _clip_at(stats, _grid_1d(model, stats, bits, scheme, norm))
    return _confirm(stats, lo, hi, bits, scheme, norm)


def _confirm(stats: TensorStats, lo: float, hi: float, bits: int, scheme: str, norm: str) -> ClipRange:
    """Check the moment model's pick against its neighbours and the full range, exactly.

    The moment model assumes step**2/12 rounding noise; data on a grid (an input
    image in steps of 1/255) can be error-free at the full range, which only the
    exact model, reading the occupied bins, can see.
    """
    full = choose_max(stats, bits, scheme)
    factors = np.array([1.0, 0.98, 0.99, 1.01, 1.02])
    los = np.append(np.clip(lo * factors, stats.min, 0.0), full.lo)
    his = np.append(np.clip(hi * factors, 0.0, max(stats.max, 0.0)), full.hi)
    best = int(np.argmin(expected_error(stats, los, his, bits, scheme, norm)))
    return ClipRange(los[best], his[best], norm)


def _grid_1d(model: MomentModel, stats: TensorStats, bits: int, scheme: str, norm: str) -> float:
    """Best threshold on a grid over (0, max|x|], then on a finer grid around it."""
    top = max(stats.abs_max, 1e-30)
    step = top / _GRID_1D
    best = _best_threshold(model, stats, step * np.arange(1, _GRID_1D + 1), bits, scheme, norm)
    fine = best + (2 * step / _REFINE) * np.arange(-(_REFINE // 2), _REFINE // 2 + 1)
    return _best_threshold(model, stats, fine[(fine > 0) & (fine <= top)], bits, scheme, norm)


def _best_threshold(
    model: MomentModel, stats: TensorStats, thresholds: np.ndarray, bits: int, scheme: str, norm: str
) -> float:
    ranges = np.array([_clip_at(stats, t) for t in thresholds])
    errors = model.error(ranges[:, 0], ranges[:, 1], bits, scheme, norm)
    return float(thresholds[int(np.argmin(errors))])


def _grid_2d(model: MomentModel, stats: TensorStats, bits: int, scheme: str, norm: str) -> tuple[float, float]:
    """Best (lo, hi) on a grid over [min, 0) x (0, max], then on a finer grid around it."""
    lo_step, hi_step = -stats.min / _GRID_2D, stats.max / _GRID_2D
    steps = np.arange(1, _GRID_2D + 1)
    lo, hi = _best_pair(model, stats, -lo_step * steps, hi_step * steps, bits, scheme, norm)
    offsets = (2.0 / _REFINE_2D) * np.arange(-(_REFINE_2D // 2), _REFINE_2D // 2 + 1)
    return _best_pair(model, stats, lo + lo_step * offsets, hi + hi_step * offsets, bits, scheme, norm)


def _best_pair(
    model: MomentModel, stats: TensorStats, los: np.ndarray, his: np.ndarray, bits: int, scheme: str, norm: str
) -> tuple[float, float]:
    los = los[(los < 0) & (los >= stats.min)]
    his = his[(his > 0) & (his <= stats.max)]
    grid_lo, grid_hi = (g.ravel() for g in np.meshgrid(los, his, indexing="ij"))
    k = int(np.argmin(model.error(grid_lo, grid_hi, bits, scheme, norm)))
    return float(grid_lo[k]), float(grid_hi[k])


def choose_l1(stats: TensorStats, bits: int, scheme: str, **_: Any) -> ClipRange:
    """Clip threshold of least expected |error| (clipping + rounding)."""
    return _search(stats, bits, scheme, "l1")


def choose_l2(stats: TensorStats, bits: int, scheme: str, **_: Any) -> ClipRange:
    """Clip threshold of least expected squared error (clipping + rounding)."""
    return _search(stats, bits, scheme, "l2")


def choose_auto(stats: TensorStats, bits: int, scheme: str, **options: Any) -> ClipRange:
    """Run every candidate policy; keep the range of least expected squared error."""
    _needs_hist(stats, "auto")
    picks = [POLICIES[name](stats, bits, scheme, **options) for name in AUTO_CANDIDATES]
    errors = expected_error(stats, np.array([p.lo for p in picks]), np.array([p.hi for p in picks]), bits, scheme, "l2")
    return picks[int(np.argmin(errors))]  # first minimum: simpler policies win ties


def choose_fixed(
    stats: TensorStats, bits: int, scheme: str, lo: float | None = None, hi: float | None = None, **_: Any
) -> ClipRange:
    """The range the user gave (``fixed:MIN,MAX``); the statistics are not consulted."""
    if lo is None or hi is None:
        raise CalibrationError(
            f"tensor '{stats.name}': policy 'fixed' but no range given "
            f"(--override {stats.name}=fixed:MIN,MAX or --encodings FILE)"
        )
    return ClipRange(lo, hi, "fixed")


PolicyFn = Callable[..., ClipRange]

POLICIES: dict[str, PolicyFn] = {
    "max": choose_max,
    "percentile": choose_percentile,
    "kl": choose_kl,
    "l1": choose_l1,
    "l2": choose_l2,
    "auto": choose_auto,
}
# not in POLICIES (which all read the statistics): the range comes from the user or an imported model
FIXED = "fixed"


def choose_range(policy: str, stats: TensorStats, bits: int, scheme: str, **options: Any) -> ClipRange:
    """Look ``policy`` up in :data:`POLICIES` (or ``fixed``) and apply it."""
    if policy == FIXED:
        return choose_fixed(stats, bits, scheme, **options)
    try:
        fn = POLICIES[policy]
    except KeyError:
        raise CalibrationError(f"unknown range policy '{policy}' (choose from {', '.join(POLICIES)})") from None
    return fn(stats, bits, scheme, **options)
