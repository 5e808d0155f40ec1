"""HIL test fixtures: example models calibrated once per requantization profile."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from fixpoint.boards import load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import CalibrationJob, run_calibration

from hil_examples import EXAMPLES


@pytest.fixture(scope="session")
def plan_for(tmp_path_factory):
    """plan_for(model, board) -> CalibrationOutputs, calibrated once per (model, profile, engines)."""
    cache: dict[tuple[str, str], object] = {}
    root = tmp_path_factory.mktemp("plans")

    def get(model: str, board_name: str):
        board = load_board(board_name)
        profile = board.requant_profile()
        key = (model, repr(asdict(profile)), repr([e.describe() for e in board.target.engines]))
        if key not in cache:
            folder = EXAMPLES / model
            job = CalibrationJob(
                model_path=folder / "model.onnx",
                data_path=folder / "calib.npz",
                profile=profile,
                calibration=CalibrationConfig(progress=False),
                lowering=LowerOptions(engines=list(board.accelerator.engines) or None),
                board_name=board.name,
            )
            cache[key] = run_calibration(job, root / f"{model}-{len(cache)}")
        return cache[key]

    return get
