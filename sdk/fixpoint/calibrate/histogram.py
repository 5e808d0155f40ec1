"""Streaming per-tensor statistics: min, max, count and a growing histogram.

The histogram has ``NUM_BINS`` signed bins of equal width over ``[-R, R)``,
with ``R = 2**range_exp`` the smallest power of two above every ``|x|`` seen.
Because ``R`` only ever takes power-of-two values, the bins at any range are
unions of exactly two bins at half that range: when a batch exceeds the
current range, adjacent bin pairs are merged (``range_exp += 1``) and the
result is *identical* to histogramming all data at the final range in one
go. So one pass suffices, batch size and order do not matter, and the state
is a fixed ``NUM_BINS`` int64 array however many samples stream through.

Bin indices come from ``floor(x * 2**(11 - range_exp))``: multiplying a
float32 by a power of two is exact, so no value lands in a neighbouring bin
through rounding; the binning itself is a one-pass compiled kernel
(histogram_kernel.c). (Subnormal values may underflow to 0 when scaled; such
values do not matter for any range.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fixpoint.calibrate.errors import CalibrationError

HALF_BINS = 2048  # bins per sign: TensorRT's 2048 bins of |x|
NUM_BINS = 2 * HALF_BINS
MIN_RANGE_EXP = -100  # |x| below 2**-100 is treated as zero-sized range
MAX_VALUES_PER_CALL = 1 << 30  # FP_HIST_MAX_VALUES: the kernel's uint32 lane counts stay exact


@dataclass
class TensorStats:
    """Everything calibration keeps about one tensor (constant size).

    ``hist[i]`` counts values in ``[offset + i*bin_width, offset + (i+1)*bin_width)``;
    ``hist`` is None for a min/max-only pass.
    """

    name: str
    min: float
    max: float
    count: int
    hist: np.ndarray | None = None
    range_exp: int = MIN_RANGE_EXP
    zeros: int = 0  # exact zeros (inside hist bin HALF_BINS): error-free values

    @property
    def range(self) -> float:
        """R: the histogram covers [-R, R)."""
        return math.ldexp(1.0, self.range_exp)

    @property
    def bin_width(self) -> float:
        return self.range / HALF_BINS

    @property
    def offset(self) -> float:
        return -self.range

    @property
    def hist_edges(self) -> np.ndarray:
        return self.offset + self.bin_width * np.arange(NUM_BINS + 1, dtype=np.float64)

    @property
    def is_nonnegative(self) -> bool:
        return self.min >= 0.0

    @property
    def abs_max(self) -> float:
        return max(abs(self.min), abs(self.max))

    def abs_hist(self) -> np.ndarray:
        """Counts of |x| in HALF_BINS bins of ``bin_width`` starting at 0."""
        if self.hist is None:
            raise CalibrationError(f"tensor '{self.name}': no histogram was collected")
        return self.hist[HALF_BINS:] + self.hist[HALF_BINS - 1 :: -1]


class TensorObserver:
    """Accumulates :class:`TensorStats` for one tensor batch by batch."""

    def __init__(self, name: str, histogram: bool = True) -> None:
        self.name = name
        self.histogram = histogram
        self.min = math.inf
        self.max = -math.inf
        self.count = 0
        self.range_exp: int | None = None
        self.hist: np.ndarray | None = None
        self.zeros = 0

    def update(self, values: np.ndarray) -> None:
        """Fold one batch in. Raises CalibrationError on NaN/Inf."""
        flat = np.ascontiguousarray(np.ravel(values), dtype=np.float32)
        if flat.size > MAX_VALUES_PER_CALL:
            for start in range(0, flat.size, MAX_VALUES_PER_CALL):
                self.update(flat[start : start + MAX_VALUES_PER_CALL])
            return
        if flat.size == 0:
            return
        if self.histogram:
            lo, hi = self._add_to_histogram(flat)
        else:  # the bare min/max pass: numpy's vectorised reductions
            lo, hi = float(flat.min()), float(flat.max())
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise CalibrationError(f"tensor '{self.name}' has NaN or Inf values")
        self.min = min(self.min, lo)
        self.max = max(self.max, hi)
        self.count += flat.size

    def _add_to_histogram(self, flat: np.ndarray) -> tuple[float, float]:
        """One kernel pass at the current range; a second one only when the range must grow."""
        summary = observe_values(flat, self.range_exp, self.hist)
        if summary.nans or not (math.isfinite(summary.min) and math.isfinite(summary.max)):
            raise CalibrationError(f"tensor '{self.name}' has NaN or Inf values")
        if not summary.added:
            self._widen(range_exp_for(max(-summary.min, summary.max)))
            if not observe_values(flat, self.range_exp, self.hist).added:
                raise AssertionError(f"tensor '{self.name}': values outside the widened histogram range")
        self.zeros += summary.zeros
        return summary.min, summary.max

    def _widen(self, needed: int) -> None:
        if self.hist is None or self.range_exp is None:
            self.hist = np.zeros(NUM_BINS, np.int64)
            self.range_exp = needed
        elif needed > self.range_exp:
            self.hist = merge_bin_pairs(self.hist, needed - self.range_exp)
            self.range_exp = needed

    def state_nbytes(self) -> int:
        """Bytes of accumulated state (independent of how much data streamed through)."""
        return (0 if self.hist is None else self.hist.nbytes) + 5 * 8

    def result(self) -> TensorStats:
        if self.count == 0:
            raise CalibrationError(f"tensor '{self.name}' was never observed")
        return TensorStats(
            self.name,
            self.min,
            self.max,
            self.count,
            self.hist,
            MIN_RANGE_EXP if self.range_exp is None else self.range_exp,
            self.zeros,
        )


def range_exp_for(abs_max: float) -> int:
    """Smallest e with abs_max < 2**e (so x * 2048 / 2**e stays below 2048)."""
    if abs_max <= 0.0:
        return MIN_RANGE_EXP
    _, exp = math.frexp(abs_max)  # abs_max = m * 2**exp, 0.5 <= m < 1
    return max(exp, MIN_RANGE_EXP)


def merge_bin_pairs(hist: np.ndarray, steps: int) -> np.ndarray:
    """The histogram at 2**steps times the range: exact merge of adjacent pairs.

    Signed bin i holds floor(x/w) = i - HALF_BINS; at width 2w that value halves
    (arithmetic shift), so old bins 2k, 2k+1 become new bin k + HALF_BINS/2.
    """
    for _ in range(min(steps, 12)):  # after 12 merges everything is in bins 2047/2048
        merged = np.zeros_like(hist)
        merged[HALF_BINS // 2 : HALF_BINS // 2 + HALF_BINS] = hist.reshape(HALF_BINS, 2).sum(axis=1)
        hist = merged
    return hist


@dataclass
class BatchSummary:
    """What one kernel pass found in a batch, and whether it went into the histogram."""

    min: float
    max: float
    zeros: int
    nans: int
    added: bool


def observe_values(flat: np.ndarray, range_exp: int | None, hist: np.ndarray | None) -> BatchSummary:
    """One compiled pass over float32 ``flat``: min, max, exact zeros, NaNs, and the histogram.

    The values are added to ``hist`` (NUM_BINS signed int64 bins over
    [-2**range_exp, 2**range_exp), in place) only when every one of them fits
    that range; otherwise (or when ``hist`` is None) ``hist`` is untouched and
    ``added`` is False. Exact zeros are counted apart because they quantize
    without error whatever the scale. The kernel (histogram_kernel.c) costs
    1-2 ns per value.
    """
    if hist is not None and (hist.dtype != np.int64 or hist.shape != (NUM_BINS,) or not hist.flags.c_contiguous):
        raise ValueError("hist must be a contiguous int64 array of NUM_BINS bins")
    if flat.dtype != np.float32 or flat.ndim != 1 or not flat.flags.c_contiguous:
        raise ValueError("values must be a contiguous 1-D float32 array")
    if flat.size > MAX_VALUES_PER_CALL:
        raise ValueError(f"at most {MAX_VALUES_PER_CALL} values per call")
    kernel = _kernel()
    ffi = kernel.ffi
    summary = ffi.new("FpHistSummary *")
    # scale = HALF_BINS / R, a power of two; without a histogram any scale will do
    scale = float(np.float32(math.ldexp(1.0, 11 - range_exp))) if hist is not None and range_exp is not None else 1.0
    target = ffi.from_buffer("int64_t[]", hist) if hist is not None and range_exp is not None else ffi.NULL
    added = kernel.lib.fp_hist_observe(ffi.from_buffer("float[]", flat), flat.size, scale, target, HALF_BINS, summary)
    if added < 0:
        raise ValueError("fp_hist_observe rejected its arguments")
    return BatchSummary(float(summary.min), float(summary.max), int(summary.zeros), int(summary.nans), bool(added))


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        from .._cbuild import load_extension

        here = Path(__file__).resolve().parent
        _KERNEL = load_extension(
            "fixpoint.calibrate._fp_histogram",
            _histogram_builder,
            lambda root: [here / "histogram_kernel.c", here / "histogram_kernel.h", here / "_build_histogram.py"],
        )
    return _KERNEL


_KERNEL = None


def _histogram_builder():
    # imported only when building: an installed wheel has the compiled module, not the C source
    from . import _build_histogram

    return _build_histogram.make_ffibuilder()
