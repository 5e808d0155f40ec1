"""Make the in-tree SDK importable without installing it; shared fixtures."""

import sys
from pathlib import Path

import numpy as np
import pytest

SDK = Path(__file__).resolve().parents[2] / "sdk"
if str(SDK) not in sys.path:
    sys.path.insert(0, str(SDK))
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from calib_models import build_conv_relu_gemm  # noqa: E402


@pytest.fixture
def small_model(tmp_path: Path) -> Path:
    """conv(1->4, 3x3) -> relu -> flatten -> gemm(->5) on [N, 1, 6, 6], saved to disk."""
    path = tmp_path / "model.onnx"
    build_conv_relu_gemm(path)
    return path


@pytest.fixture
def small_samples() -> np.ndarray:
    return np.random.default_rng(1).normal(0.5, 0.3, size=(40, 1, 6, 6)).astype(np.float32)
