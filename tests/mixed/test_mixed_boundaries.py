"""The requantize layers between activation widths in the budget search's cost model, on dwsep on the
engine board (mps2-an386-npu, as bench/results/mixed_precision.md): they run on the CPU engine (the
firmware dispatches an unassigned layer there), and a mix's modelled flash and instructions, its
requantize layers priced together, are the figures of its real lowered plan."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fixpoint.boards import load_board
from fixpoint.calibrate import calibrate, load_inputs
from fixpoint.iospec import graph_input_specs
from fixpoint.mixed import Budget, BudgetError, plan_costs
from fixpoint.mixed.boundaries import Boundaries, _Value
from fixpoint.mixed.costs import INSTRUCTIONS_PER_OUTPUT, layer_flash, layer_instructions, running_engine
from fixpoint.mixed.search import _Lowerer, choose_mixed_precision
from fixpoint.pipeline import CalibrationJob, load_graph
from fixpoint.target import CPU_ENGINE, default_engine

ROOT = Path(__file__).resolve().parents[2]
DWSEP = ROOT / "examples" / "models" / "dwsep"
BOARD = "mps2-an386-npu"
BUDGET = Budget(flash_kb=8, instructions=400000)  # bench/bench_mixed.py's


@pytest.fixture(scope="module")
def dwsep():
    job = CalibrationJob.for_board(DWSEP / "model.onnx", DWSEP / "calib.npz", BOARD, budget=BUDGET)
    graph = load_graph(DWSEP / "model.onnx")
    data = load_inputs(job.data_path, graph_input_specs(graph), max_samples=job.calibration.max_samples)
    calib = calibrate(DWSEP / "model.onnx", graph, data, job.calibration)
    lowering = replace(job.lowering, activation_bits_overrides={})
    return job, graph, calib, lowering, data


@pytest.fixture(scope="module")
def searched(dwsep):
    job, graph, calib, lowering, data = dwsep
    return choose_mixed_precision(graph, calib, job.calibration, job.profile, lowering, data, BUDGET)


def _alone(result, mix, key: str) -> float:
    """The mix's ``key`` as the options priced alone add up (each with its own requantize layers)."""
    total = result.base_costs.get(key)
    for layer in result.options:
        k = layer.choices.index(mix.choices[layer.name])
        total += layer.values(key)[k]
    return total


def test_unassigned_layers_run_on_the_cpu_engine():
    target = load_board(BOARD).get_target()
    names = [e.name for e in target.engines]
    assert names[default_engine(names)] == CPU_ENGINE
    # a board listing an accelerator first still sends them to the CPU (the board-wide requantizer)
    assert default_engine(["npu8", "cpu"]) == 1 and default_engine(["npu"]) == 0


def _low(dwsep, result) -> _Lowerer:
    job, graph, _, lowering, _ = dwsep
    return _Lowerer(graph, result.quant, result.quant16, job.profile, lowering)


def test_modelled_flash_and_instructions_are_the_real_plans(dwsep, searched):
    target = load_board(BOARD).get_target()
    measured = [m for m in searched.front if m.modelled is not None]
    wide = [m for m in measured if any(c.act == 16 for c in m.choices.values())]
    assert len(wide) >= 5
    for mix in measured:
        for key in ("flash", "instructions"):
            assert mix.modelled.get(key) == mix.costs.get(key), (mix.label(), key)
    # the fix is exercised: for some mixes the options priced alone overcount shared or vanished
    # requantize layers (16-bit neighbours), by whole requantize layers of CPU instructions
    over = [m for m in wide if _alone(searched, m, "instructions") > m.costs.instructions]
    assert over
    # the chosen plan's requantize layers: on the CPU, priced per output element, no constant arrays
    chosen = searched.chosen
    assert any(c.act == 16 for c in chosen.choices.values())
    plan = _low(dwsep, searched).plan(8, chosen.choices)
    requantize = [la for la in plan.layers if la.op == "requantize"]
    assert requantize and plan_costs(plan, target.engines) == chosen.costs
    for layer in requantize:
        assert running_engine(layer, target.engines).name == CPU_ENGINE
        outputs = int(np.prod(plan.tensors[layer.output].shape))
        engine = running_engine(layer, target.engines)
        assert layer_instructions(plan, layer, engine=engine) == outputs * INSTRUCTIONS_PER_OUTPUT
        assert layer_flash(layer) == 0


def test_an_impossible_budget_names_the_smallest_real_figure(dwsep, searched):
    """The one-line error's smallest instructions and flash are those of the real plan of the mix it
    names (each layer at its cheapest option, requantize layers priced together)."""
    job, graph, calib, lowering, data = dwsep
    target = load_board(BOARD).get_target()
    for key, budget in (("instructions", Budget(instructions=10)), ("flash", Budget(flash_kb=1))):
        with pytest.raises(BudgetError) as info:
            choose_mixed_precision(graph, calib, job.calibration, job.profile, lowering, data, budget)
        message = str(info.value)
        assert "\n" not in message and f"the smallest achievable {key} is " in message
        figure = float(re.search(rf"smallest achievable {key} is ([0-9.]+)", message).group(1))
        picks = {layer.name: layer.choices[int(np.argmin(getattr(layer, key)))] for layer in searched.options}
        real = plan_costs(_low(dwsep, searched).plan(8, picks), target.engines).get(key)
        assert figure == (real if key == "instructions" else pytest.approx(real / 1024, abs=0.005)), message
        # nothing the search measured under the loose budget is smaller
        assert all(m.costs.get(key) >= real for m in searched.front)


def test_each_boundary_of_a_mix_is_counted_once():
    """The counting rule on a fan-out: graph input x read by layers a and b, a's output read by b, b's
    output a graph output. A value is converted once per width its readers need besides its own."""
    values = [
        _Value("x", -1, [0, 1], False),
        _Value("a", 0, [1], False),
        _Value("b", 1, [], True),
    ]
    price = {("x", 16): 1, ("a", 16): 10, ("a", 8): 100, ("b", 8): 1000}
    boundaries = Boundaries(values, {k: {"flash": 0, "instructions": v} for k, v in price.items()})
    wide = np.array([[False, False], [True, False], [False, True], [True, True]])
    # a alone: x to 16, a back to 8 for b; b alone: x and a to 16, b to 8 for the output; both: x to
    # 16 once (shared), nothing between a and b, b to 8 for the output
    assert boundaries.totals(wide)["instructions"].tolist() == [0, 101, 1011, 1001]
