"""Applying a mixed-precision choice, and its Pareto front as a table and a plot.

``write_front`` puts ``pareto.md`` and ``pareto.svg`` in the calibration output folder; the
calibration report (``fixpoint eval --report``) shows the same table and a PNG of the plot from
``plan.meta["mixed_precision"]`` (:func:`front_lines`, :func:`front_chart`).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from ..calibrate import CalibrationConfig, CalibrationResult
from ..ir import Graph
from ..lower import LowerOptions
from .search import DEFAULT_ENGINE, MixedResult, quant_16

FRONT_TABLE = "pareto.md"
FRONT_PLOT = "pareto.svg"


def mixed_lowering(lowering: LowerOptions, result: MixedResult) -> LowerOptions:
    """The user's lowering options with the choice: per-layer weight bits, activation bits and engines."""
    chosen = result.chosen
    overrides = {**lowering.weight_bits_overrides, **{name: bits for name, bits in chosen.bits.items()}}
    pins = {name: engine for name, engine in chosen.engines.items() if engine != DEFAULT_ENGINE}
    # the search kept the user's own pins, so they agree with the chosen engines
    engines = {**pins, **lowering.engine_overrides} if lowering.engines else dict(lowering.engine_overrides)
    wide = {name: 16 for name, c in chosen.choices.items() if c.act == 16} if chosen.act_bits == 8 else {}
    return replace(
        lowering,
        weight_bits=8,
        weight_bits_overrides=overrides,
        activation_bits=chosen.act_bits,
        engine_overrides=engines,
        activation_bits_overrides=wide,
        activation_quant={16: result.quant16} if wide else {},
    )


def mixed_quant(graph: Graph, calib: CalibrationResult, config: CalibrationConfig, result: MixedResult) -> dict:
    """The activation parameters of the chosen width (the 8-bit ones the search lowered with, 16-bit ones
    re-derived from the statistics)."""
    if result.chosen.act_bits == 8:
        return dict(result.quant) or calib.quant
    quant = quant_16(graph, calib, config)
    assert quant is not None, "a 16-bit mix is only a candidate when its parameters exist"
    return quant


def front_lines(info: dict[str, Any], chart: str | None = None) -> list[str]:
    """Markdown: the budget, the choice and the simulated Pareto front (``plan.meta["mixed_precision"]``)."""
    chosen = info["chosen"]
    lines = [
        "## Mixed precision under a budget",
        "",
        f"* budget: `{info['budget']}` (flash and RAM in KiB); chosen: **{chosen['label']}**, "
        f"simulated loss {chosen['loss']:.4g} ({info['loss']}, {info['samples']} calibration samples)",
        f"* the all-int8 plan (int8 weights, each layer on the engine the lowering picks) has simulated loss "
        f"{info.get('base_loss', float('nan')):.4g}",
        f"* flash = constant arrays of the plan (packed weights, bias, requantization tables); RAM = "
        f"arena + scratch; instructions = {info['instructions_model']}",
        f"* {info['evaluations']} plans simulated (per-layer sensitivity of every weight width, activation "
        f"width and engine a layer takes, then the candidates; {info.get('search', 'every mix')} scored)",
        "",
    ]
    if chart:
        lines += [f"![Pareto front]({chart})", ""]
    lines += [
        "| # | mix | flash B | RAM B | instructions | predicted loss | simulated loss | front |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, m in enumerate(info["front"], 1):
        mark = (
            " (chosen)"
            if m.get("layers", m["weight_bits"]) == chosen.get("layers", chosen["weight_bits"])
            and m["activation_bits"] == chosen["activation_bits"]
            else ""
        )
        lines.append(
            f"| {n} | {m['label']}{mark} | {m['flash']} | {m['ram']} | {m['instructions']} | "
            f"{m['predicted_loss']:.4g} | {m['loss']:.4g} | {', '.join(m['front'])} |"
        )
    lines += ["", "Chosen per layer:", "", "| layer | weight bits | activation bits | engine |", "|---|---|---|---|"]
    layers = chosen.get("layers") or {name: {"weight_bits": bits} for name, bits in chosen["weight_bits"].items()}
    for name, layer in layers.items():
        act = layer.get("activation_bits", chosen["activation_bits"])
        lines.append(f"| `{name}` | {layer['weight_bits'] or '-'} | {act} | {layer.get('engine', DEFAULT_ENGINE)} |")
    return lines + [""]


def front_figure(info: dict[str, Any]) -> Figure:
    """Flash vs loss and instructions vs loss of the simulated front, the budget's limits dashed. Each
    point carries the number of its table row, and the key under the plots gives that row's mix
    (activation widths, weight widths, engines): full labels beside the points would overlap."""
    points = info["front"]
    rows = max(len(points), 1)
    fig = Figure(figsize=(11.0, 3.8 + 0.15 * rows), dpi=80)
    limits = dict(item.split("=") for item in info["budget"].split(","))
    top = 1.0 - 0.35 / (3.8 + 0.15 * rows)
    plots = 1.0 - 3.0 / (3.8 + 0.15 * rows)
    for k, (key, scale, unit) in enumerate((("flash", 1024, "KiB"), ("instructions", 1, ""))):
        ax = fig.add_axes((0.07 + 0.5 * k, plots, 0.4, top - plots))
        xs = [p[key] / scale for p in points]
        ax.plot(xs, [p["loss"] for p in points], "o", color="#1f77b4")
        for n, (x, p) in enumerate(zip(xs, points), 1):
            ax.annotate(str(n), (x, p["loss"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.plot([info["chosen"][key] / scale], [info["chosen"]["loss"]], "*", color="#d62728", markersize=12)
        if key in limits:
            ax.axvline(float(limits[key]), color="#d62728", linestyle="--", linewidth=1)
        ax.set_xlabel(f"{key} {unit}".strip())
        ax.set_ylabel("simulated loss")
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.set_ylim(bottom=0)
    key_lines = [
        f"{n:>2}  {p['label']}"
        + ("  (chosen)" if p["label"] == info["chosen"]["label"] and "budget choice" in p["front"] else "")
        for n, p in enumerate(points, 1)
    ]
    fig.text(0.07, plots - 0.6 / (3.8 + 0.15 * rows), "\n".join(key_lines), fontsize=7, family="monospace", va="top")
    return fig


def front_chart(info: dict[str, Any], path: Path) -> None:
    """The front as a PNG (for the report)."""
    FigureCanvasAgg(front_figure(info)).print_png(str(path))


def write_front(out_dir: Path, result: MixedResult) -> None:
    """``pareto.md`` and ``pareto.svg`` in ``out_dir`` (each written to a temporary file, then replaced)."""
    info = result.as_dict()
    table = out_dir / FRONT_TABLE
    tmp = table.with_suffix(".md.tmp")
    tmp.write_text("\n".join(front_lines(info, FRONT_PLOT)) + "\n", encoding="utf-8")
    os.replace(tmp, table)
    plot = out_dir / FRONT_PLOT
    tmp = plot.with_suffix(".svg.tmp")
    with open(tmp, "wb") as fh:
        FigureCanvasSVG(front_figure(info)).print_svg(fh)
    os.replace(tmp, plot)
