"""Regression detection: each job against its baseline of the same (board, model, config).

The baseline is the newest PASSED run of that job in the history, or the job
in a pinned run (``--baseline RUN_ID``), calibrated the same way: a row whose
policy search ran when this one's did not (or the reverse) is never a baseline
(``JobResult.calibrated_unlike``). Regressions: a new mismatch (with the first
diverging layer), a job that passed before and fails now, an accuracy drop
beyond ``accuracy_change_pp``, growth of instructions per inference, flash or
RAM beyond their percentages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .db import History
from .jobs import FAILED, PASSED, JobResult
from .spec import Thresholds

log = logging.getLogger(__name__)


@dataclass
class Regression:
    job_id: str
    metric: str  # mismatch, verdict, accuracy, instructions, flash, ram
    baseline: str  # the baseline's value, as text
    current: str
    baseline_run: str
    detail: str = ""

    def line(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return (
            f"REGRESSION {self.job_id}: {self.metric} {self.baseline} -> {self.current} "
            f"(baseline run {self.baseline_run}){extra}"
        )


def compare_job(current: JobResult, base: JobResult, limits: Thresholds) -> list[Regression]:
    """Every regression of ``current`` against ``base``."""
    found: list[Regression] = []

    def add(metric: str, old: str, new: str, detail: str = "") -> None:
        found.append(Regression(current.job_id, metric, old, new, base.run_id, detail))

    if current.mismatches and not base.mismatches:
        where = f"first diverging layer '{current.first_layer}'" if current.first_layer else "layer not localized"
        add("mismatch", "0 mismatching samples", f"{current.mismatches} mismatching samples", where)
    elif current.verdict == FAILED and base.verdict == PASSED:
        add("verdict", PASSED, FAILED, f"stage {current.stage}: {current.reason}")
    if current.accuracy is not None and base.accuracy is not None:
        drop = (base.accuracy - current.accuracy) * 100.0
        if drop > limits.accuracy_change_pp:
            add(
                "accuracy",
                f"{base.accuracy * 100:.2f}%",
                f"{current.accuracy * 100:.2f}%",
                f"drop {drop:.2f} pp > {limits.accuracy_change_pp:.2f} pp",
            )
    if current.counter_unit == base.counter_unit == "instructions":
        _growth(add, "instructions", base.instructions, current.instructions, limits.instructions_pct)
    _growth(add, "flash", base.flash, current.flash, limits.flash_pct)
    _growth(add, "ram", base.ram, current.ram, limits.ram_pct)
    return found


def _growth(add, metric: str, old: float | None, new: float | None, limit_pct: float) -> None:
    if not old or new is None:
        return
    pct = (new - old) / old * 100.0
    if pct > limit_pct:
        add(metric, f"{old:.0f}", f"{new:.0f}", f"+{pct:.2f}% > {limit_pct:.2f}%")


def detect(
    history: History, results: list[JobResult], limits: Thresholds, baseline_run: str | None = None
) -> list[Regression]:
    """Regressions of a run's jobs against the last good run of each (or ``baseline_run``)."""
    pinned = {j.key: j for j in history.jobs(baseline_run)} if baseline_run else None
    found: list[Regression] = []
    for result in results:
        if result.verdict not in (PASSED, FAILED):
            continue
        if pinned is None:  # the last good run calibrated as this one (a changed policy_search starts anew)
            base = history.last_good(result.key, result.run_id, lambda row: not result.calibrated_unlike(row))
        else:
            base = pinned.get(result.key)
            if base is not None and result.calibrated_unlike(base):
                log.warning("%s: not compared: %s", result.job_id, result.calibrated_unlike(base))
                base = None
        if base is not None:
            found += compare_job(result, base, limits)
    return found


def compare_runs(history: History, run_a: str, run_b: str, limits: Thresholds) -> tuple[list[Regression], list[str]]:
    """``farm compare``: run B against run A; also the jobs only one of them has, and the jobs the two runs
    calibrated differently (not compared)."""
    a = {j.key: j for j in history.jobs(run_a)}
    b = {j.key: j for j in history.jobs(run_b)}
    found: list[Regression] = []
    notes: list[str] = []
    for key, job in b.items():
        unlike = job.calibrated_unlike(a[key]) if key in a else ""
        if unlike:
            notes.append(f"not compared: {'.'.join(key)}: {unlike}")
        elif key in a and job.verdict in (PASSED, FAILED):
            found += compare_job(job, a[key], limits)
    notes += [f"only in {run_a}: {'.'.join(k)}" for k in a if k not in b]
    notes += [f"only in {run_b}: {'.'.join(k)}" for k in b if k not in a]
    return found, notes
