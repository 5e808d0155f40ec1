"""batch_matmul and layer_norm from real ONNX models: normalization (MatMul of two activations,
LayerNormalization, the decomposed pattern), lowering, the simulator bit-exact against the numpy
plan interpreter, and the integer outputs close to onnxruntime's float ones (SQNR floors)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from fixpoint.boards import load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.pipeline import CalibrationJob, run_calibration
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from attention_models import MODELS, write_data  # noqa: E402
from sim_numpy_interp import interpret  # noqa: E402

MIN_SQNR = {8: 20.0, 16: 45.0}


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """calibrated(model, board, bits) -> (CalibrationOutputs, eval data path), once per triple."""
    root = tmp_path_factory.mktemp("attention_models")
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
                write_data(folder / "calib.npz", shapes, 48, seed=1)
                write_data(folder / "eval.npz", shapes, 16, seed=2)
            job = CalibrationJob(
                model_path=model,
                data_path=folder / "calib.npz",
                profile=load_board(board).requant_profile(),
                calibration=CalibrationConfig(progress=False, bits=bits),
                board_name=board,
            )
            cache[key] = (run_calibration(job, folder / f"{board}-{bits}"), folder / "eval.npz")
        return cache[key]

    return get


def _sqnr(ref: np.ndarray, got: np.ndarray) -> float:
    noise = float(np.sum((ref - got) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(ref**2)) / noise)


def _check(name: str, bits: int, calibrated) -> list[str]:
    outputs, data = calibrated(name, "host", bits)
    plan = outputs.plan
    with np.load(data) as f:
        feeds = {n: f[n] for n in MODELS[name][1]}
    xs = [quantize_input(plan, feeds[n], i) for i, n in enumerate(feeds)]
    got = run_plan(plan, xs).outputs
    want, _ = interpret(plan, xs)
    for g, w in zip(got, want):
        assert np.array_equal(g, w), f"{name} s{bits}: simulator and plan interpreter differ"
    session = ort.InferenceSession(str(outputs.graph.source_path), providers=["CPUExecutionProvider"])
    for k, ref in enumerate(session.run(None, feeds)):
        approx = dequantize(plan, plan.outputs[k], got[k])
        assert _sqnr(ref, approx) >= MIN_SQNR[bits], f"{name} s{bits}: SQNR {_sqnr(ref, approx):.1f} dB"
    return [layer.op for layer in plan.layers]


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_bit_exact_and_close_to_float(model, bits, calibrated):
    ops = _check(model, bits, calibrated)
    assert ("batch_matmul" in ops) or ("layer_norm" in ops), ops


def test_decomposed_patterns_become_one_layer_norm(calibrated):
    for name in ("ln_decomposed_pow", "ln_decomposed_mul"):
        plan = calibrated(name)[0].plan
        assert [layer.op for layer in plan.layers] == ["layer_norm"], name
        assert plan.layers[0].source_nodes[0] == "ln_mean"
        assert "ln_div" in plan.layers[0].source_nodes and "ln_beta" in plan.layers[0].source_nodes


def test_rank3_attention_lowers_to_strided_matmuls_without_copies(calibrated):
    plan = calibrated("scores_rank3")[0].plan
    ops = [layer.op for layer in plan.layers]
    assert ops == ["batch_matmul", "softmax", "batch_matmul", "layer_norm"], ops
    assert plan.layers[0].source_nodes == ["qk", "kt"]  # the Transpose folded into the strides
    plan = calibrated("heads_rank4")[0].plan
    assert [layer.op for layer in plan.layers] == ["batch_matmul", "depthwise_conv2d", "softmax", "batch_matmul"]
