"""The farm history: one small data layer over SQLite (a file, the default) or
PostgreSQL (``postgresql://...``, through psycopg).

    with open_history("out/farm/history.sqlite") as db:
        db.save_run(info); db.save_job(result); db.last_good(key, exclude_run=...)

The schema is created and migrated here (``schema_version`` holds the level
reached); callers never write SQL. Statements use ``?`` placeholders and are
translated for psycopg.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import HistoryError
from .jobs import PASSED, JobResult, RunInfo

log = logging.getLogger(__name__)

_FLOAT = "DOUBLE PRECISION"
_JOB_TYPES = {
    "n_samples": "BIGINT",
    "bit_exact": "BIGINT",
    "mismatches": "BIGINT",
    "failures": "BIGINT",
    "accuracy": _FLOAT,
    "float_accuracy": _FLOAT,
    "drop_pp": _FLOAT,
    "instructions": _FLOAT,
    "flash": "BIGINT",
    "ram": "BIGINT",
    "arena": "BIGINT",
    "wall_seconds": _FLOAT,
    "attempt": "BIGINT",
}
_RUN_COLUMNS = [
    "run_id",
    "farm",
    "started",
    "finished",
    "status",
    "commit_id",
    "version",
    "toolchains",
    "qemu",
    "baseline",
]

# The jobs columns of schema level 1 (frozen: later levels add columns by migration).
_JOB_COLUMNS_1 = [
    "run_id",
    "job_id",
    "board",
    "model",
    "config",
    "verdict",
    "stage",
    "reason",
    "model_hash",
    "source_hash",
    "config_json",
    "build_id",
    "n_samples",
    "bit_exact",
    "mismatches",
    "failures",
    "first_layer",
    "accuracy",
    "float_accuracy",
    "drop_pp",
    "instructions",
    "counter_unit",
    "flash",
    "ram",
    "arena",
    "wall_seconds",
    "log_path",
    "attempt",
]


def _column(name: str) -> str:
    return f"{name} {_JOB_TYPES.get(name, 'TEXT')}" + (" NOT NULL" if name in ("run_id", "job_id") else "")


# Each level: the statements that take the schema from the level before to this one.
MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, farm TEXT NOT NULL, started TEXT NOT NULL, "
        "finished TEXT, status TEXT NOT NULL, commit_id TEXT, version TEXT, toolchains TEXT, qemu TEXT, "
        "baseline TEXT)",
        "CREATE TABLE jobs (" + ", ".join(_column(c) for c in _JOB_COLUMNS_1) + ", PRIMARY KEY (run_id, job_id))",
        "CREATE INDEX jobs_by_key ON jobs (board, model, config)",
    ],
    # level 2: each job row carries its run's commit, package version and its board's tool versions
    [f"ALTER TABLE jobs ADD COLUMN {_column(c)}" for c in ("commit_id", "version", "toolchain", "qemu")],
    # level 3: which named unit of a board ran the job (farm files with [[boards]] units)
    [f"ALTER TABLE jobs ADD COLUMN {_column('unit')}"],
]


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


class History:
    """A connection to the history database, schema at the newest level."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._pg = _is_postgres(url)
        self._conn = self._connect()
        self._migrate()

    # ---- connection ------------------------------------------------------------------

    def _connect(self):
        if self._pg:
            try:
                import psycopg
            except ImportError:
                raise HistoryError(f"{_redacted(self.url)}: PostgreSQL needs psycopg (pip install psycopg)") from None
            try:
                return psycopg.connect(self.url, connect_timeout=10)
            except psycopg.Error as exc:
                raise HistoryError(f"{_redacted(self.url)}: cannot connect: {_first(exc)}") from None
        path = Path(self.url.removeprefix("sqlite:///") if self.url.startswith("sqlite:///") else self.url)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            return conn
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(f"{path}: cannot open the history database: {exc}") from None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        errors = self._errors()
        with self._lock:
            cur = self._conn.cursor()
            try:
                yield cur
                self._conn.commit()
            except errors as exc:
                self._conn.rollback()
                raise HistoryError(f"{_redacted(self.url)}: {_first(exc)}") from None
            finally:
                cur.close()

    def _errors(self) -> tuple[type[BaseException], ...]:
        if self._pg:
            import psycopg

            return (psycopg.Error,)
        return (sqlite3.Error,)

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self._pg else text

    def _exec(self, cur, text: str, params: Sequence[Any] = ()) -> None:
        cur.execute(self._sql(text), tuple(params))

    # ---- schema ----------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._tx() as cur:
            self._exec(cur, "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            self._exec(cur, "SELECT version FROM schema_version")
            row = cur.fetchone()
            level = int(row[0]) if row else 0
            if level > len(MIGRATIONS):
                raise HistoryError(
                    f"{_redacted(self.url)}: schema level {level} is newer than this fixpoint knows ({len(MIGRATIONS)})"
                )
            for step in MIGRATIONS[level:]:
                for statement in step:
                    self._exec(cur, statement)
            if row is None:
                self._exec(cur, "INSERT INTO schema_version (version) VALUES (?)", [len(MIGRATIONS)])
            elif level < len(MIGRATIONS):
                self._exec(cur, "UPDATE schema_version SET version = ?", [len(MIGRATIONS)])
            if level < len(MIGRATIONS):
                log.info("history %s: schema at level %d", _redacted(self.url), len(MIGRATIONS))

    def schema_level(self) -> int:
        with self._tx() as cur:
            self._exec(cur, "SELECT version FROM schema_version")
            return int(cur.fetchone()[0])

    # ---- writes ----------------------------------------------------------------------

    def save_run(self, info: RunInfo) -> None:
        values = [
            info.run_id,
            info.farm,
            info.started,
            info.finished,
            info.status,
            info.commit,
            info.version,
            json.dumps(info.toolchains),
            json.dumps(info.qemu),
            info.baseline,
        ]
        with self._tx() as cur:
            self._exec(cur, "DELETE FROM runs WHERE run_id = ?", [info.run_id])
            self._exec(
                cur,
                f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) VALUES ({', '.join('?' * len(_RUN_COLUMNS))})",
                values,
            )

    def save_job(self, result: JobResult) -> None:
        columns = JobResult.columns()
        with self._tx() as cur:
            self._exec(cur, "DELETE FROM jobs WHERE run_id = ? AND job_id = ?", [result.run_id, result.job_id])
            self._exec(
                cur,
                f"INSERT INTO jobs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [getattr(result, c) for c in columns],
            )

    # ---- reads -----------------------------------------------------------------------

    def run(self, run_id: str) -> RunInfo | None:
        rows = self._runs("WHERE run_id = ?", [run_id])
        return rows[0] if rows else None

    def runs(self, limit: int = 20, farm: str | None = None) -> list[RunInfo]:
        """Newest first."""
        where, params = ("WHERE farm = ?", [farm]) if farm else ("", [])
        return self._runs(f"{where} ORDER BY started DESC LIMIT {int(limit)}", params)

    def _runs(self, tail: str, params: list[Any]) -> list[RunInfo]:
        with self._tx() as cur:
            self._exec(cur, f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs {tail}", params)
            rows = cur.fetchall()
        return [
            RunInfo(
                run_id=r[0],
                farm=r[1],
                started=r[2],
                finished=r[3] or "",
                status=r[4],
                commit=r[5] or "",
                version=r[6] or "",
                toolchains=json.loads(r[7] or "{}"),
                qemu=json.loads(r[8] or "{}"),
                baseline=r[9] or "",
            )
            for r in rows
        ]

    def jobs(self, run_id: str) -> list[JobResult]:
        return self._jobs("WHERE run_id = ? ORDER BY job_id", [run_id])

    def _jobs(self, tail: str, params: list[Any], prefix: str = "") -> list[JobResult]:
        columns = JobResult.columns()
        with self._tx() as cur:
            self._exec(cur, f"SELECT {', '.join(prefix + c for c in columns)} FROM jobs {tail}", params)
            rows = cur.fetchall()
        return [JobResult(**dict(zip(columns, row))) for row in rows]

    def last_good(
        self, key: tuple[str, str, str], exclude_run: str, where: Callable[[JobResult], bool] | None = None
    ) -> JobResult | None:
        """The newest PASSED job of (board, model, config) in another run (of those ``where`` accepts)."""
        rows = self._jobs(
            "j JOIN runs r ON r.run_id = j.run_id WHERE j.board = ? AND j.model = ? AND "
            "j.config = ? AND j.verdict = ? AND j.run_id <> ? ORDER BY r.started DESC"
            + (" LIMIT 1" if where is None else ""),
            [*key, PASSED, exclude_run],
            prefix="j.",
        )
        return next((row for row in rows if where is None or where(row)), None)

    def trend(self, key: tuple[str, str, str], limit: int) -> list[tuple[str, JobResult]]:
        """(run started, job) of the last ``limit`` runs that ran this job, oldest first."""
        columns = JobResult.columns()
        with self._tx() as cur:
            self._exec(
                cur,
                f"SELECT r.started, {', '.join('j.' + c for c in columns)} FROM jobs j JOIN runs r "
                "ON r.run_id = j.run_id WHERE j.board = ? AND j.model = ? AND j.config = ? "
                f"ORDER BY r.started DESC LIMIT {int(limit)}",
                list(key),
            )
            rows = cur.fetchall()
        return [(r[0], JobResult(**dict(zip(columns, r[1:])))) for r in reversed(rows)]


def open_history(url: str) -> History:
    return History(url)


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _redacted(url: str) -> str:
    """A URL without its password, for messages."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url
