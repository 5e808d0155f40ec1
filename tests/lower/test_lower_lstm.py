"""ONNX LSTM end to end (the GRU tests, tests/lower/test_lower_gru.py, reuse the check_* helpers):
load -> normalize (float equal to onnxruntime) -> calibrate -> lower ->
simulate bit-exact against the numpy plan interpreter (fixpoint.reference.lstm), close to float,
and bit-exact through `hil` on the host and emulated boards (FIXPOINT_TEST_BOARDS, default host,
mps2-an386, riscv32-virt). Unsupported LSTM forms are one-line errors naming the problem."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import jsonschema
import numpy as np
import onnxruntime as ort
import pytest

from fixpoint.boards import list_boards, load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.frontend.errors import UnsupportedOpError
from fixpoint.hil import HilJob, run_hil
from fixpoint.normalize.float_exec import run_normalized
from fixpoint.pipeline import CalibrationJob, load_graph, run_calibration
from fixpoint.plan import PLAN_FORMAT_VERSION, load_plan, save_plan
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from lstm_models import build_lstm_model, sequences  # noqa: E402
from sim_numpy_interp import interpret  # noqa: E402

DEFAULT_BOARDS = "host,mps2-an386,riscv32-virt"
# (steps, inputs, hidden, classes, direction): a classifier over the last h, reversed, a long
# sequence, and both directions (two passes and a concat). Every step's h as the output
# (output_sequence 1) is covered by tests/runtime/test_lstm.py.
MODELS = {
    "last": (12, 3, 5, 4, "forward"),
    "reverse": (10, 4, 3, 3, "reverse"),
    "long": (120, 2, 4, 3, "forward"),
    "bidirectional": (9, 3, 4, 3, "bidirectional"),
}
MIN_SQNR_DB = 25.0


def _boards() -> list[str]:
    wanted = os.environ.get("FIXPOINT_TEST_BOARDS", DEFAULT_BOARDS)
    names = list_boards() if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    return [n for n in names if load_board(n).kind != "hardware"]


def calibrator(root: Path, cell: str):
    """get(model, board) -> CalibrationOutputs of MODELS[model] with an LSTM or GRU ``cell``, once each."""
    cache: dict = {}

    def get(name: str, board: str = "host"):
        if (name, board) not in cache:
            steps, n_in, hidden, classes, direction = MODELS[name]
            folder = root / name
            folder.mkdir(exist_ok=True)
            model = folder / "model.onnx"
            if not model.exists():
                build_lstm_model(model, steps, n_in, hidden, classes, direction, seed=len(name), cell=cell)
                np.savez(folder / "calib.npz", x=sequences(48, steps, n_in, seed=1))
            job = CalibrationJob(
                model_path=model,
                data_path=folder / "calib.npz",
                profile=load_board(board).requant_profile(),
                calibration=CalibrationConfig(progress=False),
                board_name=board,
            )
            cache[(name, board)] = run_calibration(job, folder / board)
        return cache[(name, board)]

    return get


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    return calibrator(tmp_path_factory.mktemp("lstm_models"), "LSTM")


def _float(model: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {"x": x[i : i + 1]})[0] for i in range(len(x))])


def check_normalized_matches_onnxruntime(name: str, calibrated, op: str) -> None:
    outputs = calibrated(name)
    assert op in [n.op for n in outputs.graph.nodes]
    steps, n_in = MODELS[name][:2]
    x = sequences(3, steps, n_in, seed=5)
    want = _float(Path(outputs.graph.source_path), x)
    got = np.concatenate(
        [run_normalized(outputs.graph, {"x": x[i : i + 1]})["y"].reshape(want[:1].shape) for i in range(3)]
    )
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_normalized_lstm_matches_onnxruntime(name, calibrated):
    check_normalized_matches_onnxruntime(name, calibrated, "lstm")


def check_simulation(name: str, calibrated, op: str) -> None:
    """Bit-exact against the numpy plan interpreter and within MIN_SQNR_DB of float."""
    outputs = calibrated(name)
    plan = outputs.plan
    layer = next(layer for layer in plan.layers if layer.op == op)
    assert len(layer.params["input_scale"]) == (4 if op == "lstm" else 3)
    assert layer.arrays["sigmoid_lut"].shape == (513,)
    steps, n_in = MODELS[name][:2]
    x = sequences(12, steps, n_in, seed=2)
    xs = [quantize_input(plan, x, 0)]
    got = run_plan(plan, xs).outputs[0]
    want = interpret(plan, xs)[0][0]
    assert np.array_equal(got, want), (
        f"{name}: simulator and plan interpreter differ at {np.argwhere(got != want)[:5].tolist()}"
    )
    ref = _float(Path(outputs.graph.source_path), x)
    approx = dequantize(plan, plan.outputs[0], got).reshape(ref.shape)
    sqnr = 10 * np.log10(np.sum(ref**2) / max(np.sum((ref - approx) ** 2), 1e-30))
    assert sqnr >= MIN_SQNR_DB, f"{name}: SQNR {sqnr:.1f} dB"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_simulation_bit_exact_and_close_to_float(name, calibrated):
    check_simulation(name, calibrated, "lstm")


def test_plan_and_ctable_carry_the_per_gate_params(calibrated, tmp_path):
    outputs = calibrated("last")
    plan = load_plan(save_plan(outputs.plan, tmp_path / "m.fxplan"))
    assert plan.version == PLAN_FORMAT_VERSION == 3
    lstm = next(layer for layer in plan.layers if layer.op == "lstm")
    assert lstm.params == next(layer for layer in outputs.plan.layers if layer.op == "lstm").params
    assert len(lstm.params["recurrent_scale"]) == 4 and 0 <= lstm.params["cell_frac_bits"] <= 15
    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "ctable.schema.json").read_text())
    ctable = outputs.ctable
    jsonschema.validate(ctable, schema)
    entry = next(layer for layer in ctable["layers"] if layer["op"] == "lstm")
    assert {f"input_{g}" for g in "iofc"} | {f"recurrent_{g}" for g in "iofc"} <= set(entry["scale_errors"])
    assert entry["recurrent"]["gates"] == ["i", "o", "f", "c"] and len(entry["recurrent"]["input_weight_scales"]) == 4
    assert entry["recurrent"]["cell_scale"] == 2.0 ** -lstm.params["cell_frac_bits"]


def check_on_board(board: str, calibrated, tmp_path: Path) -> None:
    outputs = calibrated("last", board)
    x = sequences(6, *MODELS["last"][:2], seed=3)
    result = run_hil(
        HilJob(
            plan=outputs.plan,
            board=board,
            x=[x],
            model_path=outputs.graph.source_path,
            work_dir=tmp_path,
            max_drop_pp=100.0,
            progress=False,
        )
    )
    assert not result.mismatches and not result.failures, result.summary()
    assert result.bit_exact == len(x)


@pytest.mark.parametrize("board", _boards())
def test_bit_exact_on_board(board, calibrated, tmp_path):
    check_on_board(board, calibrated, tmp_path)


@pytest.mark.parametrize(
    "change, says",
    [
        ({"direction": "bidirectional"}, "directions"),
        ({"clip": 3.0}, "clip"),
        ({"input_forget": 1}, "input_forget"),
        ({"classes": 0}, "only Y_h"),
    ],
)
def test_unsupported_lstm_forms_name_the_problem(tmp_path, change, says):
    import onnx

    path = build_lstm_model(tmp_path / "m.onnx", 4, 2, 3, change.pop("classes", 2))
    model = onnx.load(path)
    node = next(n for n in model.graph.node if n.op_type == "LSTM")
    for key, value in change.items():
        node.attribute.append(onnx.helper.make_attribute(key, value))
    if change.get("direction") == "bidirectional":
        for init in model.graph.initializer:  # two directions' weights so the model stays valid
            if init.name in ("W", "R", "B"):
                arr = onnx.numpy_helper.to_array(init)
                init.CopyFrom(onnx.numpy_helper.from_array(np.concatenate([arr, arr]), init.name))
        del node.attribute[:]
        node.attribute.extend(
            [onnx.helper.make_attribute("hidden_size", 3), onnx.helper.make_attribute("direction", "bidirectional")]
        )
    onnx.save(model, path)
    with pytest.raises(UnsupportedOpError, match=says):
        load_graph(path)
