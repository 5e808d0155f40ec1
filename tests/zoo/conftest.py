"""Fixtures of the model-zoo tests: the zoo's data files (made once) and plans calibrated with the
job's default settings (l2 ranges), once per (model, requantization profile). The policy search that
`fixpoint calibrate` adds by default is left out here to keep the suite's time; `make zoo-check`
(docs/zoo.md) runs the CLI's default on every zoo model and board."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from fixpoint.boards import load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import CalibrationJob, run_calibration

from zoo_helpers import ZOO, zoo_data


@pytest.fixture(scope="session")
def zoo_files() -> Path:
    """examples/zoo with every model's calib.npz / eval.npz present and current (`make zoo-data`)."""
    zoo_data.write_files(sorted(zoo_data.DATA))
    return ZOO


@pytest.fixture(scope="session")
def zoo_plan(zoo_files, tmp_path_factory):
    """zoo_plan(model, board) -> CalibrationOutputs with the job's default settings (no policy search)."""
    cache: dict[tuple[str, str], object] = {}
    root = tmp_path_factory.mktemp("zoo_plans")

    def get(model: str, board_name: str):
        board = load_board(board_name)
        profile = board.requant_profile()
        key = (model, repr(asdict(profile)))
        if key not in cache:
            folder = zoo_files / model
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
