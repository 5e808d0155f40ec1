"""End to end on the example models: load -> normalize -> calibrate -> lower -> simulate.

The integer plan, run bit-exactly on the reference C runtime, must stay close
to the float model on the held-out evaluation set.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from fixpoint.calibrate import CalibrationConfig, calibrate, load_samples, model_input_spec
from fixpoint.evaluate import evaluate
from fixpoint.frontend import load_model
from fixpoint.lower import LowerOptions, lower
from fixpoint.normalize import normalize
from fixpoint.plan import RequantProfile

MODELS = Path(__file__).resolve().parents[2] / "examples" / "models"
# the reference C kernels are plain loops: keep the CNN's simulated evaluation short
EVAL_SAMPLES = {"mlp": 1000, "cnn_bn_res": 300}


def _pipeline(name: str, bits: int = 8, scheme=None, profile=RequantProfile(), options=None):
    folder = MODELS / name
    model = folder / "model.onnx"
    graph = normalize(load_model(model))
    input_name, shape = model_input_spec(model)
    config = CalibrationConfig(bits=bits, scheme=scheme, progress=False)
    quant = calibrate(model, graph, load_samples(folder / "calib.npz", input_name, shape), config).quant
    if options is not None and options.samples is True:
        options.samples = np.load(folder / "calib.npz")["input"]
    plan = lower(graph, quant, profile, options)
    data = np.load(folder / "eval.npz")
    n = EVAL_SAMPLES[name]
    return evaluate(model, graph, plan, data["input"][:n], data["label"][:n]), json.loads(
        (folder / "meta.json").read_text()
    )


@pytest.mark.parametrize("name", ["mlp", "cnn_bn_res"])
def test_int8_top1_is_close_to_float(name):
    result, meta = _pipeline(name)
    if result.n_samples == 1000:  # the whole evaluation set: the float side is onnxruntime's figure
        assert result.float_metric == pytest.approx(meta["float_top1_eval"], abs=1e-9)
    assert result.drop <= 1.0, result.summary()
    assert result.agreement >= 0.98, result.summary()
    assert min(e.sqnr_db for e in result.per_layer) > 25, result.per_layer


@pytest.mark.parametrize("name", ["mlp", "cnn_bn_res"])
def test_int16_activations_are_at_least_as_close(name):
    result, _ = _pipeline(name, bits=16)
    assert result.drop <= 1.0 and result.agreement >= 0.99, result.summary()
    assert result.output_sqnr_db > 35


@pytest.mark.parametrize("name", ["mlp", "cnn_bn_res"])
def test_shift_only_board_with_pow2_calibration(name):
    result, _ = _pipeline(name, scheme="pow2", profile=RequantProfile(rounding="shift_only"))
    assert result.drop <= 1.5 and result.agreement >= 0.98, result.summary()


@pytest.mark.parametrize("name", ["mlp", "cnn_bn_res"])
def test_int4_weights_with_refinements_recover_accuracy(name):
    plain, _ = _pipeline(name, options=LowerOptions(weight_bits=4, weight_clip="none"))  # 4 bit clips by default
    refined, _ = _pipeline(
        name, options=LowerOptions(weight_bits=4, adaptive_rounding=True, bias_correction=True, samples=True)
    )
    assert refined.output_sqnr_db > plain.output_sqnr_db + 3, (plain.summary(), refined.summary())
    assert refined.drop <= 1.5, refined.summary()
