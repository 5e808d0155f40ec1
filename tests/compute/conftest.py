"""Fixtures of the compute-op tests (reduce, softmax axes, rank-3 models): real ONNX models, data files, plans."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fixpoint_cli import run_fixpoint

from compute_models import MODELS, write_data

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk"


@pytest.fixture(scope="session")
def model_files(tmp_path_factory) -> Callable[[str], dict[str, Path]]:
    """model_files(name) -> {'model', 'calib', 'eval'} paths, written once."""
    root = tmp_path_factory.mktemp("compute")
    made: dict[str, dict[str, Path]] = {}

    def get(name: str) -> dict[str, Path]:
        if name not in made:
            build, shapes = MODELS[name]
            folder = root / name
            folder.mkdir()
            made[name] = {
                "model": build(folder / "model.onnx"),
                "calib": write_data(folder / "calib.npz", shapes, 96, seed=11),
                "eval": write_data(folder / "eval.npz", shapes, 48, seed=12),
            }
        return made[name]

    return get


@pytest.fixture(scope="session")
def plan_for(model_files, tmp_path_factory) -> Callable[..., Path]:
    """plan_for(model, board, *calibrate_options) -> plan file calibrated with the real CLI, once each."""
    root = tmp_path_factory.mktemp("compute_plans")
    made: dict[tuple[str, ...], Path] = {}

    def get(name: str, board: str, *options: str) -> Path:
        key = (name, board, *options)
        if key not in made:
            files = model_files(name)
            out = root / f"{name}-{board}-{len(made)}"
            proc = run_fixpoint(
                "-q", "calibrate", files["model"], "--data", files["calib"], "--board", board, *options, "-o", out
            )
            assert proc.returncode == 0, proc.stderr
            made[key] = out / "plan.fxplan"
        return made[key]

    return get
