"""Interop test fixtures: QDQ models made here by onnxruntime's quantize_static (and PyTorch QAT)."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from qdq_models import qdq_plan  # noqa: E402


@pytest.fixture(scope="session")
def qdq_plan_for(tmp_path_factory):
    """qdq_plan_for(model, per_channel, method, board="host") -> (qdq path, CalibrationOutputs), made once."""
    cache: dict[tuple, object] = {}
    root = tmp_path_factory.mktemp("qdq")

    def get(model: str, per_channel: bool, method: str, board: str = "host"):
        key = (model, per_channel, method, board)
        if key not in cache:
            cache[key] = qdq_plan(root / f"{model}-{len(cache)}", model, per_channel, method, board)
        return cache[key]

    return get
