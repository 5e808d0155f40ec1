"""Ternary (s2) and binary (s1) weights on the emulated boards: every output byte equals the host
simulation. Two plans cover the six low-bit kernels: dwsep with conv2d / depthwise layers in both
widths (and a binary fully connected), the mlp with ternary and binary fully connected layers. The
firmware's resolver table must name exactly the (op, datapath) pairs the plan uses."""

from __future__ import annotations

import pytest

from fixpoint.boards import load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.codegen.resolver import kernel_entries
from fixpoint.hil import HilJob, run_hil
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import CalibrationJob, run_calibration

from hil_examples import EXAMPLES, eval_set, selected_boards

SAMPLES = 40
# model -> per-layer weight bits (globs on the layer names); every other weighted layer is ternary
MIXES = {
    "dwsep": {"/stem/*": 1, "/dw1/*": 1, "/pw1/*": 2, "/a_dw/*": 2, "/fc/*": 1},
    "mlp": {"/net/net.0/*": 2, "/net/net.2/*": 1, "/net/net.4/*": 2},
}
EXPECTED_LOWBIT = {
    "dwsep": {
        ("conv2d", "s1"),
        ("depthwise_conv2d", "s1"),
        ("conv2d", "s2"),
        ("depthwise_conv2d", "s2"),
        ("fully_connected", "s1"),
    },
    "mlp": {("fully_connected", "s2"), ("fully_connected", "s1")},
}


@pytest.fixture(scope="module")
def lowbit_plan(tmp_path_factory):
    cache: dict[tuple[str, str], object] = {}

    def get(model: str, board_name: str):
        board = load_board(board_name)
        key = (model, repr(board.requant_profile()))
        if key not in cache:
            folder = EXAMPLES / model
            job = CalibrationJob(
                model_path=folder / "model.onnx",
                data_path=folder / "calib.npz",
                profile=board.requant_profile(),
                calibration=CalibrationConfig(progress=False),
                lowering=LowerOptions(
                    weight_bits=2, weight_bits_overrides=MIXES[model], engines=list(board.accelerator.engines) or None
                ),
                board_name=board.name,
            )
            cache[key] = run_calibration(job, tmp_path_factory.mktemp(f"lowbit-{model}"))
        return cache[key]

    return get


@pytest.mark.parametrize("board", selected_boards())
@pytest.mark.parametrize("model", sorted(MIXES))
def test_lowbit_plan_is_bit_exact_on_board(model, board, lowbit_plan, tmp_path):
    outputs = lowbit_plan(model, board)
    plan = outputs.plan
    used = {(layer.op, layer.datapath) for layer in plan.layers}
    assert EXPECTED_LOWBIT[model] <= used, used
    lowbit_pairs = {(e.op, e.datapath) for e in kernel_entries(plan) if e.datapath in ("s2", "s1")}
    assert lowbit_pairs == EXPECTED_LOWBIT[model]
    x, labels = eval_set(model)
    result = run_hil(
        HilJob(
            plan=plan,
            board=board,
            x=x[:SAMPLES],
            labels=labels[:SAMPLES],
            model_path=outputs.graph.source_path,
            work_dir=tmp_path,
            max_drop_pp=100.0,
            progress=False,
        )
    )
    assert not result.mismatches, result.summary()
    assert result.bit_exact == result.n_samples == SAMPLES, result.summary()
