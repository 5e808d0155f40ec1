"""Calibration / evaluation report: Markdown with small PNG plots (see writer.py)."""

import matplotlib

matplotlib.use("Agg")  # reports are written headless; never open a window

from fixpoint.report.writer import write_report  # noqa: E402

__all__ = ["write_report"]
