"""The nightly HIL regression farm: boards x models x configurations, history, regressions, report.

    spec = load_farm("examples/farm/nightly.toml")
    with History(url) as db:
        outcome = Farm(spec, db, out).run()

Modules: ``spec`` (farm file + schema), ``jobs`` (the matrix, results), ``worker`` (one job in its own
process), ``supervise`` (stage timeouts), ``runner`` (pool, health checks, resume), ``db`` (SQLite /
PostgreSQL history), ``regress`` (regression detection), ``report`` (HTML), ``junit`` (JUnit XML, JSON).
"""

from .db import History, open_history
from .errors import FarmError, FarmFileError, HistoryError
from .jobs import FAILED, NOT_RUN, PASSED, Job, JobResult, RunInfo, expand
from .regress import Regression, compare_runs, detect
from .report import write_report
from .runner import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_REGRESSION, Farm, FarmOutcome, default_db
from .spec import FarmSpec, Thresholds, load_farm

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REGRESSION",
    "FAILED",
    "NOT_RUN",
    "PASSED",
    "Farm",
    "FarmError",
    "FarmFileError",
    "FarmOutcome",
    "FarmSpec",
    "History",
    "HistoryError",
    "Job",
    "JobResult",
    "Regression",
    "RunInfo",
    "Thresholds",
    "compare_runs",
    "default_db",
    "detect",
    "expand",
    "load_farm",
    "open_history",
    "write_report",
]
