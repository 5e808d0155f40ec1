"""One self-contained HTML page per run: the verdict matrix, regressions and
trend plots (inline SVG, no scripts, no network)."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from ..fileio import atomic_write_text
from .db import History
from .jobs import FAILED, NOT_RUN, PASSED, JobResult, RunInfo
from .regress import Regression

_COLOURS = {PASSED: "#2e7d32", FAILED: "#c62828", NOT_RUN: "#757575"}
_CSS = """body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top}
.cell{color:#fff;font-weight:bold}.cell a{color:#fff}.small{font-size:85%;font-weight:normal}
.reg{color:#c62828}svg{background:#fafafa;border:1px solid #ddd}"""

# (label, attribute, scale, unit) of each trend plot
_TRENDS = (
    ("accuracy", "accuracy", 100.0, "%"),
    ("instructions / inference", "instructions", 1.0, ""),
    ("flash", "flash", 1.0, " B"),
    ("RAM", "ram", 1.0, " B"),
)


def write_report(
    path: Path,
    info: RunInfo,
    results: list[JobResult],
    regressions: list[Regression],
    history: History | None,
    trend_runs: int = 10,
) -> Path:
    base = path.parent
    parts = [
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Fixpoint farm '
        f"{escape(info.farm)} {escape(info.run_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Farm {escape(info.farm)}: run {escape(info.run_id)}</h1>",
        _run_table(info, results),
    ]
    parts.append(_regressions(regressions))
    parts.append("<h2>Matrix</h2>" + _matrix(results, base))
    if history is not None:
        parts.append(f"<h2>Trends (last {trend_runs} runs)</h2>" + _trends(results, history, trend_runs))
    parts.append("</body></html>")
    return atomic_write_text(path, "\n".join(parts) + "\n")


def _run_table(info: RunInfo, results: list[JobResult]) -> str:
    counts = {v: sum(1 for r in results if r.verdict == v) for v in (PASSED, FAILED, NOT_RUN)}
    rows = [
        ("status", info.status),
        ("started", info.started),
        ("finished", info.finished),
        ("commit", info.commit),
        ("fixpoint", info.version),
        ("baseline", info.baseline or "last good run"),
        ("jobs", ", ".join(f"{n} {v}" for v, n in counts.items())),
    ]
    rows += [(f"toolchain {b}", v) for b, v in sorted(info.toolchains.items())]
    rows += [(f"QEMU {b}", v) for b, v in sorted(info.qemu.items())]
    return "<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows) + "</table>"


def _regressions(regressions: list[Regression]) -> str:
    if not regressions:
        return "<h2>Regressions</h2><p>none</p>"
    items = "".join(f'<li class="reg">{escape(r.line())}</li>' for r in regressions)
    return f"<h2>Regressions ({len(regressions)})</h2><ul>{items}</ul>"


def _link(target: str, base: Path) -> str:
    if not target:
        return ""
    rel = os.path.relpath(target, base) if os.path.isabs(target) else target
    return escape(Path(rel).as_posix(), quote=True)


def _matrix(results: list[JobResult], base: Path) -> str:
    """Per board a table: models down, configurations across, each cell coloured by verdict."""
    configs = list(dict.fromkeys(r.config for r in results))
    out = []
    for board in dict.fromkeys(r.board for r in results):
        rows = [
            f"<h3>{escape(board)}</h3><table><tr><th>model</th>"
            + "".join(f"<th>{escape(c)}{_calibration_note(results, c)}</th>" for c in configs)
            + "</tr>"
        ]
        for model in dict.fromkeys(r.model for r in results if r.board == board):
            cells = []
            for config in configs:
                r = next((x for x in results if x.key == (board, model, config)), None)
                cells.append(_cell(r, base) if r else "<td></td>")
            rows.append(f"<tr><th>{escape(model)}</th>{''.join(cells)}</tr>")
        out.append("".join(rows) + "</table>")
    return "".join(out)


def _calibration_note(results: list[JobResult], config: str) -> str:
    """How a configuration calibrates, under its name: the policy search setting (auto: as `fixpoint calibrate`)."""
    row = next((r for r in results if r.config == config and r.policy_search), None)
    if row is None:
        return ""
    return (
        f'<br><span class="small">policy search {"on" if row.searched else "off"} ({escape(row.policy_search)})</span>'
    )


def _cell(r: JobResult, base: Path) -> str:
    colour = _COLOURS.get(r.verdict, "#f9a825")
    lines = [escape(r.verdict)]
    if r.n_samples:
        lines.append(f'<span class="small">{r.bit_exact}/{r.n_samples} bit-exact</span>')
    if r.instructions is not None:
        lines.append(f'<span class="small">{r.instructions:.0f} {escape(r.counter_unit)}/inference</span>')
    if r.unit:
        lines.append(f'<span class="small">unit {escape(r.unit)}</span>')
    if r.first_layer:
        lines.append(f'<span class="small">first diverging layer: {escape(r.first_layer)}</span>')
    if r.verdict != PASSED and r.reason:
        lines.append(f'<span class="small">{escape(r.stage)}: {escape(r.reason[:200])}</span>')
    if r.log_path:
        lines.append(f'<span class="small"><a href="{_link(r.log_path, base)}">log</a></span>')
    return f'<td class="cell" style="background:{colour}">{"<br>".join(lines)}</td>'


def _trends(results: list[JobResult], history: History, limit: int) -> str:
    rows = ["<table><tr><th>job</th>" + "".join(f"<th>{escape(t[0])}</th>" for t in _TRENDS) + "</tr>"]
    for r in results:
        # only the runs calibrated as this one: the plans of another policy_search setting differ
        series = [(started, job) for started, job in history.trend(r.key, limit) if not r.calibrated_unlike(job)]
        cells = []
        for label, attr, scale, unit in _TRENDS:
            points = [(started, getattr(job, attr)) for started, job in series]
            values = [v * scale for _, v in points if v is not None]
            cells.append(f"<td>{_sparkline(values, f'{r.job_id} {label}', unit)}</td>")
        rows.append(f"<tr><th>{escape(r.job_id)}</th>{''.join(cells)}</tr>")
    return "".join(rows) + "</table>"


def _sparkline(values: list[float], title: str, unit: str, width: int = 180, height: int = 48) -> str:
    if not values:
        return '<span class="small">no data</span>'
    lo, hi = min(values), max(values)
    span = (hi - lo) or max(abs(hi), 1.0)
    step = (width - 8) / max(len(values) - 1, 1)
    pts = [(4 + i * step, height - 4 - (v - lo) / span * (height - 8)) for i, v in enumerate(values)]
    poly = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="#1565c0"/>' for x, y in pts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
        f'<title>{escape(title)}</title><polyline points="{poly}" fill="none" stroke="#1565c0" '
        f'stroke-width="1.5"/>{dots}</svg><br><span class="small">last {values[-1]:.2f}{escape(unit)}; '
        f"min {lo:.2f}, max {hi:.2f} over {len(values)} runs</span>"
    )
