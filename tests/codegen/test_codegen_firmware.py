"""The generated model in real firmware, over the real serial link: the board's
output bytes equal the host simulation's. Boards: FIXPOINT_TEST_BOARDS
(comma-separated names or "all"; default: the host board)."""

from __future__ import annotations

import os

import pytest

from fixpoint.boards import list_boards, load_board
from fixpoint.boards.build import build_firmware
from fixpoint.boards.runner import open_board
from fixpoint.codegen import generate
from fixpoint.sim.executor import run_plan

from codegen_helpers import sample_bytes, split_outputs
from codegen_plans import AN505, RV32, built_plan, example_plan, random_inputs
from sim_asserts import assert_exact


def _boards() -> list[str]:
    wanted = os.environ.get("FIXPOINT_TEST_BOARDS", "host")
    names = list_boards() if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    return [n for n in names if load_board(n).kind != "hardware"]


def _plan_for(board: str):
    """A plan lowered for the board's requantization profile."""
    profile = load_board(board).requant_profile()
    if profile == AN505:
        return built_plan("every_op", "s4", profile=AN505)[0]
    return example_plan("cnn_bn_res", profile_name="rv32" if profile == RV32 else "")


@pytest.mark.parametrize("board", _boards())
def test_board_output_equals_simulation(board, tmp_path):
    plan = _plan_for(board)
    generated = generate(plan, board, tmp_path / "gen")
    firmware = build_firmware(board, generated.sources, [generated.out_dir], out_dir=tmp_path / "build")
    inputs = random_inputs(plan, 3, seed=2)
    want = run_plan(plan, inputs).outputs
    with open_board(board, firmware, expected_hash=generated.model_hash) as session:
        assert session.info.input_size == generated.input_bytes
        assert session.info.output_size == generated.output_bytes
        assert session.info.arena_size == generated.arena_bytes and session.info.init_rc == 0
        for b in range(3):
            got, _ = session.client.infer(sample_bytes(inputs, b))
            for k, out in enumerate(split_outputs(plan, got)):
                assert_exact(out, want[k][b], f"{board}: sample {b} output {k}")
