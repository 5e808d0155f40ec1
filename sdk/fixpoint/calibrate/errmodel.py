"""Expected quantization error of a tensor for candidate clip ranges.

The histogram is read as a piecewise-uniform density (uniform within each
bin, the outermost occupied bins cut at the observed min/max). For each
candidate range the exact quantizer is built (``scale_zero_point``: zero-point
rounding, power-of-two scales included), and the error of every bin is
integrated in closed form over three pieces:

* below / above the representable range: clipping error ``|x - clamp|``;
* inside: rounding error, whose antiderivative over the periodic sawtooth
  ``e(t) = t - round(t)`` is elementary (``_sawtooth_integral``).

So l1/l2 search and "auto" compare ranges by the error the integer tensor
would really have, clipping and rounding noise together, instead of the usual
"step**2/12" guess -- which would, e.g., charge the spike of exact zeros after
a ReLU with rounding noise it never gets.
"""

from __future__ import annotations

import numpy as np

from fixpoint.calibrate.errors import CalibrationError
from fixpoint.calibrate.histogram import HALF_BINS, TensorStats
from fixpoint.calibrate.qparams import qlimits, representable_range, scale_zero_point


def occupied_bins(stats: TensorStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(counts, left, right) of the non-empty bins, outer edges cut to [min, max].

    Exact zeros are left out of bin [0, w): they are error-free at any scale,
    and spreading them uniformly over the bin would overstate a ReLU tensor's
    error by up to 40 % (l1). Callers divide by ``stats.count``, zeros included.
    """
    if stats.hist is None:
        raise CalibrationError(f"tensor '{stats.name}': no histogram was collected")
    hist = stats.hist.copy()
    hist[HALF_BINS] -= stats.zeros
    index = np.flatnonzero(hist)
    counts = hist[index].astype(np.float64)
    left = stats.offset + index * stats.bin_width
    right = left + stats.bin_width
    return counts, np.maximum(left, stats.min), np.minimum(right, stats.max)


def expected_error(
    stats: TensorStats, lo: np.ndarray, hi: np.ndarray, bits: int, scheme: str, norm: str = "l2"
) -> np.ndarray:
    """Mean |err| ("l1") or mean err**2 ("l2") per element for each range [lo[k], hi[k]]."""
    power = {"l1": 1, "l2": 2}.get(norm)
    if power is None:
        raise CalibrationError(f"unknown error norm '{norm}' (choose l1 or l2)")
    lo = np.atleast_1d(np.asarray(lo, np.float64))
    hi = np.atleast_1d(np.asarray(hi, np.float64))
    scale, zero = scale_zero_point(lo, hi, bits, scheme)
    r_lo, r_hi = representable_range(scale, zero, bits)
    counts, left, right = occupied_bins(stats)
    s = scale[:, None]
    r_lo, r_hi = r_lo[:, None], r_hi[:, None]
    c_lo, c_hi = r_lo - s / 2, r_hi + s / 2  # where rounding turns into clamping
    a, b = left[None, :], right[None, :]
    width = right - left
    integral = (
        _power_integral(r_lo - np.minimum(b, c_lo), r_lo - a, power)  # below
        + _power_integral(np.maximum(a, c_hi) - r_hi, b - r_hi, power)  # above
        + _rounding_integral(np.maximum(a, c_lo), np.minimum(b, c_hi), s, power)
    )
    point = _point_error(left[None, :], s, zero[:, None], bits, power)
    per_bin = np.where(width > 0, integral / np.where(width > 0, width, 1.0), point)
    return per_bin @ counts / stats.count


def _power_integral(u: np.ndarray, v: np.ndarray, power: int) -> np.ndarray:
    """integral_u^v t**power dt for 0 <= u <= v, and 0 where the piece is empty (v <= u)."""
    u = np.maximum(u, 0.0)
    v = np.maximum(v, u)
    if power == 2:  # explicit products: numpy's float ** int goes through pow()
        return (v * v * v - u * u * u) / 3.0
    return (v * v - u * u) / 2.0


def _sawtooth_integral(t: np.ndarray, power: int) -> np.ndarray:
    """integral_{-1/2}^t |e(x)|**power dx with e(x) = x - round(x) (one period holds 1/12 or 1/4)."""
    n = np.floor(t + 0.5)
    v = t - n
    if power == 2:
        return n / 12.0 + (v * v * v + 0.125) / 3.0
    return n / 4.0 + 0.125 + np.sign(v) * v * v / 2.0


def _rounding_integral(u: np.ndarray, v: np.ndarray, s: np.ndarray, power: int) -> np.ndarray:
    """integral_u^v |x - s*round(x/s)|**power dx (0 where v <= u)."""
    v = np.maximum(v, u)
    return s ** (power + 1) * (_sawtooth_integral(v / s, power) - _sawtooth_integral(u / s, power))


def _point_error(x: np.ndarray, s: np.ndarray, zero: np.ndarray, bits: int, power: int) -> np.ndarray:
    """|x - dequant(quant(x))|**power for bins that hold a single value."""
    qmin, qmax = qlimits(bits)
    q = np.clip(np.floor(x / s + 0.5) + zero, qmin, qmax)
    return np.abs(x - s * (q - zero)) ** power


def sqnr_db(stats: TensorStats, lo: float, hi: float, bits: int, scheme: str) -> float:
    """Signal-to-quantization-noise ratio (dB) the range would give, from the histogram."""
    counts, left, right = occupied_bins(stats)
    power = np.sum(counts * (left * left + left * right + right * right) / 3.0) / stats.count
    noise = float(expected_error(stats, np.array([lo]), np.array([hi]), bits, scheme, "l2")[0])
    if noise <= 0.0:
        return float("inf")
    return float(10.0 * np.log10(max(power, 1e-300) / noise))


class MomentModel:
    """A fast estimate of :func:`expected_error` for dense range searches.

    Clipping error is exact under the same piecewise-uniform reading (prefix
    sums of each bin's count, first and second moment, plus the one bin cut
    by each clip point), but rounding noise is taken as the uniform-phase
    value step**2/12 (or step/4) for every non-zero value inside the range.
    That makes a candidate O(log bins) instead of O(bins), so thousands of
    (lo, hi) pairs cost about as much as one exact evaluation; the search
    then confirms its neighbourhood with the exact model.
    """

    def __init__(self, stats: TensorStats) -> None:
        counts, self.left, self.right = occupied_bins(stats)
        width = self.right - self.left
        self.density = np.where(width > 0, counts / np.where(width > 0, width, 1.0), 0.0)
        mid_sq = (self.left**2 + self.left * self.right + self.right**2) / 3.0
        self.n = np.concatenate([[0.0], np.cumsum(counts)])
        self.m1 = np.concatenate([[0.0], np.cumsum(counts * (self.left + self.right) / 2.0)])
        self.m2 = np.concatenate([[0.0], np.cumsum(counts * mid_sq)])
        self.total = float(stats.count)

    def error(self, lo: np.ndarray, hi: np.ndarray, bits: int, scheme: str, norm: str = "l2") -> np.ndarray:
        """Estimated mean |err| or err**2 per element for each range [lo[k], hi[k]]."""
        power = 2 if norm == "l2" else 1
        scale, zero = scale_zero_point(np.asarray(lo, np.float64), np.asarray(hi, np.float64), bits, scheme)
        if len(self.left) == 0:  # nothing but exact zeros: error-free at any range
            return np.zeros(scale.shape)
        r_lo, r_hi = representable_range(scale, zero, bits)
        above, n_above = self._above(r_hi + scale / 2, r_hi, power)
        below, n_below = self._below(r_lo - scale / 2, r_lo, power)
        inside = self.n[-1] - n_above - n_below
        noise = scale * scale / 12.0 if power == 2 else scale / 4.0
        return (above + below + inside * noise) / self.total

    def _above(self, cut: np.ndarray, r: np.ndarray, power: int) -> tuple[np.ndarray, np.ndarray]:
        """Error and count of values beyond ``cut`` (clamped to r)."""
        i = np.searchsorted(self.left, cut, side="left")  # bins i.. lie wholly above
        n, m1, m2 = self.n[-1] - self.n[i], self.m1[-1] - self.m1[i], self.m2[-1] - self.m2[i]
        full = m2 - 2 * r * m1 + r * r * n if power == 2 else m1 - r * n
        j = np.maximum(i - 1, 0)  # the bin the cut may split
        split = (i > 0) & (self.right[j] > cut)
        far, near = np.where(split, self.right[j] - r, 0.0), np.where(split, cut - r, 0.0)
        part = self.density[j] * (far ** (power + 1) - near ** (power + 1)) / (power + 1)
        return full + np.where(split, part, 0.0), n + np.where(split, self.density[j] * (far - near), 0.0)

    def _below(self, cut: np.ndarray, r: np.ndarray, power: int) -> tuple[np.ndarray, np.ndarray]:
        """Error and count of values below ``cut`` (clamped to r)."""
        i = np.searchsorted(self.right, cut, side="right")  # bins ..i-1 lie wholly below
        n, m1, m2 = self.n[i], self.m1[i], self.m2[i]
        full = m2 - 2 * r * m1 + r * r * n if power == 2 else r * n - m1
        j = np.minimum(i, len(self.left) - 1)
        split = (i < len(self.left)) & (self.left[j] < cut)
        far, near = np.where(split, r - self.left[j], 0.0), np.where(split, r - cut, 0.0)
        part = self.density[j] * (far ** (power + 1) - near ** (power + 1)) / (power + 1)
        return full + np.where(split, part, 0.0), n + np.where(split, self.density[j] * (far - near), 0.0)
