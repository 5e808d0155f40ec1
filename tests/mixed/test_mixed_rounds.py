"""The budget search's fallback measurement rounds (``MEASURE_ROUNDS`` in fixpoint.mixed.search), on dwsep
on the engine board: when none of a round's ``MEASURED`` best predicted mixes meets the budget on its
real plan the next round is lowered and simulated, and when no round does the search fails on one line.

Why a test double: a round fails only when the cost model says a mix fits and its real plan does not.
Flash and instructions are exact (test_mixed_boundaries), so only RAM can, and the RAM model (the
all-int8 arena plus each option's increase priced alone) over-estimates: on dwsep, mlp, cnn_bn_res, kws,
an attention block (mps2-an386-npu) and unet (mps2-an386) no mix the search considered had modelled
RAM below its real plan's, so no real budget reaches rounds 2-4. The double is exactly that fault: the
search's RAM model blind to activation widths (every option's RAM increase 0), everything else real
(calibration, lowering on the board's engines, bit-exact simulation, the real plans' RAM)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fixpoint.calibrate import calibrate, load_inputs
from fixpoint.iospec import graph_input_specs
from fixpoint.mixed import Budget, BudgetError
from fixpoint.mixed import search
from fixpoint.mixed.space import build_space
from fixpoint.pipeline import CalibrationJob, load_graph

ROOT = Path(__file__).resolve().parents[2]
DWSEP = ROOT / "examples" / "models" / "dwsep"
BOARD = "mps2-an386-npu"
RAM = 7168  # B: the all-int8 plan's arena + scratch; every plan with a 16-bit copy or a wider scratch exceeds it
# found by lowering every mix of the space under the double: with these limits the first of the best
# predicted mixes whose real plan meets the budget is the 23rd (round 4)
ROUND_4 = Budget(flash_kb=10536 / 1024, ram_kb=RAM / 1024, instructions=1008760)
# bench/bench_mixed.py's flash and instructions: none of the 24 best predicted mixes meets it
ALL_FAIL = Budget(flash_kb=8, ram_kb=RAM / 1024, instructions=400000)


@pytest.fixture(scope="module")
def dwsep():
    job = CalibrationJob.for_board(DWSEP / "model.onnx", DWSEP / "calib.npz", BOARD)
    graph = load_graph(DWSEP / "model.onnx")
    data = load_inputs(job.data_path, graph_input_specs(graph), max_samples=job.calibration.max_samples)
    calib = calibrate(DWSEP / "model.onnx", graph, data, job.calibration)
    return job, graph, calib, replace(job.lowering, activation_bits_overrides={}), data


@pytest.fixture
def width_blind_ram(monkeypatch):
    """The fault: the search's RAM model ignores what 16-bit activations add. Records the measured
    mixes of each search (``_choose``'s own result, unchanged)."""
    record: dict = {}

    def blind(layers, *args, **kwargs):
        return build_space([replace(layer, ram=[0] * len(layer.choices)) for layer in layers], *args, **kwargs)

    real_choose = search._choose

    def choose(budget, space, extra, low, scorer):
        record["space"] = space
        chosen, measured = real_choose(budget, space, extra, low, scorer)
        record["measured"] = measured
        return chosen, measured

    monkeypatch.setattr(search, "build_space", blind)
    monkeypatch.setattr(search, "_choose", choose)
    return record


def _search(dwsep, budget):
    job, graph, calib, lowering, data = dwsep
    return search.choose_mixed_precision(graph, calib, job.calibration, job.profile, lowering, data, budget)


def test_a_later_round_is_measured_when_no_mix_of_the_first_meets_the_budget(dwsep, width_blind_ram):
    result = _search(dwsep, ROUND_4)
    measured = width_blind_ram["measured"]
    limits = ROUND_4.limits()
    rounds = -(-len(measured) // search.MEASURED)
    assert rounds == 4 and len(measured) <= search.MEASURED * search.MEASURE_ROUNDS
    # every mix of the rounds before the last met the budget by the model, not on its real plan
    for mix in measured[: search.MEASURED * (rounds - 1)]:
        assert all(mix.modelled.get(k) <= v for k, v in limits.items()), mix.label()
        assert mix.costs.ram > RAM and mix.costs.flash <= limits["flash"], mix.label()
        assert mix.costs.instructions <= limits["instructions"], mix.label()
    chosen = result.chosen
    assert any(m is chosen for m in measured[search.MEASURED * (rounds - 1) :])
    assert all(chosen.costs.get(k) <= v for k, v in limits.items())
    assert chosen.loss == min(m.loss for m in measured if all(m.costs.get(k) <= v for k, v in limits.items()))


def test_every_round_failing_is_one_error_line(dwsep, width_blind_ram):
    with pytest.raises(BudgetError) as info:
        _search(dwsep, ALL_FAIL)
    message = str(info.value)
    total = search.MEASURED * search.MEASURE_ROUNDS
    assert "\n" not in message
    assert message == (
        f"--budget flash=8,ram=7,instructions=400000: the {total} best mixes that meet it by the cost model "
        "exceed it once lowered (RAM or scratch); loosen the budget"
    )
    assert len(width_blind_ram["space"].fitting(ALL_FAIL.limits())) > total  # stopped by the rounds
