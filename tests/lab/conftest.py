"""Fixtures of the remote-board tests: the mlp example calibrated once for the
host board's profile, and a copy of the host board as a "lab unit" board file."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lab_harness import EXAMPLES  # noqa: E402

from fixpoint.boards import boards_dir, load_board  # noqa: E402
from fixpoint.calibrate import CalibrationConfig  # noqa: E402
from fixpoint.pipeline import CalibrationJob, CalibrationOutputs, run_calibration  # noqa: E402


@pytest.fixture(scope="session")
def mlp_host_plan(tmp_path_factory: pytest.TempPathFactory) -> CalibrationOutputs:
    folder = EXAMPLES / "mlp"
    job = CalibrationJob(model_path=folder / "model.onnx", data_path=folder / "calib.npz",
                         profile=load_board("host").requant_profile(),
                         calibration=CalibrationConfig(progress=False), board_name="host")
    return run_calibration(job, tmp_path_factory.mktemp("mlp-host-plan"))


def lab_board_file(folder: Path, name: str, *, flash_command: list[str] | None = None,
                   labgrid: dict[str, object] | None = None) -> Path:
    """boards/host/board.toml as board NAME in FOLDER/NAME, with a flash command and/or a [labgrid] table."""
    text = (boards_dir() / "host" / "board.toml").read_text()
    text = text.replace('name = "host"', f'name = "{name}"', 1)
    if flash_command:
        argv = ", ".join(f'"{a}"' for a in flash_command)
        text = text.replace('method = "exec"', f'method = "exec"\nflash_command = [{argv}]', 1)
    if labgrid:
        text += "\n[labgrid]\n" + "".join(
            f"{k} = {v!r}\n" if not isinstance(v, str) else f'{k} = "{v}"\n' for k, v in labgrid.items())
    board_dir = folder / name
    board_dir.mkdir(parents=True, exist_ok=True)
    (board_dir / "board.toml").write_text(text)
    load_board(board_dir)          # the file must be valid
    return board_dir / "board.toml"
