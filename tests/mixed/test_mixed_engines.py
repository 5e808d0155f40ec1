"""Mixed precision on a board with several engines (mps2-an386-npu): the lowering takes a per-layer
engine override (or refuses it on one line), each engine is priced from the board file, and a budget
only a mix of engines and weight widths meets is met, with a plan that runs bit-exact on the QEMU board."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from fixpoint_cli import run_fixpoint

from fixpoint.boards import load_board
from fixpoint.calibrate import CalibrationConfig, calibrate, load_samples, model_input_spec
from fixpoint.hil import HilJob, run_hil
from fixpoint.ir import ModelError
from fixpoint.lower import LowerOptions, lower
from fixpoint.mixed import Budget, BudgetError, plan_costs
from fixpoint.mixed.costs import layer_flash, layer_instructions, layer_macs
from fixpoint.mixed.search import WIDTHS, choose_mixed_precision
from fixpoint.pipeline import CalibrationJob, load_graph, run_calibration
from fixpoint.plan import load_plan

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "examples" / "models" / "mlp"
BOARD = "mps2-an386-npu"
# instructions: below every plan whose layers share one engine; flash: below every plan whose weighted
# layers share one width (both checked below from the lowered layers, not taken on trust)
BUDGET = Budget(flash_kb=16, instructions=3850)
BOARD_SAMPLES = 16


@pytest.fixture(scope="module")
def npu():
    target = load_board(BOARD).get_target()
    graph = load_graph(MLP / "model.onnx")
    name, shape = model_input_spec(MLP / "model.onnx")
    data = load_samples(MLP / "calib.npz", name, shape)
    config = CalibrationConfig(progress=False)
    return target, graph, calibrate(MLP / "model.onnx", graph, data, config), config, data


def _lower(npu, bits=None, engines=None):
    target, graph, calib, _, _ = npu
    return lower(
        graph,
        calib.quant,
        target.profile,
        LowerOptions(engines=list(target.engines), weight_bits_overrides=bits or {}, engine_overrides=engines or {}),
    )


def _layer_table(npu) -> tuple[dict, int, int]:
    """(layer, bits, engine) -> (flash, instructions) of every option the lowering accepts, each layer
    lowered alone with it; and the flash and instructions of the other layers."""
    target = npu[0]
    base = _lower(npu)
    names = [la.name for la in base.layers if la.op == "fully_connected"]
    table = {}
    for name, bits, engine in itertools.product(names, WIDTHS, target.engines):
        try:
            plan = _lower(npu, {name: bits}, {name: engine.name})
        except ModelError:
            continue
        layer = next(la for la in plan.layers if la.name == name)
        table[name, bits, engine.name] = (layer_flash(layer), layer_instructions(plan, layer, engine=engine))
    costs = plan_costs(base, target.engines)
    own = [
        next(v for k, v in table.items() if k[0] == la.name and k[1] == 8 and k[2] == la.engine)
        for la in base.layers
        if la.name in names
    ]
    return table, costs.flash - sum(f for f, _ in own), costs.instructions - sum(i for _, i in own)


def _meets(table, fixed_flash, fixed_instr, picks) -> bool:
    if any(p not in table for p in picks):
        return False
    flash = fixed_flash + sum(table[p][0] for p in picks)
    instructions = fixed_instr + sum(table[p][1] for p in picks)
    return flash <= BUDGET.flash_kb * 1024 and instructions <= BUDGET.instructions


def test_engine_override_pins_a_layer_or_is_refused_on_one_line(npu):
    auto = _lower(npu)
    assert [la.engine for la in auto.layers] == ["mac24", "npu8", "cpu"]
    pinned = _lower(npu, engines={"/net/net.0/Gemm": "cpu", "*/net.4/*": "mac24"})
    assert [la.engine for la in pinned.layers] == ["cpu", "npu8", "mac24"]
    reasons = pinned.meta["lowering"]["layers"]
    assert reasons["/net/net.0/Gemm"]["engine_reason"] == "layer /net/net.0/Gemm on cpu: engine override (8192 cycles)"
    assert pinned.meta["lowering"]["options"]["engine_overrides"] == {"/net/net.0/Gemm": "cpu", "*/net.4/*": "mac24"}
    for engines, message in (
        (
            {"/net/net.0/Gemm": "npu8"},
            "layer '/net/net.0/Gemm': engine override 'npu8' cannot run it (channels 128 exceeds npu8's 64)",
        ),
        (
            {"/net/net.2/Gemm": "gpu"},
            "layer '/net/net.2/Gemm': engine override 'gpu' is not an engine of the target (cpu, npu8, mac24, shift)",
        ),
        (
            {"/net/net.2/Gemm": "shift"},
            "layer '/net/net.2/Gemm': engine override 'shift' cannot run it (shift does not run fully_connected)",
        ),
    ):
        with pytest.raises(ModelError) as info:
            _lower(npu, engines=engines)
        assert str(info.value) == message
    with pytest.raises(ModelError, match="engine override 'npu8' cannot run it .*has no s4 datapath"):
        _lower(npu, bits={"/net/net.2/Gemm": 4}, engines={"/net/net.2/Gemm": "npu8"})
    with pytest.raises(ModelError, match="needs a target with engines"):
        LowerOptions(engine_overrides={"x": "cpu"})


def test_an_accelerator_layer_costs_its_board_cycles(npu):
    target = npu[0]
    plan = _lower(npu)
    by_name = {e.name: e for e in target.engines}
    for layer in plan.layers:
        engine = by_name[layer.engine]
        got = layer_instructions(plan, layer, engine=engine)
        macs = layer_macs(plan, layer)
        if layer.engine == "cpu":  # the CPU keeps the per-datapath instruction model
            assert got == layer_instructions(plan, layer)
        else:
            assert got == round(engine.setup_cycles + engine.cycles_per_mac * macs)
    assert plan_costs(plan, target.engines).instructions < plan_costs(plan).instructions


def test_a_budget_only_mixed_engines_and_widths_meet_is_met_bit_exact_on_the_board(npu, tmp_path):
    target, graph, calib, config, data = npu
    table, fixed_flash, fixed_instr = _layer_table(npu)
    names = sorted({k[0] for k in table}, key=lambda n: n[-6:])
    engines = [e.name for e in target.engines]
    # no plan with one engine for every weighted layer meets the budget, at any widths
    for engine in engines:
        for bits in itertools.product(WIDTHS, repeat=len(names)):
            assert not _meets(table, fixed_flash, fixed_instr, list(zip(names, bits, [engine] * len(names))))
    # no plan with one weight width for every layer meets it, on any engines
    for bits in WIDTHS:
        for chosen in itertools.product(engines, repeat=len(names)):
            assert not _meets(table, fixed_flash, fixed_instr, list(zip(names, [bits] * len(names), chosen)))

    result = choose_mixed_precision(
        graph, calib, config, target.profile, LowerOptions(engines=list(target.engines)), data, BUDGET
    )
    chosen = result.chosen
    assert len(set(chosen.engines.values())) > 1 and len(set(chosen.bits.values())) > 1
    assert _meets(table, fixed_flash, fixed_instr, [(n, chosen.bits[n], chosen.engines[n]) for n in names])
    assert "e[" in chosen.label() and chosen.loss is not None
    # the search's sensitivities differ between engines where their requantizers do
    assert any(
        len({round(v, 12) for k, v in s.items() if k.startswith("w4a8@")}) > 1 for s in result.sensitivity.values()
    )

    # the calibrate pipeline with the budget lowers that choice; the board computes it bit for bit
    out = tmp_path / "plan"
    job = CalibrationJob.for_board(MLP / "model.onnx", MLP / "calib.npz", BOARD, budget=BUDGET)
    plan = run_calibration(job, out).plan
    assert {la.name: (la.engine, la.datapath) for la in plan.layers} == {
        n: (chosen.engines[n], f"s{chosen.bits[n]}") for n in names
    }
    real = plan_costs(plan, target.engines)
    assert real.flash <= BUDGET.flash_kb * 1024 and real.instructions <= BUDGET.instructions
    assert real == chosen.costs
    table_md = (out / "pareto.md").read_text()
    assert "| layer | weight bits | activation bits | engine |" in table_md
    assert f" {chosen.label()} (chosen) |" in table_md
    assert load_plan(out / "plan.fxplan").meta["mixed_precision"]["chosen"]["engines"] == chosen.engines

    evals = np.load(MLP / "eval.npz")
    x = evals[next(k for k in evals.files if not k.startswith("label"))][:BOARD_SAMPLES]
    hil = run_hil(HilJob(plan=plan, board=BOARD, x=x, work_dir=tmp_path / "hil", max_drop_pp=100.0, progress=False))
    assert not hil.mismatches and not hil.failures, hil.summary()
    assert hil.bit_exact == BOARD_SAMPLES


def test_an_impossible_budget_names_the_least_instructions_over_engines(npu):
    target, graph, calib, config, data = npu
    table, _, fixed_instr = _layer_table(npu)
    names = {k[0] for k in table}
    least = fixed_instr + sum(min(v[1] for k, v in table.items() if k[0] == n) for n in names)
    with pytest.raises(BudgetError) as info:
        choose_mixed_precision(
            graph,
            calib,
            config,
            target.profile,
            LowerOptions(engines=list(target.engines)),
            data,
            Budget(instructions=100),
        )
    message = str(info.value)
    assert message.startswith(
        f"--budget instructions=100 cannot be met: the smallest achievable instructions "
        f"is {least} (every weighted layer at its fewest instructions: a8 w[3x"
    )
    assert "\n" not in message and "e[" in message


def test_cli_engine_override_the_engine_cannot_take_is_one_error_line(tmp_path):
    proc = run_fixpoint(
        "-q",
        "calibrate",
        MLP / "model.onnx",
        "--data",
        MLP / "calib.npz",
        "--board",
        BOARD,
        "--no-search",
        "--max-samples",
        "64",
        "--engine-override",
        "/net/net.0/Gemm=npu8",
        "-o",
        tmp_path / "out",
        timeout=300,
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and lines == [
        "error: layer '/net/net.0/Gemm': engine override 'npu8' cannot run it (channels 128 exceeds npu8's 64)"
    ], proc.stderr
    assert not (tmp_path / "out" / "plan.fxplan").exists()
