"""``write_report``: Markdown + PNG report of a calibration (and evaluation, plan).

The report is a folder of its own (``report.md``, ``img/*.png``), built in a
temporary sibling folder and renamed into place, so readers never see half a
report. An existing folder is only replaced when it is empty or was written
by this function (it carries a marker file), never a folder of other files.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fixpoint.calibrate.errors import CalibrationError
from fixpoint.calibrate.result import CalibrationResult
from fixpoint.calibrate.tensor_bits import precision_lines
from fixpoint.report import markdown, search_section
from fixpoint.report.plots import HistogramPlotter, sqnr_chart

log = logging.getLogger(__name__)

REPORT_FILE = "report.md"
IMAGE_DIR = "img"
MARKER = ".fixpoint-report"


def write_report(
    out_dir: str | os.PathLike, calib: CalibrationResult, eval_result: Any = None, plan: Any = None
) -> Path:
    """Write the report folder ``out_dir``; returns the path of its ``report.md``.

    ``eval_result`` is a ``fixpoint.evaluate.EvalResult`` (per-layer SQNR chart
    and table), ``plan`` a ``fixpoint.plan.Plan`` (layer table); both optional.
    """
    out_dir = Path(out_dir)
    _check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        _build(staging, calib, eval_result, plan)
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("wrote report %s (%d histograms)", out_dir / REPORT_FILE, len(calib.quant))
    return out_dir / REPORT_FILE


def _check_replaceable(out_dir: Path) -> None:
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise CalibrationError(f"{out_dir}: report folder path is an existing file")
    if any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
        raise CalibrationError(
            f"{out_dir}: folder exists and is not a Fixpoint report; choose an empty or new folder for the report"
        )


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.replace(staging, out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
    os.replace(out_dir, retired / out_dir.name)
    os.replace(staging, out_dir)
    shutil.rmtree(retired, ignore_errors=True)


def _image_name(index: int, tensor: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", tensor).strip("_.")[-40:] or "tensor"
    return f"hist_{index:03d}_{slug}.png"


def _build(folder: Path, calib: CalibrationResult, eval_result: Any, plan: Any) -> None:
    images = folder / IMAGE_DIR
    images.mkdir()
    lines = markdown.header_lines(calib) + search_section.estimated_lines(calib)
    if eval_result is not None:
        lines += markdown.accuracy_lines(eval_result, _eval_chart(images, eval_result))
    if plan is not None:
        lines += markdown.plan_lines(plan)
        lines += _mixed_precision(images, plan)
        lines += precision_lines(plan)
    lines += search_section.policy_search_lines(calib)
    lines += markdown.ranges_lines(calib)
    lines += markdown.histogram_lines(_histograms(images, calib))
    (folder / REPORT_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / MARKER).write_text("written by fixpoint.report.write_report\n")


def _mixed_precision(images: Path, plan: Any) -> list[str]:
    """The Pareto front of a plan calibrated under a budget (``--budget``), if any."""
    info = getattr(plan, "meta", {}).get("mixed_precision")
    if not info:
        return []
    from fixpoint.mixed.front import front_chart, front_lines

    front_chart(info, images / "pareto.png")
    return front_lines(info, f"{IMAGE_DIR}/pareto.png")


def _eval_chart(images: Path, eval_result: Any) -> str | None:
    per_layer = list(getattr(eval_result, "per_layer", []) or [])
    if not per_layer:
        return None
    sqnr_chart([e.name for e in per_layer], [float(e.sqnr_db) for e in per_layer], images / "sqnr.png")
    return f"{IMAGE_DIR}/sqnr.png"


def _histograms(images: Path, calib: CalibrationResult) -> list:
    plotter = HistogramPlotter()
    drawn = []
    for index, (name, quant) in enumerate(calib.quant.items()):
        stats = calib.stats.get(name)
        if stats is None:
            continue
        file_name = _image_name(index, name)
        plotter.draw(stats, quant, calib.requested.get(name, ""), images / file_name)
        drawn.append((quant, f"{IMAGE_DIR}/{file_name}"))
    return drawn
