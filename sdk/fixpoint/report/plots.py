"""Small PNG plots for the report (matplotlib, Agg canvas, no pyplot state).

One Figure is reused for every histogram: creating a figure costs more than
drawing a histogram, and a model has one plot per activation tensor.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from fixpoint.calibrate.histogram import TensorStats
from fixpoint.quant import TensorQuant

FIGSIZE = (4.0, 2.5)
DPI = 80
MAX_BARS = 160  # histograms are re-binned to at most this many bars
CLIP_COLOR = "#d62728"
BAR_COLOR = "#1f77b4"


def plot_range(counts: np.ndarray, edges: np.ndarray, stats: TensorStats) -> tuple[np.ndarray, np.ndarray]:
    """The occupied part of a histogram, merged into at most MAX_BARS bars."""
    occupied = np.flatnonzero(counts)
    if occupied.size == 0:
        return np.zeros(1), np.array([stats.min - 0.5, stats.max + 0.5])
    first, last = int(occupied[0]), int(occupied[-1]) + 1
    group = max(1, math.ceil((last - first) / MAX_BARS))
    last = first + group * math.ceil((last - first) / group)
    padded = np.zeros(last - first, np.int64)
    chunk = counts[first : min(last, len(counts))]
    padded[: len(chunk)] = chunk
    merged = padded.reshape(-1, group).sum(axis=1)
    width = edges[1] - edges[0]
    new_edges = edges[first] + width * group * np.arange(len(merged) + 1)
    return merged.astype(np.float64), new_edges


class HistogramPlotter:
    """Draws per-tensor histograms (log y) with the chosen clip range marked."""

    def __init__(self) -> None:
        self.figure = Figure(figsize=FIGSIZE, dpi=DPI)
        FigureCanvasAgg(self.figure)

    def draw(self, stats: TensorStats, quant: TensorQuant, requested: str, path: Path) -> None:
        fig = self.figure
        fig.clear()
        ax = fig.add_subplot(1, 1, 1)
        if stats.hist is not None:
            counts, edges = plot_range(stats.hist, stats.hist_edges, stats)
            centers = (edges[:-1] + edges[1:]) / 2
            inside = (centers >= quant.lo) & (centers <= quant.hi)
            shown = np.where(counts > 0, counts, np.nan)  # log axis: leave empty bars out
            # clipped values in red instead of shaded spans: one patch each, cheap to draw
            ax.stairs(np.where(inside, shown, np.nan), edges, fill=True, color=BAR_COLOR)
            ax.stairs(np.where(inside, np.nan, shown), edges, fill=True, color=CLIP_COLOR)
            ax.set_yscale("log")
            low, high = edges[0], edges[-1]
        else:
            low, high = stats.min, stats.max
        for x in (quant.lo, quant.hi):
            ax.axvline(x, color=CLIP_COLOR, linestyle="--", linewidth=1.0)
        pad = 0.02 * max(high - low, 1e-12)
        ax.set_xlim(min(low, quant.lo) - pad, max(high, quant.hi) + pad)
        label = quant.policy if requested in ("", quant.policy) else f"{requested} -> {quant.policy}"
        ax.set_title(f"{_short(stats.name)}  [{label}]", fontsize=7)
        _light_ticks(ax)
        fig.subplots_adjust(left=0.14, right=0.97, bottom=0.12, top=0.88)  # tight_layout is slow
        fig.savefig(path, dpi=DPI)


def sqnr_chart(names: list[str], sqnr_db: list[float], path: Path) -> None:
    """Horizontal bars of per-layer SQNR; infinite values (exact layers) drawn at the axis end."""
    finite = [v for v in sqnr_db if math.isfinite(v)]
    top = max(finite, default=60.0) * 1.1 + 1.0
    values = [top if v == math.inf else (0.0 if v == -math.inf else v) for v in sqnr_db]
    height = min(0.18 * len(names) + 0.8, 30.0)
    fig = Figure(figsize=(FIGSIZE[0] + 1.0, height), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    rows = np.arange(len(names))
    ax.barh(rows, values, color=BAR_COLOR)
    ax.set_yticks(rows, [_short(n, 28) for n in names], fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("SQNR (dB)", fontsize=7)
    ax.tick_params(axis="x", labelsize=6)
    fig.tight_layout(pad=0.3)
    fig.savefig(path, dpi=DPI)


def _light_ticks(ax) -> None:
    """Few ticks, no minor log ticks: tick layout dominates the drawing time otherwise."""
    ax.xaxis.set_major_locator(MaxNLocator(5))
    if ax.get_yscale() == "log":
        ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=5))
        ax.yaxis.set_minor_locator(NullLocator())
    ax.tick_params(labelsize=6)


def _short(name: str, limit: int = 48) -> str:
    return name if len(name) <= limit else "..." + name[-(limit - 3) :]
