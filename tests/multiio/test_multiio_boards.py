"""Two-input and two-output models on each selected emulated board (FIXPOINT_TEST_BOARDS, default
host, mps2-an386, riscv32-virt): generated C compiled for the board, every byte of every output
equal to the host simulation; a wrong second output is caught and named."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from fixpoint.boards import list_boards, load_board
from fixpoint.hil import HilJob, run_hil, write_json, write_junit
from fixpoint.iospec import plan_input_specs
from fixpoint.plan import load_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hil"))
from hil_examples import DEFAULT_BOARDS  # noqa: E402


def _boards() -> list[str]:
    wanted = os.environ.get("FIXPOINT_TEST_BOARDS", DEFAULT_BOARDS)
    names = list_boards() if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    return [n for n in names if load_board(n).kind != "hardware"]


def _eval_data(path: Path, plan) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    with np.load(path) as data:
        x = [data[name] for name, _ in plan_input_specs(plan)]
        names = [plan.tensors[i].name for i in plan.outputs]
        labels = {k.partition("/")[2] or names[0]: data[k] for k in data.files if k.startswith("label")}
    return x, labels


@pytest.mark.parametrize("board", _boards())
@pytest.mark.parametrize("model", ["two_inputs", "two_outputs", "dense"])
def test_every_output_byte_on_board(model, board, model_files, plan_for, tmp_path) -> None:
    plan = load_plan(plan_for(model, board))
    x, labels = _eval_data(model_files(model)["eval"], plan)
    n = 48 if board == "host" else 12
    result = run_hil(
        HilJob(
            plan=plan,
            board=board,
            x=[a[:n] for a in x],
            labels={k: v[:n] for k, v in labels.items()},
            model_path=model_files(model)["model"],
            work_dir=tmp_path,
            max_drop_pp=100.0,
            progress=False,
        )
    )
    write_json(tmp_path / "result.json", result)
    write_junit(tmp_path / "junit.xml", result)
    assert not result.mismatches and not result.failures, result.summary()
    assert result.bit_exact == n
    assert [o.name for o in result.outputs] == [plan.tensors[i].name for i in plan.outputs]
    assert all(o.bit_exact == n and o.agreement is not None for o in result.outputs), result.summary()
    assert sum(o.bytes_per_sample for o in result.outputs) == sum(plan.tensors[i].nbytes for i in plan.outputs)


def test_a_wrong_second_output_is_caught_and_named(model_files, plan_for, tmp_path) -> None:
    """The host simulates a plan whose regressor head differs; the board runs the true plan:
    only the second output ('box') differs, and the report says so."""
    plan = load_plan(plan_for("two_outputs", "host"))
    altered = copy.deepcopy(plan)
    layer = next(layer for layer in altered.layers if layer.name == "regressor")
    layer.arrays["bias"] = layer.arrays["bias"] + np.int32(5000)
    altered.model_hash = altered.compute_hash()
    x, _ = _eval_data(model_files("two_outputs")["eval"], plan)
    result = run_hil(
        HilJob(plan=plan, sim_plan=altered, board="host", x=[a[:6] for a in x], work_dir=tmp_path, progress=False)
    )
    assert len(result.mismatches) == 6, result.summary()
    assert all(m.output == "box" and m.differing_outputs == ["box"] for m in result.mismatches)
    assert result.mismatches[0].first_layer == "regressor", result.summary()
    by_name = {o.name: o.bit_exact for o in result.outputs}
    assert by_name == {"class": 6, "box": 0}
    assert "first at output 'box'[" in result.summary()
    junit = write_junit(tmp_path / "junit.xml", result).read_text()
    assert "output_box_bit_exact" in junit and "output 'box' differs in 6 samples" in junit
