"""Data-movement ONNX models end to end: load -> calibrate (real CLI) -> simulate bit-exact against
the numpy plan interpreter -> agree with onnxruntime float within the quantization error -> run
bit-exact through `hil` on the host and every selected emulated board (FIXPOINT_TEST_BOARDS).

Models (movement_models.py): a YOLO-head-like Conv -> Reshape (reorders NHWC) -> Transpose ->
Slice x2 -> Concat; Reshape between two convs that really reorders; Split feeding two branches
with negative-step slices; nearest and bilinear Resize feeding a Concat (UNet / YOLO neck); Pad
reflect and edge; Gather of constant index lists;
SpaceToDepth and DepthToSpace (DCR, CRD)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from fixpoint.boards import list_boards, load_board
from fixpoint.hil import HilJob, run_hil
from fixpoint.plan import load_plan
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hil"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from hil_examples import DEFAULT_BOARDS  # noqa: E402
from sim_numpy_interp import interpret  # noqa: E402

from movement_models import MODELS  # noqa: E402

# runtime ops each model's plan must contain (the movement is really done, not folded away)
EXPECTED_OPS = {
    "head": {"transpose", "slice", "concat", "copy"},
    "reshape_convs": {"transpose", "copy"},
    "split": {"slice"},
    "upsample": {"resize", "concat"},
    "pad_modes": {"pad"},
    "gather": {"slice", "concat"},
    "depth_space": {"transpose", "copy"},
}


def _boards() -> list[str]:
    wanted = os.environ.get("FIXPOINT_TEST_BOARDS", DEFAULT_BOARDS)
    names = list_boards() if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    return [n for n in names if load_board(n).kind != "hardware"]


def _inputs(path: Path) -> np.ndarray:
    with np.load(path) as data:
        return data["x"]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_simulation_matches_interpreter_and_float(model, model_files, plan_for) -> None:
    files = model_files(model)
    plan = load_plan(plan_for(model, "host"))
    assert EXPECTED_OPS[model] <= {layer.op for layer in plan.layers}
    x = _inputs(files["eval"])
    q = [quantize_input(plan, x)]
    sim = run_plan(plan, q).outputs
    want, _ = interpret(plan, q)
    for got, exp in zip(sim, want):
        np.testing.assert_array_equal(got, exp)
    session = ort.InferenceSession(str(files["model"]), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    floats = session.run(names, {"x": x})
    for k, (name, f) in enumerate(zip(names, floats)):
        tensor = plan.tensors[plan.outputs[k]]
        assert tensor.name == name
        ints = dequantize(plan, plan.outputs[k], sim[k])
        assert ints.shape == f.shape
        err = np.abs(ints - f)
        # the calibrated range may clip the tails: most elements are within a couple of steps
        assert np.mean(err <= 2 * tensor.scale) > 0.99, (name, err.max(), tensor.scale)
        sqnr = 10 * np.log10(np.sum(f.astype(np.float64) ** 2) / np.sum(err.astype(np.float64) ** 2))
        assert sqnr > 25.0, (name, sqnr)


@pytest.mark.parametrize("board", _boards())
@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_output_byte_on_board(model, board, model_files, plan_for, tmp_path) -> None:
    plan = load_plan(plan_for(model, board))
    n = 24 if board == "host" else 8
    x = _inputs(model_files(model)["eval"])[:n]
    result = run_hil(
        HilJob(
            plan=plan,
            board=board,
            x=[x],
            model_path=model_files(model)["model"],
            work_dir=tmp_path,
            max_drop_pp=100.0,
            progress=False,
        )
    )
    assert not result.mismatches and not result.failures, result.summary()
    assert result.bit_exact == n
