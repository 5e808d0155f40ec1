"""A farm board with named units (one per physical board, each reached by its own
device and flashed by its own serial number): jobs spread over the units, a unit
that fails its health check is quarantined alone and its job goes to another
unit; with every unit quarantined the board's jobs are NOT RUN, without waiting.

The units are host-board firmware on ptys that stay put while re-flashed
(pty_board.py), like boards on USB serial adapters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lab_harness import HERE, lab_board_file, scaled, start_pty_board

from fixpoint.hil.firmware import build_model_firmware


def _farm_file(tmp_path: Path, board_file: Path, units: list[dict[str, str]], workers: int = 2) -> Path:
    unit_lines = ", ".join("{ " + ", ".join(f'{k} = "{v}"' for k, v in u.items()) + " }" for u in units)
    text = "\n".join(
        [
            "[farm]",
            'name = "units"',
            "samples = 3",
            f"workers = {workers}",
            "",
            "[health]",
            "enabled = true",
            'model = "mlp"',
            "samples = 2",
            "",
            "[[boards]]",
            f'name = "{board_file}"',
            f"units = [{unit_lines}]",
            "",
            "[[models]]",
            'name = "mlp"',
            "",
            "[[configs]]",
            'name = "a"',
            'policy_search = "off"',  # about the units, not the calibration: l2 ranges, no search
            "",
            "[[configs]]",
            'name = "b"',
            'policy = "max"',
            "",
            "[[configs]]",
            'name = "c"',
            'policy = "percentile"',
            "",
        ]
    )
    path = tmp_path / "farm.toml"
    path.write_text(text)
    return path


def _run_farm(farm: Path, out: Path) -> tuple[subprocess.CompletedProcess, dict]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fixpoint.cli",
            "farm",
            "run",
            str(farm),
            "--out",
            str(out),
            "--db",
            str(out / "history.sqlite"),
        ],
        capture_output=True,
        text=True,
        timeout=scaled(1200.0),
        check=False,
    )
    (summary,) = list(out.glob("*/summary.json"))
    return proc, json.loads(summary.read_text())


def _board(tmp_path: Path) -> Path:
    """A board folder whose flash command re-flashes the unit named by {serial_number}."""
    flash = [sys.executable, str(HERE / "pty_board.py"), "flash", str(tmp_path / "units") + "/{serial_number}", "{elf}"]
    return lab_board_file(tmp_path / "boards", "benchunit", flash_command=flash)


def test_jobs_spread_over_units_and_a_dead_unit_is_quarantined_alone(mlp_host_plan, tmp_path: Path) -> None:
    image, _ = build_model_firmware(mlp_host_plan.plan, "host", tmp_path / "fw")
    board_file = _board(tmp_path)
    live = {name: start_pty_board(tmp_path / "units" / name, image, tmp_path) for name in ("u0", "u1")}
    try:
        ttys = {name: (tmp_path / "units" / name / "tty").read_text() for name in live}
        units = [
            {"device": ttys["u0"], "serial_number": "u0"},
            {"name": "gone", "device": str(tmp_path / "no-such-tty"), "serial_number": "gone"},
            {"device": ttys["u1"], "serial_number": "u1"},
        ]
        proc, summary = _run_farm(_farm_file(tmp_path, board_file, units), tmp_path / "out")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        jobs = {j["job_id"]: j for j in summary["jobs"]}
        assert {j["verdict"] for j in jobs.values()} == {"PASSED"}, jobs
        assert {j["unit"] for j in jobs.values()} <= {"u0", "u1"}
        assert set(summary["quarantined"]) == {"benchunit/gone"}
        assert "unit quarantined: health check failed in stage launch" in summary["quarantined"]["benchunit/gone"]
        assert proc.stderr.count("health check of benchunit/gone") == 1, "checked once, never retried"
        for name, unit in live.items():
            assert unit.death() is None, f"{name}: {unit.log_tail()}"
            # each unit that took part was flashed through its own serial number
            used = any(j["unit"] == name for j in jobs.values())
            flashes = tmp_path / "units" / name / "flash-count"
            assert used == flashes.exists(), (name, used)
        junit = next((tmp_path / "out").glob("*/junit.xml")).read_text()
        assert 'name="unit" value="u' in junit
    finally:
        for unit in live.values():
            unit.reap()


def test_board_with_every_unit_quarantined_reports_its_jobs_not_run(tmp_path: Path) -> None:
    board_file = _board(tmp_path)
    units = [
        {"device": str(tmp_path / "tty-a"), "serial_number": "a"},
        {"device": str(tmp_path / "tty-b"), "serial_number": "b"},
    ]
    proc, summary = _run_farm(_farm_file(tmp_path, board_file, units, workers=2), tmp_path / "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    jobs = summary["jobs"]
    assert [j["verdict"] for j in jobs] == ["NOT RUN"] * 3, jobs
    for job in jobs:
        assert job["reason"].startswith("every unit quarantined: a: unit quarantined"), job["reason"]
        assert "b: unit quarantined" in job["reason"]
    assert set(summary["quarantined"]) == {"benchunit/a", "benchunit/b"}
