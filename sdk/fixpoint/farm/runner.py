"""``fixpoint farm run``: every job of a farm file over a bounded pool of workers.

Jobs (boards x models x configs) are interleaved across boards and run by
``spec.workers`` threads; a board runs at most ``instances`` of its jobs at
once. Before a board's first job its health check (a known-good tiny model)
runs; a board that fails it is quarantined for the run and its jobs are NOT
RUN. A board with named units (``units = [...]``: one per physical board,
each with its device or USB serial number) is checked unit by unit: a failing
unit is quarantined and its job goes to another unit; only when every unit
is quarantined are the board's jobs NOT RUN. After every job the run's state (``state.json``), the JSON and JUnit
summaries and the history row are written, so nothing finished is lost when a
board, a worker or the farm itself dies. SIGINT / SIGTERM stop the farm: the
running jobs are ended (their boards reaped), and ``--resume RUN_ID`` later
runs only the jobs without a final verdict.
"""

from __future__ import annotations

import json
import logging
import secrets
import signal
import subprocess
import threading
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from .._paths import repo_root
from ..fileio import atomic_write_text
from .db import History
from .errors import FarmError
from .jobs import FAILED, FINAL, NOT_RUN, PASSED, PENDING, Job, JobResult, RunInfo, expand, health_job
from .junit import write_farm_junit, write_summary_json
from .regress import Regression, detect
from .spec import FarmSpec, Unit
from .supervise import Supervisor

log = logging.getLogger(__name__)

STATE = "state.json"

# exit codes of `fixpoint farm run` (docs/farm.md)
EXIT_OK, EXIT_FAILED, EXIT_REGRESSION, EXIT_INTERRUPTED = 0, 1, 3, 130


@dataclass
class FarmOutcome:
    info: RunInfo
    results: list[JobResult]
    regressions: list[Regression] = field(default_factory=list)
    run_dir: Path = Path()
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.regressions:
            return EXIT_REGRESSION
        return EXIT_OK if all(r.verdict == PASSED for r in self.results) else EXIT_FAILED


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _order(jobs: list[Job]) -> list[Job]:
    """Round-robin over boards, so parallel workers start on different boards."""
    by_board: dict[str, list[Job]] = {}
    for job in jobs:
        by_board.setdefault(job.board, []).append(job)
    queues, ordered = list(by_board.values()), []
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered


class _Health:
    """Per board (or named unit, ``board/unit``): unknown until its check ran once, then ok or
    quarantined (for the whole run)."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self.verdicts: dict[str, str] = {}  # Job.health_key -> "" (ok) or the quarantine reason
        self._guard = threading.Lock()

    def quarantined(self, key: str) -> bool:
        return bool(self.verdicts.get(key))

    def lock(self, board: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(board, threading.Lock())


class Farm:
    def __init__(
        self, spec: FarmSpec, history: History, out: Path, *, resume: str | None = None, baseline: str | None = None
    ) -> None:
        self.spec, self.history, self.baseline = spec, history, baseline
        if resume == "last":
            resume = last_unfinished(out, spec.name)
        self.run_id = resume or new_run_id()
        self.run_dir = out / self.run_id
        self.stop = threading.Event()
        self.health = _Health()
        self.supervisor = Supervisor(spec.timeouts, spec.thresholds.max_drop_pp, self.stop)
        self.plans = out / "plans"
        self._lock = threading.Lock()
        self.jobs = _order(expand(spec))
        self.results: dict[str, JobResult] = {}
        self.info = RunInfo(run_id=self.run_id, farm=spec.name, started=_now(), baseline=baseline or "")
        if resume:
            self._load_state(resume)

    # ---- state -----------------------------------------------------------------------

    def _load_state(self, run_id: str) -> None:
        path = self.run_dir / STATE
        if not path.is_file():
            raise FarmError(f"--resume {run_id}: no run state {path}")
        try:
            state = json.loads(path.read_text())
            farm = state["info"]["farm"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise FarmError(f"--resume {run_id}: unreadable run state {path}: {exc}") from None
        if farm != self.spec.name:
            raise FarmError(f"--resume {run_id}: that run is of farm '{state['info']['farm']}', not '{self.spec.name}'")
        self.info = RunInfo(**state["info"])
        self.info.status = "running"
        for data in state["results"]:
            result = JobResult(**data)
            if result.verdict in FINAL:
                self.results[result.job_id] = result
        self.health.verdicts.update({b: r for b, r in state.get("quarantined", {}).items()})

    def _save(self) -> None:
        """state.json, summary.json and junit.xml: after every job, atomically."""
        with self._lock:
            results = self._ordered_results()
            quarantined = {b: r for b, r in self.health.verdicts.items() if r}
            atomic_write_text(
                self.run_dir / STATE,
                json.dumps(
                    {"info": asdict(self.info), "results": [r.as_dict() for r in results], "quarantined": quarantined},
                    indent=1,
                ),
            )
            write_summary_json(self.run_dir / "summary.json", self.info, results, quarantined)
            write_farm_junit(self.run_dir / "junit.xml", self.info, results)

    def _ordered_results(self) -> list[JobResult]:
        out = []
        for job in self.jobs:
            out.append(
                self.results.get(job.id)
                or JobResult(
                    run_id=self.run_id, job_id=job.id, board=job.board, model=job.model.name, config=job.config.name
                )
            )
        return out

    # ---- running ---------------------------------------------------------------------

    def run(self) -> FarmOutcome:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._collect_versions()
        self.history.save_run(self.info)
        todo = [j for j in self.jobs if j.id not in self.results]
        log.info(
            "farm %s run %s: %d jobs (%d to run) on %d boards, %d workers; results in %s",
            self.spec.name,
            self.run_id,
            len(self.jobs),
            len(todo),
            len(self.spec.boards),
            self.spec.workers,
            self.run_dir,
        )
        self._save()
        with _stop_on_signals(self.stop):
            _Dispatcher(self, todo).run()
        interrupted = self.stop.is_set()
        results = self._ordered_results()
        regressions = [] if interrupted else detect(self.history, results, self.spec.thresholds, self.baseline)
        self.info.status = "interrupted" if interrupted else "finished"
        self.info.finished = _now()
        self.history.save_run(self.info)
        self._save()
        return FarmOutcome(self.info, results, regressions, self.run_dir, interrupted)

    def _job(self, job: Job) -> bool:
        """Run ``job``; True when it must go back to the queue (its unit was just quarantined
        and the board has other units)."""
        try:
            return self._job_on_board(job)
        except Exception as exc:  # noqa: BLE001 - one job's trouble must not end the farm
            log.exception("%s: the farm failed to run this job", job.id)
            self._record(
                JobResult(
                    run_id=self.run_id,
                    job_id=job.id,
                    board=job.board,
                    model=job.model.name,
                    config=job.config.name,
                    verdict=FAILED,
                    stage="farm",
                    reason=f"{type(exc).__name__}: {exc}",
                )
            )
            return False

    def units_left(self, board: str) -> list[Unit]:
        """The named units of ``board`` not quarantined (checked or not yet)."""
        return [u for u in self.spec.board(board).units if not self.health.quarantined(f"{board}/{u.name}")]

    def board_lost(self, board: str) -> str:
        """Why every unit of a board with named units is quarantined ("" while one is left)."""
        units = self.spec.board(board).units
        if not units or self.units_left(board):
            return ""
        return "every unit quarantined: " + "; ".join(
            f"{u.name}: {self.health.verdicts[f'{board}/{u.name}']}" for u in units
        )

    def not_run(self, job: Job, reason: str) -> None:
        self._record(
            JobResult(
                run_id=self.run_id,
                job_id=job.id,
                board=job.board,
                model=job.model.name,
                config=job.config.name,
                verdict=NOT_RUN,
                stage="health",
                reason=reason,
            )
        )

    def _job_on_board(self, job: Job) -> bool:
        """Runs with one of the board's instances (or named units) reserved for it (by the dispatcher)."""
        quarantine = self._health_check(job)
        if quarantine is None:  # the farm is stopping: the job stays pending for --resume
            return False
        if quarantine and job.unit is not None and self.units_left(job.board):
            log.info("%s: unit %s quarantined; the job waits for another unit", job.id, job.unit.name)
            return True
        if quarantine:
            result = JobResult(
                run_id=self.run_id,
                job_id=job.id,
                board=job.board,
                model=job.model.name,
                config=job.config.name,
                verdict=NOT_RUN,
                stage="health",
                reason=self.board_lost(job.board) or quarantine,
            )
        else:
            log.info("start %s", job.id)
            work = self.run_dir / "jobs" / job.id
            result = self.supervisor.run(job, self.run_id, work, self._plan_dir(job))
        if result.verdict != PENDING:
            self._record(result)
        return False

    def _plan_dir(self, job: Job) -> Path:
        # shared by runs: run_calibration reuses a plan only when model, data and options match
        return self.plans / job.model.name / job.config.name / job.board

    def _record(self, result: JobResult) -> None:
        result.commit_id, result.version = self.info.commit, self.info.version
        result.toolchain = self.info.toolchains.get(result.board, "")
        result.qemu = self.info.qemu.get(result.board, "")
        with self._lock:
            previous = self.results.get(result.job_id)
            if previous is not None:
                result.attempt = previous.attempt + 1
            self.results[result.job_id] = result
            done = sum(1 for r in self.results.values() if r.verdict in FINAL)
        self.history.save_job(result)
        self._save()
        detail = (
            f" ({result.bit_exact}/{result.n_samples} bit-exact, {result.wall_seconds:.1f} s)"
            if result.verdict != NOT_RUN
            else ""
        )
        why = f": stage {result.stage}: {result.reason}" if result.verdict != PASSED else ""
        log.info("[%d/%d] %s %s%s%s", done, len(self.jobs), result.verdict, result.job_id, detail, why)

    def _health_check(self, job: Job) -> str | None:
        """'' when the board may run jobs, else why it is quarantined (checked once per run);
        None when the farm stopped before the check could end."""
        if not self.spec.health_enabled:
            return ""
        key = job.health_key
        with self.health.lock(key):
            if key in self.health.verdicts:
                return self.health.verdicts[key]
            check = health_job(self.spec, job.board, job.unit)
            log.info("health check of %s (%s, %d samples)", key, check.model.name, check.samples)
            work = self.run_dir / "health" / key
            result = self.supervisor.run(check, self.run_id, work, self._plan_dir(check))
            if result.verdict == PENDING:
                return None
            what = "board" if job.unit is None else "unit"
            verdict = (
                ""
                if result.verdict == PASSED
                else f"{what} quarantined: health check failed in stage {result.stage}: {result.reason}"
            )
            if verdict:
                log.warning("%s: %s", key, verdict)
            self.health.verdicts[key] = verdict
            return verdict

    def _collect_versions(self) -> None:
        from ..boards import load_board

        self.info.version = __version__
        self.info.commit = _first_line(["git", "-C", str(repo_root() or Path.cwd()), "rev-parse", "HEAD"])
        for entry in self.spec.boards:
            board = load_board(entry.name)
            self.info.toolchains[entry.key] = _first_line([board.compiler.tool("gcc"), "--version"])
            if board.launch.method == "qemu":
                self.info.qemu[entry.key] = _first_line([board.launch.qemu, "--version"])


class _Dispatcher:
    """``workers`` threads; each takes the first pending job whose board has a free instance, so no
    worker waits on a busy board while another board has work. A thread lives until no job is left
    (the job processes it starts die with it: PR_SET_PDEATHSIG).

    A board's free instances are a pool: its named units, or ``instances`` anonymous slots (None).
    A unit quarantined by its health check does not return to the pool."""

    def __init__(self, farm: Farm, jobs: list[Job]) -> None:
        self.farm = farm
        self.pending = list(jobs)
        self.free: dict[str, list[Unit | None]] = {
            b.key: [u for u in b.units if u in farm.units_left(b.key)] if b.units else [None] * b.instances
            for b in farm.spec.boards
        }
        self.cond = threading.Condition()

    def run(self) -> None:
        threads = [
            threading.Thread(target=self._worker, name=f"farm-{i}", daemon=True)
            for i in range(min(self.farm.spec.workers, len(self.pending)))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)  # short waits: the main thread stays free for SIGINT / SIGTERM

    def _worker(self) -> None:
        while (taken := self._take()) is not None:
            job, unit = taken
            requeue = False
            try:
                requeue = self.farm._job(replace(job, unit=unit))
            finally:
                with self.cond:
                    if requeue:
                        self.pending.insert(0, job)
                    if unit is None or not self.farm.health.quarantined(f"{job.board}/{unit.name}"):
                        self.free[job.board].append(unit)
                    self.cond.notify_all()

    def _take(self) -> tuple[Job, Unit | None] | None:
        with self.cond:
            while self.pending and not self.farm.stop.is_set():
                for index, job in enumerate(self.pending):
                    if self.free[job.board]:
                        return self.pending.pop(index), self.free[job.board].pop(0)
                    lost = self.farm.board_lost(job.board)
                    if lost:  # no unit will ever come back: report, do not wait
                        self.pending.pop(index)
                        self.farm.not_run(job, lost)
                        break
                else:
                    self.cond.wait(0.5)
            return None


def last_unfinished(out: Path, farm: str) -> str:
    """The newest run of ``farm`` in ``out`` that did not finish (stopped or killed)."""
    candidates = []
    for state in out.glob(f"*/{STATE}"):
        try:
            info = json.loads(state.read_text())["info"]
        except (OSError, ValueError, KeyError):
            continue
        if info.get("farm") == farm and info.get("status") != "finished":
            candidates.append((info.get("started", ""), state.parent.name))
    if not candidates:
        raise FarmError(f"--resume: no unfinished run of farm '{farm}' in {out}")
    return max(candidates)[1]


def _first_line(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = proc.stdout.strip().splitlines()
    return lines[0] if proc.returncode == 0 and lines else ""


class _stop_on_signals:
    """SIGINT / SIGTERM set the stop event (the jobs end themselves), then act as before."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.previous: dict[int, object] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        if not self.stop.is_set():
            log.warning("signal %d: stopping the farm (running jobs are ended; resume later)", signum)
        self.stop.set()

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def default_db(out: Path) -> str:
    return str(out / "history.sqlite")


__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REGRESSION",
    "Farm",
    "FarmOutcome",
    "default_db",
    "new_run_id",
]
