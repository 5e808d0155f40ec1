"""The default per-tensor policy search: never worse than the best single policy on its scoring data,
task-aware loss, bounded, recorded in the plan, the stats file and the report; the CLI default."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fixpoint_cli import run_fixpoint

from fixpoint.calibrate import CalibrationConfig, CalibrationResult, calibrate, load_inputs
from fixpoint.iospec import graph_input_specs
from fixpoint.ir import ModelError
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import load_graph
from fixpoint.plan import RequantProfile, load_plan
from fixpoint.policy_scoring import aggregate, output_losses
from fixpoint.policy_search import (
    PolicySearchOptions,
    _adaround_seconds,
    _block_levels,
    _Score,
    output_loss,
    search_policies,
)
from fixpoint.sim.scoring import relative_mse, relative_squared_errors

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "examples" / "models" / "mlp"


@pytest.fixture(scope="module")
def mlp():
    graph = load_graph(MLP / "model.onnx")
    data = load_inputs(MLP / "calib.npz", graph_input_specs(graph), max_samples=64)
    calib = calibrate(MLP / "model.onnx", graph, data, CalibrationConfig(progress=False))
    return graph, data, calib


def test_search_ends_at_or_below_every_single_policy(mlp):
    graph, data, calib = mlp
    options = PolicySearchOptions(num_samples=48, max_evaluations=40, progress=False)
    quant, report = search_policies(
        graph, calib, CalibrationConfig(progress=False), RequantProfile(), LowerOptions(), data, options
    )
    assert set(report.single) == set(options.candidates)
    assert report.final_loss <= min(report.single.values()) + 0.0
    assert report.final_loss <= report.default_loss
    assert report.evaluations <= 40
    assert set(report.chosen) == set(calib.quant) and set(quant) == set(calib.quant)
    assert all(np.isfinite(v) for v in report.gain.values())


def test_softmax_divergence_is_the_classifier_loss():
    ref = np.array([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]])
    assert output_loss("kl", ref, ref) == pytest.approx(0.0, abs=1e-12)
    assert output_loss("kl", ref, ref + 5.0) == pytest.approx(0.0, abs=1e-9)  # softmax ignores a shift
    assert output_loss("mse", ref, ref + 5.0) > 1.0  # 1/SQNR does not
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    swapped = probs[:, ::-1]
    assert output_loss("kl", probs, swapped) == pytest.approx(
        float(np.mean(np.sum(probs * np.log(probs / swapped), axis=1))), rel=1e-6
    )


def test_bad_search_options_are_one_line_errors(mlp):
    graph, data, calib = mlp
    for bad in (
        PolicySearchOptions(loss="ce"),
        PolicySearchOptions(time_box=0),
        PolicySearchOptions(candidates=()),
        PolicySearchOptions(candidates=("median",)),
        PolicySearchOptions(aggregate="max"),
    ):
        with pytest.raises(ModelError) as info:
            search_policies(
                graph, calib, CalibrationConfig(progress=False), RequantProfile(), LowerOptions(), data, bad
            )
        assert "\n" not in str(info.value)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return run_fixpoint("-q", *args)


def _calibrate_mlp(out, *extra: str) -> subprocess.CompletedProcess:
    """`fixpoint calibrate` of the mlp example on its first 64 calibration samples."""
    return _cli(
        "calibrate",
        str(MLP / "model.onnx"),
        "--data",
        str(MLP / "calib.npz"),
        "--max-samples",
        "64",
        "-o",
        str(out),
        *extra,
    )


def test_cli_searches_by_default_and_reports_it(tmp_path):
    out = tmp_path / "plan"
    proc = _calibrate_mlp(str(out), "--search-samples", "48")
    assert proc.returncode == 0, proc.stderr
    meta = load_plan(out / "plan.fxplan").meta["policy_search"]
    assert meta["final_loss"] <= min(meta["single"].values())
    assert meta["bias_correction"] in (True, False)  # decided on the loss, the user left it automatic
    assert meta["adaptive_rounding"] in (True, False)  # the mlp's AdaRound fits its cost bound: tried
    layers = load_plan(out / "plan.fxplan").meta["lowering"]["layers"].values()
    rounded = any("adaptive_rounding" in layer.get("refinements", {}) for layer in layers)
    assert rounded == meta["adaptive_rounding"]  # the final plan is lowered with what the search chose
    stats = CalibrationResult.load_stats(out / "stats.npz")
    assert stats.search["chosen"] == meta["chosen"]
    ctable = json.loads((out / "ctable.json").read_text())
    assert ctable
    report = tmp_path / "report"
    with np.load(MLP / "eval.npz") as archive:
        np.savez(tmp_path / "eval.npz", input=archive["input"][:64], label=archive["label"][:64])
    proc = _cli(
        "eval",
        str(MLP / "model.onnx"),
        "--plan",
        str(out / "plan.fxplan"),
        "--data",
        str(tmp_path / "eval.npz"),
        "--report",
        str(report),
    )
    assert proc.returncode == 0, proc.stderr
    text = (report / "report.md").read_text()
    assert "## Policy search" in text and "gain over default" in text
    for tensor, label in meta["chosen"].items():
        assert f"| {tensor} | {label} |" in text


# the last: 64 samples, fewer than the 128 the search scores on by default
@pytest.mark.parametrize(
    "extra", [["--policy", "max", "--search-samples", "48"], ["--no-search", "--search-samples", "48"], []]
)
def test_cli_policy_no_search_or_a_small_set_turn_it_off(tmp_path, extra):
    out = tmp_path / "plan"
    proc = _calibrate_mlp(str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    assert "policy_search" not in load_plan(out / "plan.fxplan").meta


def test_held_out_half_vetoes_a_move_that_only_fits_the_search_half():
    current = _Score(total=1.0, search=1.0, heldout=1.0)
    assert _Score(0.9, 0.8, 0.95).beats(current, min_gain=0.02)
    assert not _Score(0.95, 0.8, 1.1).beats(current, min_gain=0.02)  # search half better, held-out worse
    assert not _Score(0.99, 0.99, 0.9).beats(current, min_gain=0.02)  # below min_gain on the search half
    no_split = _Score(1.0, 1.0, 0.0)
    assert _Score(0.9, 0.9, 0.0).beats(no_split, min_gain=0.02)


def test_blocks_go_from_quarters_to_single_tensors_in_graph_order():
    names = [f"t{i}" for i in range(20)]
    levels = _block_levels(names)
    assert [len(level) for level in levels] == [4, 16, 20]
    for level in levels:
        assert [n for block in level for n in block] == names
    assert _block_levels(["a", "b"]) == [[["a"], ["b"]]]


def test_the_budget_is_a_plan_count_not_wall_time(mlp):
    """Two runs choose the same plan with the same number of simulations, whatever the machine's load."""
    graph, data, calib = mlp
    runs = []
    for _ in range(2):
        options = PolicySearchOptions(num_samples=48, scoring_samples=48, budget_seconds=0.3, progress=False)
        quant, report = search_policies(
            graph, calib, CalibrationConfig(progress=False), RequantProfile(), LowerOptions(), data, options
        )
        runs.append((report.evaluations, report.budget, report.chosen, report.final_loss))
        assert report.evaluations <= report.budget and not report.timed_out
        assert report.heldout_loss > 0.0 and report.num_samples == 48
    assert runs[0] == runs[1]


def test_a_move_must_win_on_most_samples_not_on_one():
    """The paired test: the same mean gain counts when spread over the samples, not when one sample carries it
    (the mean softmax KL on a few dozen samples is dominated by a handful near a decision boundary)."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 1.5, 64)
    current = _Score(float(base.mean()), float(base.mean()), 0.0, base)
    spread = base - 0.05 + rng.normal(0.0, 0.01, 64)
    lucky = base.copy()
    lucky[7] -= 0.05 * 64  # the same total gain, all from one sample
    for better, expected in ((spread, True), (lucky, False)):
        score = _Score(float(better.mean()), float(better.mean()), 0.0, better)
        assert score.significantly_below(current, 2.0) is expected
        assert score.beats(current, min_gain=0.02, significance=2.0) is expected
        assert score.beats(current, min_gain=0.02, significance=0.0)  # the test off: the mean decides
    worse = _Score(float(base.mean()) + 0.1, 0.0, 0.0, base + 0.1)
    assert not worse.significantly_below(current, 0.0)


def test_per_sample_losses_average_to_the_loss():
    rng = np.random.default_rng(1)
    ref, got = rng.normal(size=(32, 10)), rng.normal(size=(32, 10))
    for kind in ("kl", "mse"):
        assert np.mean(output_losses(kind, ref, got)) == pytest.approx(output_loss(kind, ref, got))
    image = rng.normal(size=(8, 3, 4, 4))
    assert np.mean(relative_squared_errors(image, image * 1.1)) == pytest.approx(relative_mse(image, image * 1.1))


def test_robust_aggregates_are_not_steered_by_a_few_samples():
    """A plan that is better on almost every sample but much worse on 3 of 64 loses on the mean and wins on the
    trimmed and the log aggregate (the mean KL of 128 calibration samples is carried by a handful of them)."""
    rng = np.random.default_rng(2)
    base = rng.uniform(0.5, 1.5, 64) * 1e-3
    better = base * 0.7
    better[[3, 30, 50]] = 0.02
    assert aggregate("mean", better) > aggregate("mean", base)
    for kind in ("trimmed", "log"):
        assert aggregate(kind, better) < aggregate(kind, base)
    assert aggregate("mean", base) == pytest.approx(float(np.mean(base)))
    assert aggregate("log", base) == pytest.approx(float(np.exp(np.mean(np.log(base)))), rel=1e-6)
    assert aggregate("trimmed", np.arange(20.0)) == pytest.approx(float(np.mean(np.arange(2.0, 18.0))))
    assert aggregate("trimmed", np.zeros(0)) == 0.0


def test_weight_rounding_is_chosen_on_the_loss_and_only_where_automatic(mlp):
    graph, data, calib = mlp
    options = PolicySearchOptions(num_samples=48, scoring_samples=48, max_evaluations=20, progress=False)
    _, report = search_policies(
        graph, calib, CalibrationConfig(progress=False), RequantProfile(), LowerOptions(), data, options
    )
    assert report.bias_correction in (True, False) and report.adaptive_rounding in (True, False)
    assert report.bias_correction_loss > 0.0 and report.adaptive_rounding_loss > 0.0
    if report.adaptive_rounding:
        assert report.bias_correction and report.final_loss == report.adaptive_rounding_loss
    elif report.bias_correction:
        assert report.final_loss == report.bias_correction_loss
    assert report.final_loss <= min(report.single.values())
    report.bias_correction = report.adaptive_rounding = True
    assert report.refined(LowerOptions()).adaptive_rounding is True
    kept = report.refined(LowerOptions(bias_correction=False, adaptive_rounding=False))
    assert (kept.bias_correction, kept.adaptive_rounding) == (False, False)  # the user's word stands
    _, asked = search_policies(
        graph,
        calib,
        CalibrationConfig(progress=False),
        RequantProfile(),
        LowerOptions(bias_correction=False),
        data,
        options,
    )
    assert asked.bias_correction is None and asked.adaptive_rounding is None


def test_adaround_is_tried_only_where_its_modelled_cost_fits_the_budget(mlp):
    graph, data, calib = mlp
    assert 0.0 < _adaround_seconds(graph) < 5.0  # the mlp: three small fully connected layers
    options = PolicySearchOptions(
        num_samples=48, scoring_samples=48, max_evaluations=10, budget_seconds=0.5, progress=False
    )
    _, report = search_policies(
        graph, calib, CalibrationConfig(progress=False), RequantProfile(), LowerOptions(), data, options
    )
    assert report.adaptive_rounding is None and report.adaptive_rounding_loss == 0.0
    assert report.bias_correction in (True, False) and report.bias_correction_loss > 0.0


@pytest.mark.parametrize("extra, searched", [([], False), (["--policy-search"], True)])
def test_cli_low_bit_weights_search_only_when_asked(tmp_path, extra, searched):
    """Under 4-bit weights the search's plans carry the refined weights and miss the time box: off by default."""
    out = tmp_path / "plan"
    proc = _calibrate_mlp(str(out), "--search-samples", "48", "--weight-bits", "4", *extra)
    assert proc.returncode == 0, proc.stderr
    plan = load_plan(out / "plan.fxplan")
    assert ("policy_search" in plan.meta) == searched
    assert all(layer.datapath == "s4" for layer in plan.layers if "weights" in layer.arrays)
