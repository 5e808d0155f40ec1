"""The farm calibrates as `fixpoint calibrate` does: its default config runs the CLI's default per-tensor policy
search (the same job, so the CLI reuses the farm's plan as its own), ``policy_search = "off"`` gives the l2 plan
of ``--no-search``, and a history row calibrated another way is never a baseline."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fixpoint.farm import PASSED, History, JobResult, RunInfo, Thresholds, compare_runs, detect
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import CalibrationJob
from fixpoint.plan import load_plan
from fixpoint.range_search import SearchOptions

from farm_harness import ROOT, farm_argv, farm_toml, run_dir_of, verdicts

MLP = ROOT / "examples" / "models" / "mlp"


def _calibrate_into(plan_dir: Path, into: Path, fixpoint_cli, *extra: str) -> tuple[str, str]:
    """`fixpoint calibrate` of the mlp on the host board into a copy of ``plan_dir``: (plan hash, stderr)."""
    shutil.copytree(plan_dir, into)
    proc = fixpoint_cli(
        "calibrate", MLP / "model.onnx", "--data", MLP / "calib.npz", "--board", "host", "-o", into, *extra
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("plan:"))
    return line.rsplit("hash ", 1)[1].rstrip(")"), proc.stderr


def test_default_config_calibrates_as_fixpoint_calibrate(tmp_path, fixpoint_cli):
    farm, out = tmp_path / "farm.toml", tmp_path / "out"
    configs = [{"name": "default"}, {"name": "l2", "policy_search": "off"}]
    farm.write_text(farm_toml(["host"], ["mlp"], configs, samples=2, health=False, name="calib"))
    proc = subprocess.run(
        farm_argv(farm, out, str(tmp_path / "h.sqlite")), capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_dir = run_dir_of(out, proc.stdout)
    jobs = verdicts(run_dir)
    report = (run_dir / "report.html").read_text()
    assert "policy search on (auto)" in report and "policy search off (off)" in report
    assert [jobs[j]["verdict"] for j in ("host.mlp.default", "host.mlp.l2")] == [PASSED, PASSED]
    assert json.loads(jobs["host.mlp.default"]["config_json"])["policy_search"] == "auto"

    plans = out / "plans" / "mlp"
    assert "policy_search" in load_plan(plans / "default" / "host" / "plan.fxplan").meta  # the worker searched
    assert "policy_search" not in load_plan(plans / "l2" / "host" / "plan.fxplan").meta
    # the CLI without options reuses the farm's plan: its cache key (model, data, every option, the code) is the
    # farm job's, so it is the plan a user gets
    digest, err = _calibrate_into(plans / "default" / "host", tmp_path / "cli", fixpoint_cli)
    assert "reusing the cached plan" in err, err
    assert jobs["host.mlp.default"]["model_hash"].startswith(digest)
    digest, err = _calibrate_into(plans / "l2" / "host", tmp_path / "cli-l2", fixpoint_cli, "--no-search")
    assert "reusing the cached plan" in err, err
    assert jobs["host.mlp.l2"]["model_hash"].startswith(digest)


def _job(weight_bits: int = 8, overrides: dict[str, int] | None = None, **fields) -> CalibrationJob:
    lowering = LowerOptions(weight_bits=weight_bits, weight_bits_overrides=overrides or {})
    return CalibrationJob(MLP / "model.onnx", MLP / "calib.npz", lowering=lowering, **fields)


@pytest.mark.parametrize(
    "job, policy, requested, searched",
    [
        (_job(), None, None, True),
        (_job(), "l2", None, False),  # a chosen policy, even the default one
        (_job(), None, False, False),
        (_job(4), None, None, False),  # low-bit weights: off unless requested
        (_job(4), None, True, True),
        (_job(overrides={"fc*": 2}), None, None, False),
        (_job(search=SearchOptions()), None, True, False),  # the range search chooses the ranges
        (CalibrationJob(MLP / "model.onnx", None), None, None, False),  # data-free
    ],
)
def test_the_rule_on_a_job(job, policy, requested, searched):
    assert (job.with_default_policy_search(policy, requested).policy_search is not None) is searched


def _row(run: str, instructions: float, config: dict | None) -> JobResult:
    return JobResult(
        run_id=run,
        job_id="riscv32-virt.mlp.c",
        board="riscv32-virt",
        model="mlp",
        config="c",
        verdict=PASSED,
        config_json="" if config is None else json.dumps({"name": "c", **config}),
        instructions=instructions,
        counter_unit="instructions",
    )


def test_a_row_calibrated_otherwise_is_no_baseline(tmp_path):
    """A row from before the setting (it ran l2) is a baseline for "off" only; "auto" starts its own line."""
    with History(str(tmp_path / "h.sqlite")) as db:
        rows = [
            _row("r0", 9000.0, {}),
            _row("r1", 10000.0, {"policy_search": "off"}),
            _row("r2", 20000.0, {"policy_search": "auto"}),
            _row("r3", 30000.0, {"policy_search": "auto"}),
        ]
        for i, row in enumerate(rows):
            db.save_run(RunInfo(run_id=row.run_id, farm="t", started=f"2026-01-0{i + 1}T00:00:00"))
            db.save_job(row)
        limits = Thresholds(instructions_pct=1.0)
        assert [r.baseline_run for r in detect(db, [rows[1]], limits)] == ["r0"]  # legacy row = off
        assert detect(db, [rows[2]], limits) == []  # no auto row before it: r1's plans were l2
        assert [r.baseline_run for r in detect(db, [rows[3]], limits)] == ["r2"]
        assert detect(db, [rows[3]], limits, baseline_run="r1") == []
        found, notes = compare_runs(db, "r1", "r2", limits)
        assert found == [] and notes == [
            "not compared: riscv32-virt.mlp.c: policy search off in run r1 (policy_search off), "
            "on in run r2 (policy_search auto)"
        ]


@pytest.mark.parametrize("config", [{"policy": "max"}, {"weight_bits": 4}])
def test_auto_that_does_not_search_compares_with_the_l2_rows(config):
    """auto with a policy or 4-bit weights does not search (as `fixpoint calibrate`): the rows before it compare."""
    config = {**config, "bias_correction": True}
    legacy, auto = _row("r0", 1.0, config), _row("r1", 1.0, {**config, "policy_search": "auto"})
    assert legacy.searched is False and auto.searched is False and auto.calibrated_unlike(legacy) == ""


def test_bias_correction_auto_under_4_bit_weights_is_another_calibration():
    """Before it was auto the farm's bias_correction was false: a 4-bit row of then is not this one's baseline."""
    legacy = _row("r0", 1.0, {"weight_bits": 4, "bias_correction": False})
    auto = _row("r1", 1.0, {"weight_bits": 4, "bias_correction": None, "policy_search": "auto"})
    assert auto.calibrated_unlike(legacy) == "bias correction off in run r0, on in run r1"
    at_8_bit = _row("r2", 1.0, {"bias_correction": None, "policy_search": "off"})
    assert at_8_bit.calibrated_unlike(_row("r0", 1.0, {"bias_correction": False})) == ""


def test_on_under_4_bit_weights_is_another_calibration():
    legacy = _row("r0", 1.0, {"weight_bits": 4, "bias_correction": True})
    on = _row("r1", 1.0, {"weight_bits": 4, "bias_correction": True, "policy_search": "on"})
    assert on.searched is True and on.calibrated_unlike(legacy).startswith("policy search off in run r0")
