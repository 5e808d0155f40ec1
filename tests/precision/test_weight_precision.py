"""Weight precision: per-channel clipping (MSE, k-sigma), AdaRound proper, int4 defaults that refine themselves."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.ir import ModelError
from fixpoint.lower import LowerOptions
from fixpoint.lower.adaround import AdaRoundConfig, adaptive_round, learned_round
from fixpoint.lower.weights import clipped_scales, quantize_weights, weight_scales


def _heavy_tailed(rng, c_out=6, depth=40):
    w = rng.standard_t(3, size=(c_out, depth))
    w[0, 0] = 12.0  # one outlier sets channel 0's step
    return w


def _error(w, scale, qmax):
    q = quantize_weights(w, 0, 4, True, "symmetric", scale=scale)
    return np.sum((q.dequantize() - w) ** 2, axis=1)


def test_mse_clip_never_loses_to_max_and_beats_it_on_outliers():
    w = _heavy_tailed(np.random.default_rng(3))
    full = weight_scales(w, 0, 4)
    mse = clipped_scales(w, 0, 4, True, "symmetric", "mse")
    assert np.all(_error(w, mse, 7) <= _error(w, full, 7) + 1e-12)
    assert _error(w, mse, 7).sum() < _error(w, full, 7).sum()
    assert mse[0] < full[0]
    sigma = clipped_scales(w, 0, 4, True, "symmetric", "sigma:2.5")
    rms = np.sqrt(np.mean(w**2, axis=1))
    np.testing.assert_allclose(sigma, np.minimum(2.5 * rms, np.max(np.abs(w), axis=1)) / 7)
    pow2 = clipped_scales(w, 0, 4, True, "pow2", "mse")
    assert np.all(np.log2(pow2) == np.round(np.log2(pow2)))


@pytest.mark.parametrize("spec", ["sigma", "sigma:0", "sigma:x", "kl", "mse:2"])
def test_bad_clip_spec_is_a_model_error(spec):
    with pytest.raises(ModelError, match="weight clip"):
        LowerOptions(weight_clip=spec)


def test_adaround_never_loses_and_stays_on_rounding_neighbours():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 24)) @ rng.normal(size=(24, 24))  # correlated inputs
    gram = (x.T @ x)[None]
    w = rng.normal(size=(5, 24)) * 0.3
    scale = np.max(np.abs(w), axis=1) / 7
    greedy = adaptive_round(w, scale, 7, gram, np.zeros(5, np.int64), len(x))
    learned = learned_round(w, scale, 7, gram, np.zeros(5, np.int64), len(x), AdaRoundConfig(iterations=60))
    assert learned.mse_after <= greedy.mse_after + 1e-12
    assert learned.mse_after < learned.mse_before
    ratio = w / scale[:, None]
    assert np.all((learned.values >= np.floor(ratio) - 1e-9) & (learned.values <= np.ceil(ratio) + 1e-9))
    assert np.all(np.abs(learned.values) <= 7)


def test_int4_refinements_are_automatic_with_samples_only():
    assert LowerOptions(weight_bits=4).refinements_for(4) == (False, False)  # no samples: nothing to learn on
    with_samples = LowerOptions(weight_bits=4, samples=np.zeros((4, 3)))
    assert with_samples.refinements_for(4) == (True, True) and with_samples.refinements_for(8) == (False, False)
    assert with_samples.wants_layer_inputs() and not LowerOptions(samples=np.zeros((4, 3))).wants_layer_inputs()
    assert LowerOptions(weight_bits=4, samples=np.zeros((4, 3)), adaptive_rounding=False).refinements_for(4) == (
        False,
        True,
    )
    assert LowerOptions().clip_for(4) == "mse" and LowerOptions().clip_for(8) == "none"
    assert LowerOptions(weight_clip="sigma:3").clip_for(8) == "sigma:3"


def test_int4_lowering_refines_by_itself_and_picks_the_clip_per_layer():
    from pathlib import Path

    from fixpoint.calibrate import CalibrationConfig, calibrate, load_inputs
    from fixpoint.iospec import graph_input_specs
    from fixpoint.lower import lower_with_report
    from fixpoint.pipeline import load_graph
    from fixpoint.plan import RequantProfile

    mlp = Path(__file__).resolve().parents[2] / "examples" / "models" / "mlp"
    graph = load_graph(mlp / "model.onnx")
    data = load_inputs(mlp / "calib.npz", graph_input_specs(graph), max_samples=32)
    quant = calibrate(mlp / "model.onnx", graph, data, CalibrationConfig(progress=False)).quant
    _, report = lower_with_report(
        graph,
        quant,
        RequantProfile(),
        LowerOptions(weight_bits=4, samples=data, plan_memory=False, adaround_iterations=40),
    )
    layers = [r.refinements for r in report.layers.values() if r.refinements]
    assert layers and all({"adaptive_rounding", "bias_correction", "weight_clip"} <= set(r) for r in layers)
    for r in layers:
        assert r["adaptive_rounding"]["output_mse_adaptive"] <= r["adaptive_rounding"]["output_mse_nearest"]
    assert all(r["weight_clip"].startswith("channels ") for r in layers)  # chosen per output channel
    summary = LowerOptions(weight_bits=4, samples=data).summary()
    assert summary["adaptive_rounding"] == "auto" and summary["sequential_refinement"] == "auto"
    # sequential inputs where weights are low-bit (compounding error), float inputs for all-8-bit plans
    assert LowerOptions(weight_bits=4).uses_sequential() and not LowerOptions().uses_sequential()
    assert LowerOptions(weight_bits_overrides={"fc*": 2}).uses_sequential()
    assert not LowerOptions(weight_bits=4, sequential=False).uses_sequential()


def test_a_range_search_can_score_with_the_refined_weights():
    from pathlib import Path

    from fixpoint.calibrate import CalibrationConfig, calibrate, load_inputs
    from fixpoint.iospec import graph_input_specs
    from fixpoint.lower import lower_with_report
    from fixpoint.lower.refine import refined_weights
    from fixpoint.pipeline import load_graph
    from fixpoint.plan import RequantProfile

    mlp = Path(__file__).resolve().parents[2] / "examples" / "models" / "mlp"
    graph = load_graph(mlp / "model.onnx")
    data = load_inputs(mlp / "calib.npz", graph_input_specs(graph), max_samples=16)
    quant = calibrate(mlp / "model.onnx", graph, data, CalibrationConfig(progress=False)).quant
    options = LowerOptions(weight_bits=4, samples=data, plan_memory=False, adaround_iterations=20)
    refined, _ = lower_with_report(graph, quant, RequantProfile(), options)
    fixed = refined_weights(graph, quant, RequantProfile(), options)
    assert fixed and refined_weights(graph, quant, RequantProfile(), LowerOptions(weight_bits=4)) == {}
    # no samples: nothing is refined again, the fixed integers and biases are the plan's
    plan, report = lower_with_report(
        graph, quant, RequantProfile(), LowerOptions(weight_bits=4, fixed_weights=fixed, plan_memory=False)
    )
    weighted = [(a, b) for a, b in zip(refined.layers, plan.layers) if "weights" in a.arrays]
    assert len(weighted) == len(fixed)
    for a, b in weighted:
        np.testing.assert_array_equal(a.arrays["weights"], b.arrays["weights"])
        np.testing.assert_array_equal(a.arrays["bias"], b.arrays["bias"])
    assert not any(r.refinements for r in report.layers.values())
