"""Fixtures of the rank-2..5 tests: the committed torch-exported models (models/, made by
make_rank_models.py), data files written from their input shapes, plans calibrated with defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from fixpoint.boards import load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import CalibrationJob, CalibrationOutputs, run_calibration

from rank_helpers import MODELS, input_shapes, write_data


@pytest.fixture(scope="session")
def rank_files(tmp_path_factory) -> Callable[[str], dict[str, Path]]:
    """rank_files(name) -> {'model', 'calib', 'eval'}: calibration and evaluation data written once."""
    root = tmp_path_factory.mktemp("ranks")
    made: dict[str, dict[str, Path]] = {}

    def get(name: str) -> dict[str, Path]:
        if name not in made:
            model = MODELS / f"{name}.onnx"
            shapes = input_shapes(model)
            made[name] = {
                "model": model,
                "calib": write_data(root / f"{name}-calib.npz", shapes, 64, seed=3),
                "eval": write_data(root / f"{name}-eval.npz", shapes, 32, seed=4),
            }
        return made[name]

    return get


@pytest.fixture(scope="session")
def rank_plan(rank_files, tmp_path_factory) -> Callable[[str, str], CalibrationOutputs]:
    """rank_plan(model, board) -> CalibrationOutputs with the default settings, once per profile."""
    cache: dict[tuple[str, str], CalibrationOutputs] = {}
    root = tmp_path_factory.mktemp("rank_plans")

    def get(name: str, board_name: str) -> CalibrationOutputs:
        board = load_board(board_name)
        profile = board.requant_profile()
        key = (name, repr(asdict(profile)))
        if key not in cache:
            files = rank_files(name)
            job = CalibrationJob(
                model_path=files["model"],
                data_path=files["calib"],
                profile=profile,
                calibration=CalibrationConfig(progress=False),
                lowering=LowerOptions(engines=list(board.accelerator.engines) or None),
                board_name=board.name,
            )
            cache[key] = run_calibration(job, root / f"{name}-{len(cache)}")
        return cache[key]

    return get
