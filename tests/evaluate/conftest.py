"""Fixtures of the evaluation / simulation tests: the real `fixpoint` command and an mlp plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import MLP, run_fixpoint


@pytest.fixture(scope="module")
def mlp_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mlp example calibrated for the host board with the real CLI; returns the plan file."""
    out = tmp_path_factory.mktemp("mlp_plan")
    proc = run_fixpoint(
        "-q", "calibrate", MLP / "model.onnx", "--data", MLP / "calib.npz", "--board", "host", "-o", out
    )
    assert proc.returncode == 0, proc.stderr
    return out / "plan.fxplan"
