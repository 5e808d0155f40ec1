"""Fixtures of the model-zoo tests: the zoo's data files (made once) and plans calibrated with the
default settings, once per (model, requantization profile)."""
from __future__ import annotations

import os
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from fixpoint.boards import load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import CalibrationJob, run_calibration

ZOO = Path(__file__).resolve().parents[2] / "examples" / "zoo"
sys.path.insert(0, str(ZOO))
import zoo_data  # noqa: E402


@pytest.fixture(scope="session")
def zoo_files() -> Path:
    """examples/zoo with every model's calib.npz / eval.npz present and current (`make zoo-data`)."""
    zoo_data.write_files(sorted(zoo_data.DATA))
    return ZOO


@pytest.fixture(scope="session")
def zoo_plan(zoo_files, tmp_path_factory):
    """zoo_plan(model, board) -> CalibrationOutputs with the default calibration settings."""
    cache: dict[tuple[str, str], object] = {}
    root = tmp_path_factory.mktemp("zoo_plans")

    def get(model: str, board_name: str):
        board = load_board(board_name)
        profile = board.requant_profile()
        key = (model, repr(asdict(profile)))
        if key not in cache:
            folder = zoo_files / model
            job = CalibrationJob(model_path=folder / "model.onnx", data_path=folder / "calib.npz",
                                 profile=profile, calibration=CalibrationConfig(progress=False),
                                 lowering=LowerOptions(engines=list(board.accelerator.engines) or None),
                                 board_name=board.name)
            cache[key] = run_calibration(job, root / f"{model}-{len(cache)}")
        return cache[key]

    return get


def zoo_samples(default: int) -> int | None:
    """FIXPOINT_ZOO_SAMPLES: samples per check ("all": the whole eval set, as `make test-all`)."""
    wanted = os.environ.get("FIXPOINT_ZOO_SAMPLES", "")
    if wanted == "all":
        return None
    return int(wanted) if wanted else default
