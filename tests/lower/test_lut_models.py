"""End to end: small real ONNX models with table functions ('lut'), PRelu ('prelu'), Min / Max
('minimum', 'maximum'), Sub and Div load -> calibrate -> simulate bit-exact against the numpy plan
interpreter (s8 and s16) and run bit-exact through `hil` on the host and emulated boards
(FIXPOINT_TEST_BOARDS, default host, mps2-an386, riscv32-virt). Bad uses of the new ops end with
exit code 2 and one `error:` line naming the node."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from fixpoint.boards import list_boards, load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.hil import HilJob, run_hil
from fixpoint.pipeline import CalibrationJob, run_calibration
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from lut_models import MODELS, write_data  # noqa: E402
from sim_numpy_interp import interpret  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BOARDS = "host,mps2-an386,riscv32-virt"
# float-vs-integer output SQNR floors (dB); the int16 datapath must be much closer, except for
# log(|x|) near 0: TFLite's int16 table interpolates it linearly over 128-value segments
MIN_SQNR = {8: 12.0, 16: 30.0}
MIN_SQNR_DOMAIN_16 = 15.0


def _boards() -> list[str]:
    wanted = os.environ.get("FIXPOINT_TEST_BOARDS", DEFAULT_BOARDS)
    names = list_boards() if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    return [n for n in names if load_board(n).kind != "hardware"]


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """calibrated(model, board, bits) -> (CalibrationOutputs, data path), once per triple."""
    root = tmp_path_factory.mktemp("lut_models")
    cache: dict = {}

    def get(name: str, board: str = "host", bits: int = 8):
        key = (name, board, bits)
        if key not in cache:
            build, shapes = MODELS[name]
            folder = root / name
            folder.mkdir(exist_ok=True)
            model = folder / "model.onnx"
            if not model.exists():
                build(model)
                write_data(folder / "calib.npz", shapes, 64, seed=1)
                write_data(folder / "eval.npz", shapes, 24, seed=2)
            profile = load_board(board).requant_profile()
            job = CalibrationJob(
                model_path=model,
                data_path=folder / "calib.npz",
                profile=profile,
                calibration=CalibrationConfig(progress=False, bits=bits),
                board_name=board,
            )
            cache[key] = (run_calibration(job, folder / f"{board}-{bits}"), folder / "eval.npz")
        return cache[key]

    return get


def _eval_inputs(name: str, data: Path) -> dict[str, np.ndarray]:
    with np.load(data) as f:
        return {n: f[n] for n in MODELS[name][1]}


def _sqnr(ref: np.ndarray, got: np.ndarray) -> float:
    noise = float(np.sum((ref - got) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(ref**2)) / noise)


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_simulation_bit_exact_and_close_to_float(model, bits, calibrated):
    outputs, data = calibrated(model, "host", bits)
    plan = outputs.plan
    feeds = _eval_inputs(model, data)
    xs = [quantize_input(plan, feeds[n], i) for i, n in enumerate(feeds)]
    got = run_plan(plan, xs).outputs
    want, _ = interpret(plan, xs)
    for g, w in zip(got, want):
        assert np.array_equal(g, w), f"{model} s{bits}: simulator and plan interpreter differ"
    session = ort.InferenceSession(str(outputs.graph.source_path), providers=["CPUExecutionProvider"])
    for k, ref in enumerate(session.run(None, feeds)):
        approx = dequantize(plan, plan.outputs[k], got[k])
        name = plan.tensors[plan.outputs[k]].name
        floor = MIN_SQNR_DOMAIN_16 if (model, bits) == ("unary_domain", 16) else MIN_SQNR[bits]
        assert _sqnr(ref, approx) >= floor, f"{model} s{bits} {name}: SQNR {_sqnr(ref, approx):.1f} dB"


def test_new_ops_reach_the_plan(calibrated):
    ops = {name: [layer.op for layer in calibrated(name)[0].plan.layers] for name in MODELS}
    assert all(ops[f"unary_{k}"] == ["conv2d"] + ["lut"] * 4 for k in "abcd")
    assert ops["prelu"] == ["conv2d", "prelu", "conv2d", "prelu"]
    assert ops["minmax"] == ["conv2d", "conv2d", "minimum", "maximum", "minimum", "maximum"]
    plan = calibrated("minmax")[0].plan
    const_layers = [layer for layer in plan.layers if layer.op in ("minimum", "maximum") and len(layer.inputs) == 1]
    assert [layer.arrays["weights"].shape for layer in const_layers] == [(1, 1, 1, 1), (1, 1, 1, 4)]


def test_silu_and_hardswish_fuse_into_one_lut_each(calibrated):
    plan = calibrated("silu_hardswish")[0].plan
    assert [layer.op for layer in plan.layers] == ["conv2d", "lut", "conv2d", "lut"]
    silu, hswish = plan.layers[1], plan.layers[3]
    assert silu.source_nodes[:2] == ["silu_mul", "sigmoid"]
    assert hswish.source_nodes[:2] == ["hardswish_mul", "hardsigmoid"]
    assert all(layer.arrays["table"].shape == (256,) for layer in (silu, hswish))


def test_decomposed_hardswish_fuses_to_one_lut_and_the_division(calibrated):
    plan = calibrated("torch_hardswish")[0].plan
    assert [layer.op for layer in plan.layers] == ["conv2d", "lut", "depthwise_conv2d"]
    assert plan.layers[1].source_nodes[:3] == ["times", "relu6", "plus3"]


@pytest.mark.parametrize("board", _boards())
@pytest.mark.parametrize("model", sorted(MODELS))
def test_bit_exact_on_board(model, board, calibrated, tmp_path):
    outputs, data = calibrated(model, board)
    feeds = _eval_inputs(model, data)
    n = 24 if board == "host" else 8
    result = run_hil(
        HilJob(
            plan=outputs.plan,
            board=board,
            x=[a[:n] for a in feeds.values()],
            model_path=outputs.graph.source_path,
            work_dir=tmp_path,
            max_drop_pp=100.0,
            progress=False,
        )
    )
    assert not result.mismatches and not result.failures, result.summary()
    assert result.bit_exact == n


def test_int16_plan_bit_exact_on_host_board(calibrated, tmp_path):
    outputs, data = calibrated("unary_a", "host", 16)
    feeds = _eval_inputs("unary_a", data)
    result = run_hil(
        HilJob(
            plan=outputs.plan,
            board="host",
            x=[a[:8] for a in feeds.values()],
            model_path=outputs.graph.source_path,
            work_dir=tmp_path,
            max_drop_pp=100.0,
            progress=False,
        )
    )
    assert not result.mismatches and not result.failures and result.bit_exact == 8, result.summary()


# ---- bad input: exit 2, one error line naming the node --------------------------------------------------


def _bad_model(path: Path, kind: str) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4, 6, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4, 6, 6])
    inputs, inits = [x], []
    if kind == "prelu_dynamic_slope":
        inputs.append(helper.make_tensor_value_info("s", TensorProto.FLOAT, [4, 1, 1]))
        node = helper.make_node("PRelu", ["x", "s"], ["y"], name="bad_prelu")
    elif kind == "prelu_spatial_slope":
        inits.append(numpy_helper.from_array(np.ones((4, 6, 6), np.float32), "s"))
        node = helper.make_node("PRelu", ["x", "s"], ["y"], name="bad_prelu")
    elif kind == "gelu_bad_approximate":
        node = helper.make_node("Gelu", ["x"], ["y"], name="bad_gelu", approximate="cubic")
    else:  # min of three operands
        inputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["n", 4, 6, 6]) for n in ("a", "b")]
        node = helper.make_node("Min", ["x", "a", "b"], ["y"], name="bad_min")
    graph = helper.make_graph([node], "bad", inputs, [y], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]), path)
    return path


@pytest.mark.parametrize(
    "kind,culprit",
    [
        ("prelu_dynamic_slope", "bad_prelu"),
        ("prelu_spatial_slope", "bad_prelu"),
        ("min_three", "bad_min"),
        ("gelu_bad_approximate", "bad_gelu"),
    ],
)
def test_bad_use_is_one_error_line(kind, culprit, tmp_path):
    model = _bad_model(tmp_path / "model.onnx", kind)
    data = write_data(tmp_path / "calib.npz", {"x": (4, 6, 6), "a": (4, 6, 6), "b": (4, 6, 6)}, 4, seed=0)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "sdk")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fixpoint.cli",
            "calibrate",
            str(model),
            "--data",
            str(data),
            "-o",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert culprit in lines[0], lines[0]
