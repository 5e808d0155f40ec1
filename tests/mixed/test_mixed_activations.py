"""Per-layer activation widths in the budget search, on an attention block on the engine board
(mps2-an386-npu): under a RAM limit the all-int16 plan exceeds, the choice runs some layers at 16 bits
and the rest at 8, with less simulated loss than the all-int8 plan, and the plan runs bit-exact on the
QEMU board (requantize layers at every width boundary)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from fixpoint.boards import load_board
from fixpoint.hil import HilJob, run_hil
from fixpoint.mixed import Budget, plan_costs
from fixpoint.pipeline import CalibrationJob, run_calibration

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lower"))
from attention_models import model_folder  # noqa: E402

BOARD = "mps2-an386-npu"
BUDGET = Budget(ram_kb=0.4)
BOARD_SAMPLES = 8


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    return model_folder(tmp_path_factory.mktemp("mixed_act"), "attention_block", evals=BOARD_SAMPLES)


def test_a_ram_budget_is_met_by_mixed_activation_widths_bit_exact_on_the_board(block, tmp_path):
    target = load_board(BOARD).get_target()
    job = CalibrationJob.for_board(block / "model.onnx", block / "calib.npz", BOARD, budget=BUDGET)
    plan = run_calibration(job, tmp_path / "plan").plan
    info = plan.meta["mixed_precision"]
    chosen = info["chosen"]
    widths = {layer["activation_bits"] for layer in chosen["layers"].values()}
    assert widths == {8, 16} and chosen["label"].startswith("a8/16[")
    # the all-int16 plan is a candidate the RAM limit excludes; the mix beats the all-int8 plan
    whole16 = [m for m in info["front"] if "16-bit activations" in m["front"]]
    assert whole16 and all(m["ram"] > BUDGET.ram_kb * 1024 for m in whole16)
    assert chosen["loss"] < info["base_loss"]
    # the plan is what was chosen: each layer at its width, requantize layers between widths
    dtypes = {plan.tensors[la.output].name: plan.tensors[la.output].dtype for la in plan.layers}
    for name, layer in chosen["layers"].items():
        la = next(x for x in plan.layers if x.name == name)
        assert plan.tensors[la.output].dtype == f"int{layer['activation_bits']}", name
        assert la.engine == layer["engine"], name
    assert any(la.op == "requantize" for la in plan.layers) and "int16" in dtypes.values()
    real = plan_costs(plan, target.engines)
    assert real.ram <= BUDGET.ram_kb * 1024 and real.ram == chosen["ram"]

    with np.load(block / "eval.npz") as f:
        x = f["x"]
    hil = run_hil(HilJob(plan=plan, board=BOARD, x=x, work_dir=tmp_path / "hil", max_drop_pp=100.0, progress=False))
    assert not hil.mismatches and not hil.failures, hil.summary()
    assert hil.bit_exact == BOARD_SAMPLES
