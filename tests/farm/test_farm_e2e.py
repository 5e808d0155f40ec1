"""A small farm end to end (host board + a QEMU board), then the same farm with a slowed
kernel and with a perturbed plan: both flagged as regressions naming job, metric and layer."""

from __future__ import annotations

import os
import stat
import subprocess
import xml.etree.ElementTree as ET

from fixpoint.farm import History
from fixpoint.plan import load_plan

from farm_harness import chromium_load, farm_argv, farm_toml, run_cli, run_dir_of, summary, verdicts

BOARDS = ["host", "riscv32-virt"]
JOBS = ["host.mlp.c", "riscv32-virt.mlp.c"]


def _run(tmp_path, out, db, config: dict, *extra: str) -> tuple[subprocess.CompletedProcess, object]:
    farm = tmp_path / "farm.toml"
    # l2 ranges (no policy search): this test is about the farm, test_farm_calibration about its calibration
    config = {"name": "c", "policy_search": "off", **config}
    farm.write_text(farm_toml(BOARDS, ["mlp"], [config], samples=4, name="e2e"))
    proc = subprocess.run(
        farm_argv(farm, out, db, *extra),
        capture_output=True,
        text=True,
        timeout=1800,
        preexec_fn=lambda: os.umask(0o022),
    )
    return proc, run_dir_of(out, proc.stdout)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_farm_then_regressions(tmp_path, plan_cache):
    db = str(tmp_path / "history.sqlite")
    first, run1 = _run(tmp_path, plan_cache, db, {})
    assert first.returncode == 0, first.stdout + first.stderr
    jobs = verdicts(run1)
    assert {j: jobs[j]["verdict"] for j in JOBS} == {j: "PASSED" for j in JOBS}
    assert jobs["riscv32-virt.mlp.c"]["counter_unit"] == "instructions"
    assert "health check of riscv32-virt" in first.stderr and "[2/2] PASSED" in first.stderr
    _check_junit(run1)
    _check_modes(run1, db)

    # the reference kernels instead of the optimized ones: more instructions per inference
    slowed, run2 = _run(tmp_path, plan_cache, db, {"kernels": "ref"})
    assert slowed.returncode == 3, slowed.stdout + slowed.stderr
    assert "REGRESSION riscv32-virt.mlp.c: instructions" in slowed.stdout, slowed.stdout
    assert f"baseline run {run1.name}" in slowed.stdout
    assert "REGRESSION host.mlp.c" not in slowed.stdout  # the host counts nanoseconds: not compared

    # the host simulates layer 1 with a shifted bias: every job mismatches there
    layer = load_plan(plan_cache / "plans" / "mlp" / "c" / "riscv32-virt" / "plan.fxplan").layers[1].name
    perturbed, run3 = _run(tmp_path, plan_cache, db, {"perturb_layer": 1})
    assert perturbed.returncode == 3, perturbed.stdout + perturbed.stderr
    for job in JOBS:
        assert f"REGRESSION {job}: mismatch" in perturbed.stdout
        assert f"first diverging layer '{layer}'" in perturbed.stdout
        assert verdicts(run3)[job]["first_layer"] == layer and verdicts(run3)[job]["verdict"] == "FAILED"
    # the baseline of run 3 is the last good run: run 2 (it passed, if slower)
    assert f"baseline run {run2.name}" in perturbed.stdout

    cmp = run_cli("farm", "compare", run1.name, run3.name, "--db", db)
    assert cmp.returncode == 3 and "REGRESSION riscv32-virt.mlp.c: mismatch" in cmp.stdout, cmp.stdout
    same = run_cli("farm", "compare", run1.name, run1.name, "--db", db)
    assert same.returncode == 0 and "0 regressions" in same.stdout
    hist = run_cli("farm", "history", "--db", db)
    assert hist.returncode == 0 and all(r.name in hist.stdout for r in (run1, run2, run3))
    with History(db) as history:
        assert [j.verdict for j in history.jobs(run3.name)] == ["FAILED", "FAILED"]
        assert history.run(run3.name).qemu["riscv32-virt"].startswith("QEMU")
    _check_report(run3, layer, tmp_path)


def _check_junit(run_dir) -> None:
    suite = ET.parse(run_dir / "junit.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "0" and suite.get("errors") == "0"
    cases = suite.findall("testcase")
    assert [f"{c.get('classname')}.{c.get('name')}" for c in cases] == JOBS
    props = {p.get("name"): p.get("value") for p in cases[1].find("properties")}
    assert props["board"] == "riscv32-virt" and len(props["model_hash"]) == 64 and props["build_id"]
    assert props["samples"] == "4" and props["bit_exact"] == "4"
    assert summary(run_dir)["counts"]["PASSED"] == 2


def _check_modes(run_dir, db) -> None:
    files = [run_dir / n for n in ("report.html", "junit.xml", "summary.json", "state.json")]
    for job in JOBS:
        files += [run_dir / "jobs" / job / n for n in ("job.log", "result.json", "samples.jsonl")]
    files.append(db)
    assert {str(f): oct(_mode(f)) for f in files} == {str(f): "0o644" for f in files}


def _check_report(run_dir, layer: str, tmp_path) -> None:
    page = run_dir / "report.html"
    text = page.read_text()
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in text
    dom, console = chromium_load(page, tmp_path)
    assert console == [], console
    assert "riscv32-virt" in dom and f"first diverging layer: {layer}" in dom
    assert "REGRESSION riscv32-virt.mlp.c: mismatch" in dom
    assert dom.count("<svg") >= 8 and "over 3 runs" in dom  # 2 jobs x 4 trend plots over 3 runs
    assert 'href="jobs/riscv32-virt.mlp.c/job.log"' in dom


def test_console_errors_are_caught(tmp_path):
    """The Chromium check itself: a page that logs an error is reported."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><script>console.error('farm-report-broken')</script></body></html>")
    _, console = chromium_load(page, tmp_path)
    assert any("farm-report-broken" in line for line in console), console
