"""Every example model loads, normalizes, and float_exec matches onnxruntime on calibration samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from builders import ort_all_values
from fixpoint.frontend import load_model
from fixpoint.normalize import normalize
from fixpoint.normalize.float_exec import run_normalized

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"
MODELS = sorted(EXAMPLES.glob("*/model.onnx"))
SAMPLES = 3


def test_example_models_exist():
    assert MODELS, f"no example models under {EXAMPLES}"


@pytest.mark.parametrize("path", MODELS, ids=[p.parent.name for p in MODELS])
def test_example_normalizes_and_matches_onnxruntime(path):
    graph = normalize(load_model(path))
    (input_name,) = graph.inputs
    calib = np.load(path.parent / "calib.npz")["input"].astype(np.float32)
    for sample in calib[:SAMPLES]:
        feeds = {input_name: sample[None]}
        ours = run_normalized(graph, feeds)
        reference = ort_all_values(path, feeds, graph.activation_names())
        for name in graph.activation_names():
            scale = max(1.0, float(np.abs(reference[name]).max()))
            np.testing.assert_allclose(
                ours[name], reference[name], atol=1e-4 * scale, rtol=1e-4, err_msg=f"{path.parent.name}: value '{name}'"
            )
