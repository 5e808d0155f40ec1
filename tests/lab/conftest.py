"""Fixtures of the remote-board tests: the mlp example calibrated once for the
host board's profile."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lab_harness import EXAMPLES  # noqa: E402

from fixpoint.boards import load_board  # noqa: E402
from fixpoint.calibrate import CalibrationConfig  # noqa: E402
from fixpoint.pipeline import CalibrationJob, CalibrationOutputs, run_calibration  # noqa: E402


@pytest.fixture(scope="session")
def mlp_host_plan(tmp_path_factory: pytest.TempPathFactory) -> CalibrationOutputs:
    folder = EXAMPLES / "mlp"
    job = CalibrationJob(
        model_path=folder / "model.onnx",
        data_path=folder / "calib.npz",
        profile=load_board("host").requant_profile(),
        calibration=CalibrationConfig(progress=False),
        board_name="host",
    )
    return run_calibration(job, tmp_path_factory.mktemp("mlp-host-plan"))
