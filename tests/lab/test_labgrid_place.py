"""End to end on 127.0.0.1: `fixpoint hil` through a labgrid place.

The lab: a host-board unit on a pty (flashable: its flash command swaps the
image and restarts it), ser2net serving the pty as RFC2217, a
labgrid-coordinator and a labgrid-exporter exporting that port as a
NetworkSerialPort, and a place matching it. Fixpoint acquires the place,
opens rfc2217://..., flashes, runs every sample bit-exactly and releases the
place; a place another user holds is an `error:` line, and stays theirs.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lab_harness import (
    BIN,
    EXAMPLES,
    flash_command,
    lab_board_file,
    labgrid_client,
    scaled,
    start_coordinator,
    start_exporter,
    start_pty_board,
    start_ser2net,
)

from fixpoint.hil.firmware import build_model_firmware

PLACE = "fixpoint-unit0"
SAMPLES = 12


@dataclass
class Lab:
    address: str
    state: Path  # the pty unit's folder (flash-count)
    board_file: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, mlp_host_plan) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("lab")
    logs = root / "logs"
    logs.mkdir()
    state = root / "unit0"
    started = []
    try:
        coordinator, address = start_coordinator(logs)
        started.append(coordinator)
        board_file = lab_board_file(
            root / "boards",
            "lab-host",
            flash_command=flash_command(state),
            labgrid={"place": PLACE, "coordinator": address, "acquire_timeout": 0},
        )
        # the unit starts with this board's build of the plan; the run flashes it again
        image, _ = build_model_firmware(mlp_host_plan.plan, board_file, root / "initial")
        started.append(start_pty_board(state, image, logs))
        ser2net, serial_port = start_ser2net((state / "tty").read_text(), logs)
        started.append(ser2net)
        started.append(start_exporter(address, serial_port, logs))
        labgrid_client(address, "-p", PLACE, "create")
        labgrid_client(address, "-p", PLACE, "add-match", "fixpoint-lab/unit0/NetworkSerialPort")
        yield Lab(address, state, board_file)
    finally:
        for proc in reversed(started):
            proc.reap()


def _hil(lab: Lab, plan, work: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    argv = [
        str(BIN / "fixpoint"),
        "--quiet",
        "hil",
        "--board",
        str(lab.board_file),
        "--plan",
        str(plan.plan_path),
        "--data",
        str(EXAMPLES / "mlp" / "eval.npz"),
        "-n",
        str(SAMPLES),
        "--work-dir",
        str(work),
        "--json",
        str(work / "result.json"),
        *extra,
    ]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=scaled(600.0), check=False, env={**os.environ, **(env or {})}
    )


def _holder(lab: Lab) -> str:
    shown = labgrid_client(lab.address, "-p", PLACE, "show").stdout
    return next(line.split(":", 1)[1].strip() for line in shown.splitlines() if "acquired:" in line)


def test_hil_through_a_labgrid_place_is_bit_exact(lab: Lab, mlp_host_plan, tmp_path: Path) -> None:
    flashed_before = int((lab.state / "flash-count").read_text()) if (lab.state / "flash-count").exists() else 0
    proc = _hil(lab, mlp_host_plan, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["n_samples"] == SAMPLES and result["bit_exact"] == SAMPLES, result
    assert not result["failures"] and not result["mismatches"]
    assert int((lab.state / "flash-count").read_text()) == flashed_before + 1  # flashed through the place
    assert "flashed" in (tmp_path / "logs" / "flash.log").read_text()
    assert _holder(lab) == "None"  # released


def test_a_place_held_by_someone_else_is_an_error_and_stays_theirs(lab: Lab, mlp_host_plan, tmp_path: Path) -> None:
    other = {"LG_USERNAME": "nightly-other", "LG_HOSTNAME": "otherhost"}
    subprocess.run(
        [str(BIN / "labgrid-client"), "-x", lab.address, "-p", PLACE, "acquire"],
        check=True,
        capture_output=True,
        timeout=scaled(60.0),
        env={**os.environ, **other},
    )
    try:
        proc = _hil(lab, mlp_host_plan, tmp_path)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and PLACE in errors[0] and "otherhost/nightly-other" in errors[0], proc.stderr
        assert "Traceback" not in proc.stderr
        assert _holder(lab) == "otherhost/nightly-other"
    finally:
        subprocess.run(
            [str(BIN / "labgrid-client"), "-x", lab.address, "-p", PLACE, "release"],
            check=True,
            capture_output=True,
            timeout=scaled(60.0),
            env={**os.environ, **other},
        )


def test_an_unreachable_coordinator_is_one_error_line(mlp_host_plan, tmp_path: Path) -> None:
    from lab_harness import free_port

    board_file = lab_board_file(
        tmp_path / "boards", "lab-host", labgrid={"place": PLACE, "coordinator": f"127.0.0.1:{free_port()}"}
    )
    argv = [
        str(BIN / "fixpoint"),
        "--quiet",
        "hil",
        "--board",
        str(board_file),
        "--plan",
        str(mlp_host_plan.plan_path),
        "--data",
        str(EXAMPLES / "mlp" / "eval.npz"),
        "-n",
        "2",
        "--work-dir",
        str(tmp_path / "work"),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=scaled(600.0), check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error:") and "coordinator" in proc.stderr and "Traceback" not in proc.stderr


def test_a_failed_flash_still_releases_the_place(lab: Lab, mlp_host_plan, tmp_path: Path) -> None:
    broken = lab_board_file(
        tmp_path / "boards",
        "lab-host",
        flash_command=["false", "{elf}"],
        labgrid={"place": PLACE, "coordinator": lab.address, "acquire_timeout": 0},
    )
    proc = _hil(Lab(lab.address, lab.state, broken), mlp_host_plan, tmp_path / "work")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "flashing failed" in errors[0], proc.stderr
    assert _holder(lab) == "None"  # released on the error path
