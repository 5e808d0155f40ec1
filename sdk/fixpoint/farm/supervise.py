"""Run one job's worker process under per-stage timeouts and turn what it left
on disk into a :class:`JobResult`.

The worker gets its own session (process group), so a timeout or a stop
signal ends it and everything it started; it also dies with the farm thread
that started it (PR_SET_PDEATHSIG), and its board processes die with it.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..fileio import atomic_write_text
from .jobs import FAILED, PASSED, PENDING, Job, JobResult, file_hash
from .worker import ERROR, RESULT, SAMPLES, STATUS

log = logging.getLogger(__name__)

_POLL = 0.2
_GRACE = 5.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class Supervisor:
    """Shared by the farm's threads: where to log, when to stop."""

    timeouts: dict[str, float]
    max_drop_pp: float
    stop: threading.Event

    def run(self, job: Job, run_id: str, work: Path, plan_dir: Path) -> JobResult:
        """Run ``job`` to a final verdict (or PENDING when the farm is stopping)."""
        for name in (STATUS, SAMPLES, RESULT, ERROR):
            (work / name).unlink(missing_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        spec_path = atomic_write_text(
            work / "job.json",
            json.dumps(job.to_worker(str(work), self.timeouts, self.max_drop_pp, str(plan_dir)), indent=1),
        )
        result = JobResult(
            run_id=run_id,
            job_id=job.id,
            board=job.board,
            model=job.model.name,
            config=job.config.name,
            config_json=json.dumps(job.config.as_dict(), sort_keys=True),
            source_hash=file_hash(job.model.path),
            log_path=str(work / "job.log"),
            unit=job.unit.name if job.unit is not None else "",
        )
        start = time.monotonic()
        outcome = self._supervise(spec_path, work)
        result.wall_seconds = time.monotonic() - start
        os.chmod(work / "job.log", 0o644)
        return _conclude(result, work, outcome)

    def _supervise(self, spec_path: Path, work: Path) -> tuple[str, str, str]:
        """(how it ended: exited / timeout / stopped, stage, detail)."""
        with open(work / "job.log", "ab") as logfile:
            proc = subprocess.Popen(
                [sys.executable, "-m", "fixpoint.farm.worker", str(spec_path)],
                stdin=subprocess.DEVNULL,
                stdout=logfile,
                stderr=logfile,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        spawned = time.time()
        try:
            while proc.poll() is None:
                stage, since = _status(work, spawned)
                limit = self.timeouts.get(stage, self.timeouts["calibrate"])
                if time.time() - since > limit:
                    _end(proc)
                    return "timeout", stage, f"timed out after {limit:.0f} s in stage {stage}"
                if self.stop.wait(_POLL):
                    _end(proc)
                    return "stopped", stage, "interrupted"
            return "exited", _status(work, spawned)[0], f"worker exited with code {proc.returncode}"
        finally:
            _end(proc)


def _status(work: Path, spawned: float) -> tuple[str, float]:
    try:
        data = json.loads((work / STATUS).read_text())
        return str(data["stage"]), float(data["since"])
    except (OSError, ValueError, KeyError):
        return "calibrate", spawned  # starting up counts against the first stage


def _end(proc: subprocess.Popen) -> None:
    """SIGTERM the worker's process group, wait, SIGKILL; always reaped."""
    if proc.poll() is None:
        _killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=_GRACE)
        except subprocess.TimeoutExpired:
            log.warning("worker %d ignored SIGTERM, killing it", proc.pid)
    if proc.poll() is None:
        _killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _killpg(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _samples_done(work: Path) -> int:
    try:
        return sum(1 for line in (work / SAMPLES).read_text().splitlines() if '"done"' in line)
    except OSError:
        return 0


def _conclude(result: JobResult, work: Path, outcome: tuple[str, str, str]) -> JobResult:
    how, stage, detail = outcome
    if how == "stopped":
        result.verdict, result.stage, result.reason = PENDING, stage, "interrupted; rerun on resume"
        return result
    if how == "exited" and (work / RESULT).is_file():
        return _from_hil(result, json.loads((work / RESULT).read_text()))
    result.verdict, result.stage = FAILED, stage
    if how == "exited" and (work / ERROR).is_file():
        error = json.loads((work / ERROR).read_text())
        result.stage, detail = error["stage"], f"{error['kind']}: {error['reason']}"
    done = _samples_done(work)
    result.reason = detail + (f" ({done} samples had finished; see {work / SAMPLES})" if done else "")
    return result


def _from_hil(result: JobResult, hil: dict) -> JobResult:
    result.model_hash = hil["model_hash"]
    result.build_id = hil.get("build_id", "")
    result.n_samples, result.bit_exact = hil["n_samples"], hil["bit_exact"]
    result.mismatches, result.failures = len(hil["mismatches"]), len(hil["failures"])
    first = hil["mismatches"][0] if hil["mismatches"] else None
    result.first_layer = (first or {}).get("first_layer") or ""
    result.accuracy, result.float_accuracy, result.drop_pp = hil["board_top1"], hil["float_top1"], hil["drop_pp"]
    result.counter_unit = hil["counter_unit"]
    result.instructions = hil["count_mean"] if hil["completed"] else None
    result.flash, result.ram, result.arena = hil["flash_bytes"], hil["ram_bytes"], hil["arena_bytes"]
    if hil["passed"]:
        result.verdict = PASSED
        return result
    result.verdict, result.stage = FAILED, "hil"
    if hil["failures"]:
        f = hil["failures"][0]
        result.reason = (
            f"{len(hil['failures'])} of {result.n_samples} samples without a result; "
            f"sample {f['sample']}: {f['kind']}: {f['reason']}"
        )
    elif first is not None:
        where = f", first diverging layer '{result.first_layer}'" if result.first_layer else ""
        result.reason = f"{result.mismatches} of {result.n_samples} samples differ from the simulation{where}"
    else:
        result.reason = f"accuracy drop {hil['drop_pp']:.2f} pp exceeds {hil['max_drop_pp']:.2f} pp"
    return result
