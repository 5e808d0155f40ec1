"""The Markdown text of the calibration report (pure string building)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fixpoint.calibrate.errmodel import sqnr_db
from fixpoint.calibrate.histogram import TensorStats
from fixpoint.calibrate.result import CalibrationResult
from fixpoint.quant import TensorQuant


def cell(value: Any) -> str:
    """A Markdown table cell: pipes escaped, floats compact."""
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def clipped_fraction(stats: TensorStats, lo: float, hi: float) -> float:
    """Share of observed values outside [lo, hi] (interpolated inside bins)."""
    if stats.hist is None or stats.count == 0:
        return 0.0
    cdf = np.concatenate([[0], np.cumsum(stats.hist)]).astype(np.float64)
    edges = stats.hist_edges
    below = float(np.interp(lo, edges, cdf))
    above = float(cdf[-1] - np.interp(hi, edges, cdf))
    return max(below, 0.0) / stats.count + max(above, 0.0) / stats.count


def header_lines(calib: CalibrationResult) -> list[str]:
    config = calib.config
    overrides = config.get("per_tensor_policy") or {}
    lines = ["# Fixpoint calibration report", ""]
    lines.append(f"* model: `{calib.model_path or '?'}`")
    lines.append(f"* calibration samples: {calib.num_samples}, tensors: {len(calib.quant)}")
    scheme = config.get("scheme") or ("symmetric" if config.get("bits") == 16 else "asymmetric")
    lines.append(f"* activations: {config.get('bits', '?')} bit, {scheme}; policy `{config.get('policy', '?')}`")
    if overrides:
        lines.append("* overrides: " + ", ".join(f"`{k}` = `{v}`" for k, v in overrides.items()))
    winners: dict[str, int] = {}
    for q in calib.quant.values():
        winners[q.policy] = winners.get(q.policy, 0) + 1
    lines.append("* ranges chosen by: " + ", ".join(f"{k} ({v})" for k, v in sorted(winners.items())))
    return lines + [""]


def accuracy_lines(eval_result: Any, chart: str | None) -> list[str]:
    lines = ["## Accuracy", ""]
    rows = []
    if getattr(eval_result, "float_metric", None) is not None:
        rows.append(["float top-1", f"{100 * eval_result.float_metric:.2f} %"])
        rows.append(["integer top-1", f"{100 * eval_result.int_metric:.2f} %"])
        rows.append(["drop", f"{eval_result.drop:.2f} pp"])
    for field, label in (
        ("agreement", "argmax agreement"),
        ("n_samples", "samples"),
        ("output_sqnr_db", "output SQNR (dB)"),
    ):
        if hasattr(eval_result, field):
            value = getattr(eval_result, field)
            rows.append([label, f"{100 * value:.2f} %" if field == "agreement" else value])
    for name, value in (getattr(eval_result, "user_metric", None) or {}).items():
        rows.append([f"user metric `{cell(name)}`", value])
    lines += table(["metric", "value"], rows) + [""]
    lines += output_lines(list(getattr(eval_result, "outputs", []) or []))
    per_layer = list(getattr(eval_result, "per_layer", []) or [])
    if per_layer:
        lines += ["### Per-layer error", ""]
        if chart:
            lines += [f"![per-layer SQNR]({chart})", ""]
        rows = [
            [e.name, getattr(e, "tensor", ""), float(e.sqnr_db), float(e.max_abs_err), float(e.mean_abs_err)]
            for e in per_layer
        ]
        lines += table(["layer", "tensor", "SQNR (dB)", "max abs err", "mean abs err"], rows) + [""]
    return lines


def output_lines(outputs: list[Any]) -> list[str]:
    """One row per model output: top-1 where labeled, agreement with float, SQNR and MSE always."""
    if not outputs:
        return []
    rows = [
        [
            f"`{cell(o.name)}`",
            _pct(o.float_top1),
            _pct(o.int_top1),
            "-" if o.drop is None else f"{o.drop:.2f}",
            f"{100 * o.agreement:.2f} %",
            float(o.sqnr_db),
            float(o.mse),
        ]
        for o in outputs
    ]
    header = ["output", "float top-1", "integer top-1", "drop (pp)", "top-1 agreement", "SQNR (dB)", "MSE"]
    return (
        ["### Per output", "", "Top-1 only for outputs with labels (`label/<output>`; `label`: the first output).", ""]
        + table(header, rows)
        + [""]
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f} %"


def plan_lines(plan: Any) -> list[str]:
    lines = ["## Integer plan", ""]
    lines.append(f"* layers: {len(plan.layers)}, tensors: {len(plan.tensors)}, arena: {plan.arena_size} bytes")
    if getattr(plan, "model_hash", ""):
        lines.append(f"* plan hash: `{plan.model_hash[:16]}`")
    lines.append("")
    rows = [
        [
            layer.name,
            layer.op,
            layer.datapath,
            layer.engine,
            plan.tensors[layer.output].scale,
            plan.tensors[layer.output].zero_point,
        ]
        for layer in plan.layers
    ]
    lines += table(["layer", "op", "datapath", "engine", "out scale", "out zp"], rows) + [""]
    return lines + engine_lines(plan) + given_lines(plan)


def engine_lines(plan: Any) -> list[str]:
    """Why each layer runs where it does (the engine assignment pass), and narrow-accumulator saturation."""
    layers = plan.meta.get("lowering", {}).get("layers", {})
    reasons = [layers[layer.name].get("engine_reason", "") for layer in plan.layers if layer.name in layers]
    lines = []
    if any(reasons):
        lines += ["### Engine assignment", ""] + [f"* {r}" for r in reasons if r] + [""]
    saturation = plan.meta.get("accumulator_saturation", {})
    if saturation:
        rows = [
            [
                name,
                e["engine"],
                f"{e['accumulator_bits']} ({e['overflow']})",
                e["worst_case_log2"],
                _pct(e.get("rate")) if e["can_overflow"] else "cannot overflow",
            ]
            for name, e in saturation.items()
        ]
        lines += (
            ["### Narrow accumulators", ""] + table(["layer", "engine", "bits", "worst case log2", "rate"], rows) + [""]
        )
    scales = plan.meta.get("engine_scales", {})
    if scales.get("tensors"):
        # what running those layers on a shift-only engine cost (fixpoint.lower.engine_scales)
        rows = [
            [name, f"{t['scale']:.6g}", f"{t['pow2_scale']:.6g}", f"{t['sqnr_cost_db']:.2f}"]
            for name, t in scales["tensors"].items()
        ]
        lines += [
            "### Power-of-two scales for the shift-only engine",
            "",
            f"Layers on {', '.join(scales['engines'])}: {', '.join(scales['layers'])}.",
            "",
        ]
        lines += table(["tensor", "calibrated scale", "power-of-two scale", "SQNR cost (dB)"], rows) + [""]
    return lines


def given_lines(plan: Any) -> list[str]:
    """An imported QDQ model's / encodings file's quantization next to what the plan uses (docs/interop.md)."""
    given = getattr(plan, "meta", {}).get("given", {})
    if not given:
        return []
    rows = []
    for t in plan.tensors:
        g = given.get(t.name)
        if g is not None:
            rows.append(
                [
                    t.name,
                    g["type"],
                    g["scale"],
                    g["zero_point"],
                    t.scale,
                    t.zero_point,
                    abs(t.scale - g["scale"]) / g["scale"],
                ]
            )
    lines = ["## Given quantization (imported model) and what the board uses", ""]
    return (
        lines
        + table(["tensor", "given type", "given scale", "given zp", "plan scale", "plan zp", "scale error"], rows)
        + [""]
    )


def range_rows(calib: CalibrationResult) -> list[list[Any]]:
    rows = []
    for index, (name, q) in enumerate(calib.quant.items()):
        stats = calib.stats.get(name)
        requested = calib.requested.get(name, q.policy)
        policy = q.policy if requested == q.policy else f"{requested} -> {q.policy}"
        clipped = sqnr = float("nan")
        if stats is not None and stats.hist is not None:
            clipped = 100.0 * clipped_fraction(stats, q.lo, q.hi)
            sqnr = sqnr_db(stats, q.lo, q.hi, q.bits, q.scheme)
        rows.append(
            [
                index,
                f"`{name}`",
                policy,
                f"[{q.observed_min:.4g}, {q.observed_max:.4g}]",
                f"[{q.lo:.4g}, {q.hi:.4g}]",
                q.scale,
                q.zero_point,
                clipped,
                sqnr,
            ]
        )
    return rows


def ranges_lines(calib: CalibrationResult) -> list[str]:
    lines = [
        "## Activation ranges",
        "",
        "Clipped: share of calibration values outside the range. Est. SQNR: from the histogram, "
        "clipping and rounding noise of this tensor alone.",
        "",
    ]
    header = [
        "#",
        "tensor",
        "policy",
        "observed",
        "clip [lo, hi]",
        "scale",
        "zero point",
        "clipped %",
        "est. SQNR (dB)",
    ]
    return lines + table(header, range_rows(calib)) + [""]


def histogram_lines(images: list[tuple[TensorQuant, str]]) -> list[str]:
    lines = [
        "## Histograms",
        "",
        "Log-scale counts of every calibration value; dashed lines and shading: the clip range.",
        "",
    ]
    for quant, image in images:
        lines += [f"### `{cell(quant.name)}`", "", f"![{cell(quant.name)}]({image})", ""]
    return lines
