"""The farm under faults: a QEMU board killed mid-job, the farm itself stopped and resumed,
a board that fails its health check, a stage that overruns its timeout. Every config pins
policy_search = "off" (l2 ranges): these tests are about the farm, test_farm_calibration.py about its calibration."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess

import psutil
import pytest

from fixpoint.farm import History

from farm_harness import (
    ROOT,
    farm_argv,
    farm_toml,
    fresh_out,
    leftover_processes,
    run_dirs,
    summary,
    verdicts,
    wait_for,
)


def _start(farm_text: str, tmp_path, out, *extra: str) -> tuple[subprocess.Popen, str]:
    farm = tmp_path / "farm.toml"
    farm.write_text(farm_text)
    db = str(tmp_path / "history.sqlite")
    proc = subprocess.Popen(
        farm_argv(farm, out, db, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return proc, db


def _finish(proc: subprocess.Popen, timeout: float = 1800) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _samples_done(job_dir) -> int:
    try:
        return sum(1 for line in (job_dir / "samples.jsonl").read_text().splitlines() if '"done"' in line)
    except OSError:
        return 0


def _qemu_of(run_dir) -> psutil.Process | None:
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if proc.info["name"].startswith("qemu-system") and str(run_dir) in " ".join(proc.info["cmdline"]):
                return proc
        except (psutil.NoSuchProcess, psutil.AccessDenied, TypeError):
            continue
    return None


def test_killed_qemu_board_fails_its_job_only(tmp_path, plan_cache):
    out = fresh_out(tmp_path, plan_cache)
    text = farm_toml(
        ["host", "riscv32-virt"],
        [{"name": "dwsep", "samples": 400}],
        [{"name": "c", "policy_search": "off"}],
        health=False,
        name="kill",
        thresholds={"max_drop_pp": 5.0},
    )
    proc, db = _start(text, tmp_path, out)
    run_dir = wait_for(lambda: (run_dirs(out) or [None])[0], "the run folder", proc=proc)
    job_dir = run_dir / "jobs" / "riscv32-virt.dwsep.c"
    wait_for(lambda: _samples_done(job_dir) >= 3, "samples on riscv32-virt", proc=proc)
    qemu = _qemu_of(run_dir)
    assert qemu is not None
    qemu.kill()
    stdout, stderr = _finish(proc)
    assert proc.returncode == 1, stdout + stderr
    jobs = verdicts(run_dir)
    killed = jobs["riscv32-virt.dwsep.c"]
    assert killed["verdict"] == "FAILED" and killed["stage"] == "hil", killed
    assert "BoardCrashed" in killed["reason"] and f"pid {qemu.pid}" in killed["reason"], killed["reason"]
    assert killed["bit_exact"] >= 3 and killed["failures"] > 0  # finished samples are kept
    assert jobs["host.dwsep.c"]["verdict"] == "PASSED"
    assert "<error" in (run_dir / "junit.xml").read_text()
    with History(db) as history:
        assert {j.job_id: j.verdict for j in history.jobs(run_dir.name)} == {
            "host.dwsep.c": "PASSED",
            "riscv32-virt.dwsep.c": "FAILED",
        }
    assert leftover_processes(str(tmp_path)) == []


def _worker_of(job_dir) -> psutil.Process | None:
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmd = proc.info["cmdline"] or []
            if "fixpoint.farm.worker" in cmd and str(job_dir / "job.json") in cmd:
                return proc
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return None


def test_crashed_worker_fails_its_job_and_takes_its_board_along(tmp_path, plan_cache):
    """A job process that dies (here: SIGKILL) is FAILED with the stage it was in; its QEMU dies with it."""
    out = fresh_out(tmp_path, plan_cache)
    text = farm_toml(
        ["riscv32-virt"],
        [{"name": "dwsep", "samples": 400}, {"name": "mlp", "samples": 2}],
        [{"name": "c", "policy_search": "off"}],
        health=False,
        workers=1,
        name="crash",
        thresholds={"max_drop_pp": 5.0},
    )
    proc, db = _start(text, tmp_path, out)
    run_dir = wait_for(lambda: (run_dirs(out) or [None])[0], "the run folder", proc=proc)
    job_dir = run_dir / "jobs" / "riscv32-virt.dwsep.c"
    wait_for(lambda: _samples_done(job_dir) >= 2, "samples on riscv32-virt", proc=proc)
    worker, qemu = _worker_of(job_dir), _qemu_of(run_dir)
    assert worker is not None and qemu is not None
    worker.kill()
    stdout, stderr = _finish(proc)
    assert proc.returncode == 1, stdout + stderr
    jobs = verdicts(run_dir)
    crashed = jobs["riscv32-virt.dwsep.c"]
    assert crashed["verdict"] == "FAILED" and crashed["stage"] == "hil", crashed
    assert crashed["reason"].startswith("worker exited with code -9"), crashed["reason"]
    assert "samples had finished" in crashed["reason"]
    assert jobs["riscv32-virt.mlp.c"]["verdict"] == "PASSED"  # the farm went on
    assert not psutil.pid_exists(qemu.pid) or qemu.status() == psutil.STATUS_ZOMBIE
    assert leftover_processes(str(tmp_path)) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_stopped_farm_resumes_only_unfinished_jobs(tmp_path, plan_cache, sig):
    out = fresh_out(tmp_path, plan_cache)
    text = farm_toml(
        ["riscv32-virt"],
        [{"name": "mlp", "samples": 2}, {"name": "dwsep", "samples": 400}],
        [{"name": "c", "policy_search": "off"}],
        health=False,
        workers=1,
        name="resume",
        thresholds={"max_drop_pp": 5.0},
    )
    proc, db = _start(text, tmp_path, out)
    run_dir = wait_for(lambda: (run_dirs(out) or [None])[0], "the run folder", proc=proc)
    second = run_dir / "jobs" / "riscv32-virt.dwsep.c"
    wait_for(lambda: _samples_done(second) >= 2, "the second job's samples", proc=proc)
    first_log = run_dir / "jobs" / "riscv32-virt.mlp.c" / "job.log"
    stamp = first_log.stat().st_mtime_ns
    os.kill(proc.pid, sig)
    stdout, stderr = _finish(proc)
    assert proc.returncode == (130 if sig == signal.SIGTERM else -signal.SIGKILL), stdout + stderr
    wait_for(lambda: not leftover_processes(str(tmp_path)), "the stopped farm's processes to end", timeout=30)
    state = json.loads((run_dir / "state.json").read_text())
    finished = {r["job_id"]: r["verdict"] for r in state["results"] if r["verdict"] != "PENDING"}
    assert finished == {"riscv32-virt.mlp.c": "PASSED"}
    if sig == signal.SIGTERM:
        assert f"--resume {run_dir.name}" in stdout and summary(run_dir)["run"]["status"] == "interrupted"

    # after a SIGKILL the run is found without its id: the newest unfinished run of this farm
    resume = ["--resume", run_dir.name] if sig == signal.SIGTERM else ["--resume"]
    resumed, db = _start(text, tmp_path, out, *resume)
    stdout, stderr = _finish(resumed)
    assert resumed.returncode == 0, stdout + stderr
    assert "2 jobs (1 to run)" in stderr
    assert first_log.stat().st_mtime_ns == stamp, "a finished job must not run again"
    assert {j: v["verdict"] for j, v in verdicts(run_dir).items()} == {
        "riscv32-virt.mlp.c": "PASSED",
        "riscv32-virt.dwsep.c": "PASSED",
    }
    with History(db) as history:
        assert history.run(run_dir.name).status == "finished"
        assert len(history.jobs(run_dir.name)) == 2
    assert leftover_processes(str(tmp_path)) == []


def test_board_failing_health_check_is_quarantined(tmp_path, plan_cache):
    broken = tmp_path / "broken" / "riscv32-virt"  # the folder name must be the board's name
    shutil.copytree(ROOT / "boards" / "riscv32-virt", broken)
    board_file = broken / "board.toml"
    board_file.write_text(board_file.read_text().replace('machine = "virt"', 'machine = "no-such-machine"'))
    out = fresh_out(tmp_path, plan_cache)
    text = farm_toml(
        ["host", str(board_file)],
        ["mlp"],
        [{"name": "a", "policy_search": "off"}, {"name": "b", "policy": "max"}],
        samples=2,
        name="health",
    )
    proc, db = _start(text, tmp_path, out)
    stdout, stderr = _finish(proc)
    assert proc.returncode == 1, stdout + stderr
    (run_dir,) = run_dirs(out)
    jobs = verdicts(run_dir)
    for job in ("riscv32-virt.mlp.a", "riscv32-virt.mlp.b"):
        assert jobs[job]["verdict"] == "NOT RUN", jobs[job]
        assert "board quarantined: health check failed in stage launch" in jobs[job]["reason"]
    assert jobs["host.mlp.a"]["verdict"] == jobs["host.mlp.b"]["verdict"] == "PASSED"
    assert stderr.count("health check of riscv32-virt") == 1, "checked once, never retried"
    assert summary(run_dir)["quarantined"].keys() == {"riscv32-virt"}
    assert leftover_processes(str(tmp_path)) == []


def test_stage_timeout_fails_the_job(tmp_path, plan_cache):
    out = fresh_out(tmp_path, plan_cache)
    text = farm_toml(
        ["riscv32-virt"],
        [{"name": "dwsep", "samples": 1000}],
        [{"name": "c", "policy_search": "off"}],
        health=False,
        timeouts={"hil": 2},
        name="timeout",
    )
    proc, db = _start(text, tmp_path, out)
    stdout, stderr = _finish(proc)
    assert proc.returncode == 1, stdout + stderr
    (run_dir,) = run_dirs(out)
    job = verdicts(run_dir)["riscv32-virt.dwsep.c"]
    assert job["verdict"] == "FAILED" and job["stage"] == "hil"
    assert job["reason"].startswith("timed out after 2 s in stage hil"), job["reason"]
    assert leftover_processes(str(tmp_path)) == []
