"""Mixed precision under a budget on the mlp example: a budget only a mix meets is met, an impossible
one is a one-line error naming the smallest achievable figure, the Pareto front reaches the report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixpoint.calibrate import CalibrationConfig, calibrate, load_samples, model_input_spec
from fixpoint.lower import LowerOptions, lower
from fixpoint.mixed import Budget, BudgetError, parse_budget, plan_costs
from fixpoint.mixed.costs import INSTRUCTIONS_PER_MAC, layer_macs
from fixpoint.mixed.search import choose_mixed_precision
from fixpoint.pipeline import load_graph
from fixpoint.plan import RequantProfile, load_plan

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "examples" / "models" / "mlp"


@pytest.fixture(scope="module")
def mlp():
    model = MLP / "model.onnx"
    graph = load_graph(model)
    name, shape = model_input_spec(model)
    data = load_samples(MLP / "calib.npz", name, shape)
    config = CalibrationConfig(progress=False)
    return graph, calibrate(model, graph, data, config), config, data


def _uniform_costs(graph, calib) -> dict[str, object]:
    out = {
        f"w{b}": plan_costs(lower(graph, calib.quant, RequantProfile(), LowerOptions(weight_bits=b)))
        for b in (8, 4, 2, 1)
    }
    return out


def test_parse_budget():
    assert parse_budget("flash=12.5,ram=4,instructions=90000") == Budget(12.5, 4.0, 90000)
    assert parse_budget(" ram=2 ") == Budget(None, 2.0, None)
    for bad, words in (
        ("flash", "KEY=VALUE"),
        ("rom=3", "KEY=VALUE"),
        ("flash=x", "not a number"),
        ("flash=-1", "positive"),
        ("flash=1,flash=2", "twice"),
    ):
        with pytest.raises(BudgetError, match=words):
            parse_budget(bad)


def test_instruction_model_is_macs_times_datapath_cost(mlp):
    graph, calib, _, _ = mlp
    plan = lower(graph, calib.quant, RequantProfile(), LowerOptions(weight_bits=2))
    macs = sum(layer_macs(plan, layer) for layer in plan.layers)
    assert macs > 0
    eight = lower(graph, calib.quant, RequantProfile(), LowerOptions())
    delta = plan_costs(plan).instructions - plan_costs(eight).instructions
    assert delta == macs * (INSTRUCTIONS_PER_MAC["s2"] - INSTRUCTIONS_PER_MAC["s8"])


def test_a_budget_only_a_mix_meets_is_met(mlp):
    graph, calib, config, data = mlp
    uniform = _uniform_costs(graph, calib)
    # flash below every int8 / int4 plan, instructions below every 2- / 1-bit plan: no uniform width fits
    flash = min(uniform["w4"].flash, uniform["w8"].flash) - 512
    instructions = min(uniform["w2"].instructions, uniform["w1"].instructions) - 1000
    budget = Budget(flash_kb=flash / 1024, instructions=instructions)
    for costs in uniform.values():
        assert costs.flash > flash or costs.instructions > instructions
    result = choose_mixed_precision(graph, calib, config, RequantProfile(), LowerOptions(), data, budget)
    chosen = result.chosen
    assert len(set(chosen.bits.values())) > 1 and chosen.act_bits == 8
    plan = lower(
        graph, calib.quant, RequantProfile(), LowerOptions(weight_bits_overrides={k: v for k, v in chosen.bits.items()})
    )
    real = plan_costs(plan)
    assert real == chosen.costs and real.flash <= flash and real.instructions <= instructions
    assert chosen.loss is not None and chosen.loss >= 0
    # the front: flash falls as loss rises, and the choice is among the simulated points
    front = [m for m in result.front if "flash" in m.front]
    assert len(front) >= 3 and all(m.loss is not None for m in result.front)
    assert any("budget choice" in m.front for m in result.front)
    # no measured mix within the budget has a smaller simulated loss than the choice
    info = result.as_dict()
    fitting = [m for m in info["front"] if m["flash"] <= flash and m["instructions"] <= instructions]
    assert min(m["loss"] for m in fitting) == pytest.approx(chosen.loss)


def test_an_impossible_budget_names_the_smallest_figure(mlp):
    graph, calib, config, data = mlp
    smallest = _uniform_costs(graph, calib)["w1"].flash
    with pytest.raises(
        BudgetError,
        match=rf"flash=1 cannot be met: the smallest achievable flash is "
        rf"{smallest / 1024:.2f} KB \(every weighted layer binary\)",
    ):
        choose_mixed_precision(graph, calib, config, RequantProfile(), LowerOptions(), data, Budget(flash_kb=1))
    with pytest.raises(BudgetError, match="instructions=10 cannot be met: the smallest achievable instructions"):
        choose_mixed_precision(graph, calib, config, RequantProfile(), LowerOptions(), data, Budget(instructions=10))


def test_a_budget_needs_8_bit_calibration(mlp):
    graph, calib, config, data = mlp
    with pytest.raises(BudgetError, match="drop --activation-bits 16"):
        choose_mixed_precision(
            graph,
            calib,
            CalibrationConfig(bits=16, progress=False),
            RequantProfile(),
            LowerOptions(),
            data,
            Budget(flash_kb=100),
        )


def _cli(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "sdk"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "fixpoint.cli", "-q", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_cli_writes_the_front_and_the_report_shows_it(tmp_path):
    out = tmp_path / "plan"
    proc = _cli(
        "calibrate",
        MLP / "model.onnx",
        "--data",
        MLP / "calib.npz",
        "--board",
        "host",
        "--budget",
        "flash=10,instructions=103000",
        "-o",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    table = (out / "pareto.md").read_text()
    assert "| mix | flash B |" in table and "(chosen)" in table and "analytical" in table
    assert (out / "pareto.svg").read_text().lstrip().startswith("<?xml")
    plan = load_plan(out / "plan.fxplan")
    info = plan.meta["mixed_precision"]
    assert plan_costs(plan).flash <= 10 * 1024 and plan_costs(plan).instructions <= 103000
    assert {layer.name: layer.datapath for layer in plan.layers if layer.op == "fully_connected"} == {
        name: {8: "s8", 4: "s4", 2: "s2", 1: "s1"}[bits] for name, bits in info["chosen"]["weight_bits"].items()
    }
    report = tmp_path / "report"
    proc = _cli(
        "eval", MLP / "model.onnx", "--plan", out / "plan.fxplan", "--data", MLP / "eval.npz", "--report", report
    )
    assert proc.returncode == 0, proc.stderr
    assert "## Mixed precision under a budget" in (report / "report.md").read_text()
    assert (report / "img" / "pareto.png").stat().st_size > 0


def test_cli_impossible_budget_is_one_error_line(tmp_path):
    out = tmp_path / "plan"
    proc = _cli(
        "calibrate",
        MLP / "model.onnx",
        "--data",
        MLP / "calib.npz",
        "--board",
        "host",
        "--budget",
        "flash=1",
        "-o",
        out,
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: --budget flash=1 cannot be met: the smallest achievable flash is ")
    assert not (out / "plan.fxplan").exists()
