"""The history data layer on SQLite and on a real PostgreSQL server (started by the fixture)."""

from __future__ import annotations

import subprocess

import pytest

from fixpoint.farm import FAILED, PASSED, History, HistoryError, JobResult, RunInfo, Thresholds, detect
from fixpoint.farm.db import MIGRATIONS

from farm_harness import farm_argv, farm_toml, run_dir_of, verdicts


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    url = request.getfixturevalue("postgres_url")
    with History(url) as db:  # a clean slate per test: the server lives for the session
        with db._tx() as cur:
            for table in ("jobs", "runs", "schema_version"):
                cur.execute(f"DROP TABLE IF EXISTS {table}")
    return url


def _job(run: str, verdict: str = PASSED, **values) -> JobResult:
    base = dict(
        run_id=run,
        job_id="riscv32-virt.mlp.c",
        board="riscv32-virt",
        model="mlp",
        config="c",
        verdict=verdict,
        n_samples=4,
        bit_exact=4,
        accuracy=0.9,
        instructions=10000.0,
        counter_unit="instructions",
        flash=40000,
        ram=6000,
        arena=512,
        wall_seconds=1.5,
    )
    base.update(values)
    return JobResult(**base)


def test_round_trip_last_good_and_trend(db_url):
    with History(db_url) as db:
        assert db.schema_level() == len(MIGRATIONS)
        for i, run in enumerate(("r1", "r2", "r3")):
            db.save_run(
                RunInfo(
                    run_id=run,
                    farm="t",
                    started=f"2026-01-0{i + 1}T00:00:00",
                    commit="abc",
                    toolchains={"riscv32-virt": "gcc 12"},
                    qemu={"riscv32-virt": "QEMU 7.2"},
                )
            )
        db.save_job(_job("r1"))
        db.save_job(_job("r2", instructions=10050.0))
        db.save_job(_job("r3", FAILED, stage="hil", reason="BoardCrashed", instructions=None))
        db.save_job(_job("r3", FAILED, stage="hil", reason="BoardCrashed again", instructions=None))  # replaced
    with History(db_url) as db:  # reopened: no migration runs twice
        assert db.schema_level() == len(MIGRATIONS)
        assert [r.run_id for r in db.runs()] == ["r3", "r2", "r1"]
        assert db.run("r1").qemu == {"riscv32-virt": "QEMU 7.2"}
        jobs = db.jobs("r3")
        assert len(jobs) == 1 and jobs[0].reason == "BoardCrashed again" and jobs[0].instructions is None
        assert db.last_good(("riscv32-virt", "mlp", "c"), exclude_run="r3").run_id == "r2"
        trend = db.trend(("riscv32-virt", "mlp", "c"), 2)
        assert [job.run_id for _, job in trend] == ["r2", "r3"]


def test_regressions_against_last_good_and_pinned(db_url):
    with History(db_url) as db:
        for i, run in enumerate(("r1", "r2", "r3")):
            db.save_run(RunInfo(run_id=run, farm="t", started=f"2026-01-0{i + 1}T00:00:00"))
        db.save_job(_job("r1", instructions=9000.0))
        db.save_job(_job("r2"))
        now = _job(
            "r3",
            FAILED,
            instructions=10200.0,
            flash=40000,
            ram=6200,
            mismatches=2,
            accuracy=0.85,
            first_layer="conv2",
            stage="hil",
        )
        db.save_job(now)
        found = {r.metric: r for r in detect(db, [now], Thresholds(instructions_pct=1.0, ram_pct=2.0))}
        assert set(found) == {"mismatch", "accuracy", "instructions", "ram"}
        assert found["mismatch"].baseline_run == "r2" and "conv2" in found["mismatch"].detail
        assert found["instructions"].job_id == "riscv32-virt.mlp.c"
        pinned = {r.metric: r for r in detect(db, [now], Thresholds(instructions_pct=1.0), baseline_run="r1")}
        assert pinned["instructions"].baseline == "9000" and pinned["instructions"].baseline_run == "r1"


def test_schema_migrates_from_level_1(db_url):
    """A history written by the first schema level gains the new columns and keeps its rows."""
    from fixpoint.farm.db import _JOB_COLUMNS_1

    with History(db_url) as db:
        with db._tx() as cur:
            for table in ("jobs", "runs", "schema_version"):
                cur.execute(f"DROP TABLE {table}")
            cur.execute("CREATE TABLE schema_version (version BIGINT NOT NULL)")
            cur.execute("INSERT INTO schema_version (version) VALUES (1)")
            for statement in MIGRATIONS[0]:
                cur.execute(statement)
            old = _job("r0")
            cur.execute(
                db._sql(
                    f"INSERT INTO jobs ({', '.join(_JOB_COLUMNS_1)}) VALUES ({', '.join('?' * len(_JOB_COLUMNS_1))})"
                ),
                tuple(getattr(old, c) for c in _JOB_COLUMNS_1),
            )
    with History(db_url) as db:
        assert db.schema_level() == len(MIGRATIONS) == 3
        (job,) = db.jobs("r0")
        assert job.bit_exact == 4 and job.toolchain is None and job.unit is None
        db.save_job(_job("r1", toolchain="riscv64-unknown-elf-gcc 12.2.0", commit_id="abc"))
        assert db.jobs("r1")[0].toolchain == "riscv64-unknown-elf-gcc 12.2.0"


def test_unreachable_database_is_one_error(tmp_path):
    with pytest.raises(HistoryError, match="cannot connect"):
        History("postgresql://farm@127.0.0.1:1/postgres")
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(HistoryError, match="dir.sqlite"):
        History(str(tmp_path / "dir.sqlite"))


def test_farm_run_records_into_postgresql(postgres_url, plan_cache, tmp_path):
    farm = tmp_path / "farm.toml"
    farm.write_text(
        farm_toml(["host"], ["mlp"], [{"name": "c", "policy_search": "off"}], samples=2, health=False, name="pg")
    )
    proc = subprocess.run(farm_argv(farm, plan_cache, postgres_url), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_dir = run_dir_of(plan_cache, proc.stdout)
    assert verdicts(run_dir)["host.mlp.c"]["verdict"] == PASSED
    with History(postgres_url) as db:
        run = db.run(run_dir.name)
        assert run is not None and run.status == "finished" and run.commit and run.toolchains["host"]
        (job,) = db.jobs(run_dir.name)
        assert job.verdict == PASSED and job.bit_exact == 2 and job.model_hash and job.build_id
        assert job.commit_id == run.commit and job.toolchain.startswith("gcc") and job.version
