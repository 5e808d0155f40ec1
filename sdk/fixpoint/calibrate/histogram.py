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

HALF_BINS = 2048                  # bins per sign: TensorRT's 2048 bins of |x|
NUM_BINS = 2 * HALF_BINS
MIN_RANGE_EXP = -100              # |x| below 2**-100 is treated as zero-sized range


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
    zeros: int = 0               # exact zeros (inside hist bin HALF_BINS): error-free values

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
        return self.hist[HALF_BINS:] + self.hist[HALF_BINS - 1::-1]


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
        flat = np.ravel(values)
        if flat.size == 0:
            return
        if flat.dtype != np.float32:
            flat = flat.astype(np.float32)
        lo, hi = float(flat.min()), float(flat.max())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise CalibrationError(f"tensor '{self.name}' has NaN or Inf values")
        self.min = min(self.min, lo)
        self.max = max(self.max, hi)
        self.count += flat.size
        if self.histogram:
            self._add_to_histogram(flat, max(-lo, hi))

    def _add_to_histogram(self, flat: np.ndarray, abs_max: float) -> None:
        needed = range_exp_for(abs_max)
        if self.hist is None or self.range_exp is None:
            self.hist = np.zeros(NUM_BINS, np.int64)
            self.range_exp = needed
        elif needed > self.range_exp:
            self.hist = merge_bin_pairs(self.hist, needed - self.range_exp)
            self.range_exp = needed
        self.zeros += accumulate_bins(flat, self.range_exp, self.hist)

    def state_nbytes(self) -> int:
        """Bytes of accumulated state (independent of how much data streamed through)."""
        return (0 if self.hist is None else self.hist.nbytes) + 5 * 8

    def result(self) -> TensorStats:
        if self.count == 0:
            raise CalibrationError(f"tensor '{self.name}' was never observed")
        return TensorStats(self.name, self.min, self.max, self.count, self.hist,
                           MIN_RANGE_EXP if self.range_exp is None else self.range_exp, self.zeros)


def range_exp_for(abs_max: float) -> int:
    """Smallest e with abs_max < 2**e (so x * 2048 / 2**e stays below 2048)."""
    if abs_max <= 0.0:
        return MIN_RANGE_EXP
    _, exp = math.frexp(abs_max)    # abs_max = m * 2**exp, 0.5 <= m < 1
    return max(exp, MIN_RANGE_EXP)


def merge_bin_pairs(hist: np.ndarray, steps: int) -> np.ndarray:
    """The histogram at 2**steps times the range: exact merge of adjacent pairs.

    Signed bin i holds floor(x/w) = i - HALF_BINS; at width 2w that value halves
    (arithmetic shift), so old bins 2k, 2k+1 become new bin k + HALF_BINS/2.
    """
    for _ in range(min(steps, 12)):     # after 12 merges everything is in bins 2047/2048
        merged = np.zeros_like(hist)
        merged[HALF_BINS // 2: HALF_BINS // 2 + HALF_BINS] = hist.reshape(HALF_BINS, 2).sum(axis=1)
        hist = merged
    return hist


def accumulate_bins(flat: np.ndarray, range_exp: int, hist: np.ndarray) -> int:
    """Add float32 ``flat`` to ``hist`` (NUM_BINS signed int64 bins, in place); return its exact zeros.

    All |x| must be below 2**range_exp. Exact zeros (ReLU outputs, padding) are
    counted apart as well because they quantize without error whatever the
    scale. The per-value work runs in a small compiled kernel
    (histogram_kernel.c, about 1 ns per value) that releases the GIL, where
    numpy needs several passes, so a histogram policy costs little more than
    the bare min/max pass.
    """
    if hist.dtype != np.int64 or hist.shape != (NUM_BINS,) or not hist.flags.c_contiguous:
        raise ValueError("hist must be a contiguous int64 array of NUM_BINS bins")
    scale = float(np.float32(math.ldexp(1.0, 11 - range_exp)))   # HALF_BINS / R, a power of two
    values = np.ascontiguousarray(flat, dtype=np.float32)
    kernel = _kernel()
    zeros = kernel.lib.fp_hist_accumulate(kernel.ffi.from_buffer("float[]", values), values.size, scale,
                                          kernel.ffi.from_buffer("int64_t[]", hist), HALF_BINS)
    return int(zeros)


def _kernel():
    global _KERNEL
    if _KERNEL is None:
        from .._cbuild import load_extension

        here = Path(__file__).resolve().parent
        _KERNEL = load_extension("fixpoint.calibrate._fp_histogram", _histogram_builder,
                                 lambda root: [here / "histogram_kernel.c", here / "histogram_kernel.h",
                                               here / "_build_histogram.py"])
    return _KERNEL


_KERNEL = None


def _histogram_builder():
    # imported only when building: an installed wheel has the compiled module, not the C source
    from . import _build_histogram

    return _build_histogram.make_ffibuilder()
