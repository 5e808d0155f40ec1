"""fixpoint.evaluate: float vs integer metrics and per-layer errors."""

import math

import numpy as np
import pytest

from fixpoint.calibrate import CalibrationConfig, calibrate, load_samples
from fixpoint.evaluate import evaluate
from fixpoint.frontend import load_model
from fixpoint.ir import ModelError
from fixpoint.lower import lower
from fixpoint.lower.onnx_acts import float_session, iterate_float
from fixpoint.normalize import normalize
from fixpoint.plan import RequantProfile
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

from eval_models import conv_classifier


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    rng = np.random.default_rng(21)
    path = tmp_path_factory.mktemp("tiny") / "model.onnx"
    conv_classifier(path, rng)
    graph = normalize(load_model(path))
    x = rng.uniform(0, 1, size=(40, 2, 8, 8)).astype(np.float32)
    npz = path.parent / "calib.npz"
    np.savez(npz, input=x[:20])
    quant = calibrate(
        path, graph, load_samples(npz, "input", [2, 8, 8]), CalibrationConfig(policy="max", progress=False)
    ).quant
    plan = lower(graph, quant, RequantProfile())
    labels = rng.integers(0, 4, size=40)
    return path, graph, plan, x, labels


def test_metrics_agree_with_a_direct_computation(tiny):
    path, graph, plan, x, labels = tiny
    result = evaluate(path, graph, plan, x, labels, batch_size=16)
    session, _ = float_session(path)
    floats = np.concatenate([out["logits"] for _, out in iterate_float(session, [x], 64)])
    ints = run_plan(plan, [quantize_input(plan, x)]).outputs[0]
    deq = dequantize(plan, plan.outputs[0], ints)
    assert result.n_samples == 40
    assert result.float_metric == pytest.approx(np.mean(floats.argmax(1) == labels))
    assert result.int_metric == pytest.approx(np.mean(deq.argmax(1) == labels))
    assert result.drop == pytest.approx(100 * (result.float_metric - result.int_metric))
    assert result.agreement == pytest.approx(np.mean(floats.argmax(1) == deq.argmax(1)))
    noise = np.sum((floats.astype(np.float64) - deq) ** 2)
    assert result.output_sqnr_db == pytest.approx(10 * math.log10(np.sum(floats.astype(np.float64) ** 2) / noise))


def test_per_layer_errors_follow_the_plan_layers(tiny):
    path, graph, plan, x, labels = tiny
    result = evaluate(path, graph, plan, x, labels)
    assert [e.name for e in result.per_layer] == [layer.name for layer in plan.layers]
    assert [e.tensor for e in result.per_layer] == [plan.tensors[layer.output].name for layer in plan.layers]
    conv = result.per_layer[0]
    session, _ = float_session(path, ["relu"])
    ref = np.concatenate([out["relu"] for _, out in iterate_float(session, [x], 64)]).astype(np.float64)
    sim = run_plan(plan, [quantize_input(plan, x)], capture=True).intermediates["relu"]
    got = dequantize(plan, plan.layers[0].output, sim).astype(np.float64)
    assert conv.max_abs_err == pytest.approx(np.abs(ref - got).max(), rel=1e-6)
    assert conv.mean_abs_err == pytest.approx(np.abs(ref - got).mean(), rel=1e-6)
    assert conv.sqnr_db > 30
    assert all(e.sqnr_db > 25 for e in result.per_layer)


def test_without_labels_only_agreement_is_reported(tiny):
    path, graph, plan, x, _ = tiny
    result = evaluate(path, graph, plan, x, None, per_layer=False)
    assert result.float_metric is None and result.int_metric is None and result.drop is None
    assert result.per_layer == [] and 0.9 <= result.agreement <= 1.0


def test_bad_arguments_are_model_errors(tiny):
    path, graph, plan, x, labels = tiny
    with pytest.raises(ModelError, match="metric must be one of"):
        evaluate(path, graph, plan, x, labels, metric="map")
    with pytest.raises(ModelError, match="3 labels for 40 samples"):
        evaluate(path, graph, plan, x, labels[:3])
