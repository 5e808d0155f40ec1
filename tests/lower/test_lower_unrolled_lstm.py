"""An LSTM unrolled into ordinary ops (the form some PyTorch exports give: per step a Gather of the
step, MatMul / Add for the gates, Split, Sigmoid / Tanh, Mul / Add for the cell) loads, calibrates
and simulates bit-exact against the numpy plan interpreter, close to float, without the lstm op."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from fixpoint.calibrate import CalibrationConfig
from fixpoint.pipeline import CalibrationJob, run_calibration
from fixpoint.plan import RequantProfile
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from lstm_models import sequences  # noqa: E402
from sim_numpy_interp import interpret  # noqa: E402

STEPS, N_IN, HIDDEN, CLASSES = 5, 3, 4, 3


def _const(inits: list, name: str, value: np.ndarray) -> str:
    inits.append(
        numpy_helper.from_array(np.asarray(value, np.float32 if value.dtype.kind == "f" else value.dtype), name)
    )
    return name


def _step(nodes: list, inits: list, t: int, h: str | None, c: str | None) -> tuple[str, str]:
    """One unrolled step: gates = x_t W + h R + b, split i, o, f, g; c = f c + i g; h = o tanh(c)."""
    idx = _const(inits, f"t{t}", np.array(t, np.int64))
    nodes.append(helper.make_node("Gather", ["x", idx], [f"x{t}"], axis=1, name=f"gather{t}"))
    nodes.append(helper.make_node("MatMul", [f"x{t}", "Wt"], [f"xw{t}"], name=f"xw{t}"))
    gates = f"xw{t}"
    if h is not None:
        nodes.append(helper.make_node("MatMul", [h, "Rt"], [f"hr{t}"], name=f"hr{t}"))
        nodes.append(helper.make_node("Add", [gates, f"hr{t}"], [f"sum{t}"], name=f"sum{t}"))
        gates = f"sum{t}"
    nodes.append(helper.make_node("Add", [gates, "b"], [f"gates{t}"], name=f"bias{t}"))
    parts = [f"{g}{t}" for g in "iofg"]
    nodes.append(helper.make_node("Split", [f"gates{t}", "split4"], parts, axis=1, name=f"split{t}"))
    for g in "iof":
        nodes.append(helper.make_node("Sigmoid", [f"{g}{t}"], [f"s{g}{t}"], name=f"sig_{g}{t}"))
    nodes.append(helper.make_node("Tanh", [f"g{t}"], [f"tg{t}"], name=f"tanh_g{t}"))
    nodes.append(helper.make_node("Mul", [f"si{t}", f"tg{t}"], [f"ig{t}"], name=f"ig{t}"))
    cell = f"ig{t}"
    if c is not None:
        nodes.append(helper.make_node("Mul", [f"sf{t}", c], [f"fc{t}"], name=f"fc{t}"))
        nodes.append(helper.make_node("Add", [f"fc{t}", f"ig{t}"], [f"c{t}"], name=f"c{t}"))
        cell = f"c{t}"
    nodes.append(helper.make_node("Tanh", [cell], [f"tc{t}"], name=f"tanh_c{t}"))
    nodes.append(helper.make_node("Mul", [f"so{t}", f"tc{t}"], [f"h{t}"], name=f"h{t}"))
    return f"h{t}", cell


def _model(path: Path) -> Path:
    rng = np.random.default_rng(9)
    inits: list = []
    _const(inits, "Wt", rng.normal(0, 0.5, (N_IN, 4 * HIDDEN)))
    _const(inits, "Rt", rng.normal(0, 0.5, (HIDDEN, 4 * HIDDEN)))
    _const(inits, "b", rng.normal(0, 0.2, 4 * HIDDEN))
    _const(inits, "split4", np.full(4, HIDDEN, np.int64))
    _const(inits, "fc_w", rng.normal(0, 0.7, (HIDDEN, CLASSES)))
    nodes: list = []
    h = c = None
    for t in range(STEPS):
        h, c = _step(nodes, inits, t, h, c)
    nodes.append(helper.make_node("MatMul", [h, "fc_w"], ["y"], name="classifier"))
    graph = helper.make_graph(
        nodes,
        "unrolled_lstm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, STEPS, N_IN])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, CLASSES])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def test_unrolled_lstm_runs_through_ordinary_ops(tmp_path):
    model = _model(tmp_path / "m.onnx")
    np.savez(tmp_path / "calib.npz", x=sequences(48, STEPS, N_IN, seed=1))
    out = run_calibration(
        CalibrationJob(
            model_path=model,
            data_path=tmp_path / "calib.npz",
            profile=RequantProfile(),
            calibration=CalibrationConfig(progress=False),
            board_name="host",
        ),
        tmp_path / "out",
    )
    ops = {layer.op for layer in out.plan.layers}
    assert "lstm" not in ops and {"fully_connected", "lut", "mul", "add"} <= ops
    x = sequences(12, STEPS, N_IN, seed=2)
    xs = [quantize_input(out.plan, x, 0)]
    got = run_plan(out.plan, xs).outputs[0]
    want = interpret(out.plan, xs)[0][0]
    assert np.array_equal(got, want), np.argwhere(got != want)[:5].tolist()
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    ref = np.concatenate([session.run(None, {"x": x[i : i + 1]})[0] for i in range(len(x))])
    approx = dequantize(out.plan, out.plan.outputs[0], got).reshape(ref.shape)
    sqnr = 10 * np.log10(np.sum(ref**2) / np.sum((ref - approx) ** 2))
    assert sqnr >= 20.0, f"SQNR {sqnr:.1f} dB"
