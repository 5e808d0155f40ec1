"""Compute-op models (reduce, ...) end to end: ONNX -> calibrate (CLI) -> simulate bit-exact against
the numpy plan interpreter (tests/sim/sim_numpy_interp.py) -> `hil` bit-exact on the host and
emulated boards (FIXPOINT_TEST_BOARDS), with the CLI's .npz data."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from fixpoint.boards import list_boards, load_board
from fixpoint.iospec import plan_input_specs, plan_output_names
from fixpoint.plan import load_plan
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

from compute_models import MODELS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hil"))
from sim_numpy_interp import interpret  # noqa: E402
from hil_examples import DEFAULT_BOARDS  # noqa: E402


def _boards() -> list[str]:
    wanted = os.environ.get("FIXPOINT_TEST_BOARDS", DEFAULT_BOARDS)
    names = list_boards() if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    return [n for n in names if load_board(n).kind != "hardware"]


def _inputs(path: Path, plan) -> list[np.ndarray]:
    with np.load(path) as data:
        return [data[name] for name, _ in plan_input_specs(plan)]


OPTIONS = {
    "s8": (),
    "s16": ("--activation-bits", "16"),
    "s4": ("--weight-bits", "4"),
    "refined": ("--equalize", "--bias-correction", "--adaptive-rounding"),
}


@pytest.mark.parametrize("options", sorted(OPTIONS))
@pytest.mark.parametrize("model", sorted(MODELS))
def test_simulation_is_bit_exact_with_the_numpy_interpreter(model, options, model_files, plan_for) -> None:
    plan = load_plan(plan_for(model, "host", *OPTIONS[options]))
    ints = [quantize_input(plan, a, k) for k, a in enumerate(_inputs(model_files(model)["eval"], plan))]
    got = run_plan(plan, ints).outputs
    want, _ = interpret(plan, ints)
    for k, (g, w) in enumerate(zip(got, want)):
        assert np.array_equal(np.asarray(g).reshape(w.shape), w), plan_output_names(plan)[k]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_integer_outputs_follow_onnxruntime(model, model_files, plan_for) -> None:
    """Not a bit-exactness check: the integer model tracks the float one (SQNR per output)."""
    files = model_files(model)
    plan = load_plan(plan_for(model, "host"))
    x = _inputs(files["eval"], plan)
    names = plan_output_names(plan)
    session = ort.InferenceSession(str(files["model"]), providers=["CPUExecutionProvider"])
    floats = session.run(names, {name: a for (name, _), a in zip(plan_input_specs(plan), x)})
    sim = run_plan(plan, [quantize_input(plan, a, k) for k, a in enumerate(x)]).outputs
    for k, f in enumerate(floats):
        q = dequantize(plan, plan.outputs[k], sim[k]).reshape(f.shape)
        sqnr = 10 * np.log10(np.sum(f.astype(np.float64) ** 2) / max(np.sum((f - q) ** 2), 1e-30))
        assert sqnr > 20, f"{names[k]}: {sqnr:.1f} dB"


@pytest.mark.parametrize("model", sorted(MODELS))
def test_simulate_cli_writes_the_onnx_shapes(model, model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    plan_path = plan_for(model, "host")
    plan = load_plan(plan_path)
    out = tmp_path / "sim.npz"
    proc = fixpoint_cli("-q", "simulate", "--plan", plan_path, "--data", model_files(model)["eval"], "-o", out)
    assert proc.returncode == 0, proc.stderr
    x = _inputs(model_files(model)["eval"], plan)
    want = run_plan(plan, [quantize_input(plan, a, k) for k, a in enumerate(x)]).outputs
    names = plan_output_names(plan)
    with np.load(out) as got:
        keys = ["output_int"] if len(names) == 1 else [f"output_int/{n}" for n in names]
        for key, w in zip(keys, want):
            assert np.array_equal(got[key].reshape(np.shape(w)), w), key


@pytest.mark.parametrize("board", _boards())
@pytest.mark.parametrize("model", sorted(MODELS))
def test_hil_is_bit_exact_on_every_board(model, board, model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    js = tmp_path / "hil.json"
    n = "48" if board == "host" else "12"
    proc = fixpoint_cli(
        "-q",
        "hil",
        "--board",
        board,
        "--plan",
        plan_for(model, board),
        "--data",
        model_files(model)["eval"],
        "--model",
        model_files(model)["model"],
        "--json",
        js,
        "--work-dir",
        tmp_path / "work",
        "--max-drop",
        "100",
        "--samples",
        n,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(js.read_text())
    assert result["bit_exact"] == result["n_samples"] == int(n) and result["passed"], result


def test_eval_cli_on_rank_3_data(model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    js = tmp_path / "eval.json"
    proc = fixpoint_cli(
        "-q",
        "eval",
        model_files("tcn")["model"],
        "--plan",
        plan_for("tcn", "host"),
        "--data",
        model_files("tcn")["eval"],
        "--json",
        js,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(js.read_text())
    assert result["n_samples"] == 48 and result["agreement"] is not None


def test_codegen_cli_on_a_rank_3_plan(plan_for, fixpoint_cli, tmp_path) -> None:
    proc = fixpoint_cli("-q", "codegen", "--plan", plan_for("tcn", "host"), "-o", tmp_path / "c")
    assert proc.returncode == 0, proc.stderr
    header = next((tmp_path / "c").glob("*_model.h")).read_text()
    assert "ONNX layout NCL" in header


def _one_error(proc, *fragments: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in proc.stderr, proc.stderr
    assert all(f in lines[0] for f in fragments), lines[0]


def test_rank_3_data_in_the_wrong_layout_is_one_error(model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((4, 32, 4), np.float32))  # (N, L, C) instead of (N, C, L)
    proc = fixpoint_cli("-q", "simulate", "--plan", plan_for("tcn", "host"), "--data", bad, "-o", tmp_path / "o.npz")
    _one_error(proc, "x")


def test_unsupported_conv_transpose_is_one_error(fixpoint_cli, tmp_path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 1, 3, 3), np.float32), "w")
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", group=3, strides=[2, 2])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 9, 9])],
        [w],
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    data = tmp_path / "d.npz"
    np.savez(data, x=np.zeros((4, 4, 4, 4), np.float32))
    proc = fixpoint_cli("-q", "calibrate", path, "--data", data, "-o", tmp_path / "p")
    _one_error(proc, "up (ConvTranspose)", "group=3 with 4 input channels")


@pytest.mark.parametrize(
    "attrs, fragment",
    [
        ({"auto_pad": "SAME_UPPER", "pads": [1, 1, 1, 1]}, "pads [1, 1, 1, 1] together with auto_pad=SAME_UPPER"),
        ({"output_shape": [9, 9], "pads": [1, 1, 0, 0]}, "pads [1, 1, 0, 0] together with output_shape"),
        ({"output_shape": [9, 9, 9]}, "output_shape=[9, 9, 9]"),
        ({"auto_pad": "SAME"}, "auto_pad=SAME"),
    ],
)
def test_conv_transpose_padding_problems_are_one_error(attrs, fragment, fixpoint_cli, tmp_path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 2, 3, 3), np.float32), "w")
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", strides=[2, 2], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2, "h", "w"])],
        [w],
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    data = tmp_path / "d.npz"
    np.savez(data, x=np.zeros((4, 4, 4, 4), np.float32))
    proc = fixpoint_cli("-q", "calibrate", path, "--data", data, "-o", tmp_path / "p")
    _one_error(proc, "up (ConvTranspose)", fragment)
