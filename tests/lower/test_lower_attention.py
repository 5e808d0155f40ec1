"""batch_matmul and layer_norm from real ONNX models: normalization (MatMul of two activations,
LayerNormalization, the decomposed pattern), lowering, the simulator bit-exact against the numpy
plan interpreter, and the integer outputs close to onnxruntime's float ones (SQNR floors)."""

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
from fixpoint.hil import HilJob, run_hil
from fixpoint.calibrate.tensor_bits import choose_tensor_bits
from fixpoint.lower import LowerOptions
from fixpoint.mixed.search import quant_16
from fixpoint.pipeline import CalibrationJob, load_stats, run_calibration
from fixpoint.plan import load_plan, save_plan
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from attention_models import D, MODELS, write_data  # noqa: E402
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
    if model.startswith("gelu"):  # each GELU / Erf one table, decomposed or not
        # the rank-3 projection by a constant: fully_connected over the rows, its bias Add fused
        assert ops == ["fully_connected", "lut", "lut", "lut"], ops
    else:
        assert ("batch_matmul" in ops) or ("layer_norm" in ops), ops


def test_decomposed_patterns_become_one_layer_norm(calibrated):
    for name in ("ln_decomposed_pow", "ln_decomposed_mul"):
        plan = calibrated(name)[0].plan
        assert [layer.op for layer in plan.layers] == ["layer_norm"], name
        assert plan.layers[0].source_nodes[0] == "ln_mean"
        assert "ln_div" in plan.layers[0].source_nodes and "ln_beta" in plan.layers[0].source_nodes


def test_attention_block_layers(calibrated):
    plan = calibrated("attention_block")[0].plan
    ops = [layer.op for layer in plan.layers]
    assert ops.count("batch_matmul") == 2 and ops[-1] == "layer_norm", ops
    # the rank-3 projections by a constant: fully_connected over the rows (weights [out, in])
    projections = [layer for layer in plan.layers if layer.op == "fully_connected"]
    assert len(projections) == 4 and all(layer.arrays["weights"].shape == (D, D) for layer in projections)


def test_rank3_attention_lowers_to_strided_matmuls_without_copies(calibrated):
    plan = calibrated("scores_rank3")[0].plan
    ops = [layer.op for layer in plan.layers]
    # rank 3 stays row-major: the softmax reads rows of the last axis through two copies
    assert ops == ["batch_matmul", "copy", "softmax", "copy", "batch_matmul", "layer_norm"], ops
    assert plan.layers[0].source_nodes == ["qk", "kt"]  # the Transpose folded into the strides
    plan = calibrated("heads_rank4")[0].plan
    assert [layer.op for layer in plan.layers] == ["batch_matmul", "depthwise_conv2d", "softmax", "batch_matmul"]


def _boards() -> list[str]:
    """host and the Cortex-M4 QEMU board by default; FIXPOINT_TEST_BOARDS=all: every runnable board."""
    wanted = os.environ.get("FIXPOINT_TEST_BOARDS", "host,mps2-an386")
    names = list_boards() if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    return [n for n in names if load_board(n).kind != "hardware"]


@pytest.mark.parametrize("board", _boards())
def test_attention_block_bit_exact_on_board(board, calibrated, tmp_path):
    outputs, data = calibrated("attention_block", board)
    with np.load(data) as f:
        x = f["x"][:4]
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
    assert result.bit_exact == 4


def test_calibration_chooses_int8_or_int16_per_tensor_with_a_reason(calibrated):
    plan = calibrated("attention_block")[0].plan
    info = plan.meta["tensor_precision"]
    by_layer = {c["layer"]: c for c in info["tensors"]}
    assert {"ln", "qk", "softmax"} <= set(by_layer), sorted(by_layer)
    for choice in info["tensors"]:
        assert choice["reason"].startswith(f"{choice['layer']} out int{choice['bits']}")
        assert choice["sqnr16"] is None or choice["bits"] == 8 or choice["sqnr16"] > choice["sqnr8"]
        if choice["bits"] == 16:
            assert choice["sqnr8"] < info["threshold_db"] and "<" in choice["reason"]
    assert all(c["sqnr16"] > c["sqnr8"] for c in info["tensors"] if c["sqnr16"] is not None)
    assert "tensor_precision" not in calibrated("attention_block", "host", 16)[0].plan.meta


def test_int8_below_the_threshold_picks_int16_and_says_why(calibrated):
    outputs, data = calibrated("attention_block")
    calib = load_stats(outputs.out_dir)
    with np.load(data) as f:
        samples = [f["x"][:6]]
    quant16 = quant_16(outputs.graph, calib, CalibrationConfig(progress=False, bits=8))
    choices = choose_tensor_bits(
        outputs.graph,
        calib.quant,
        quant16,
        load_board("host").requant_profile(),
        LowerOptions(),
        samples,
        threshold_db=40.0,  # between the LN output's int8 (~32 dB) and int16 (~46 dB) SQNR (projections: FC)
    )
    ln = next(c for c in choices if c.layer == "ln")
    assert ln.bits == 16 and ln.sqnr8 < 40 < ln.sqnr16
    assert ln.reason == f"ln out int16: int8 SQNR {ln.sqnr8:.1f} dB < 40 (int16 {ln.sqnr16:.1f} dB)"
    strict = choose_tensor_bits(
        outputs.graph,
        calib.quant,
        quant16,
        load_board("host").requant_profile(),
        LowerOptions(),
        samples,
        threshold_db=60.0,
        margin_db=200.0,
    )
    assert all(c.bits == 8 and "gains only" in c.reason for c in strict)


def test_weight_refinements_on_an_attention_model(calibrated, tmp_path):
    """The int8 / int16 measurement lowers plain plans; the user's AdaRound and bias correction then refine the
    chosen plan (they once failed with "need samples", which the measurement did not pass)."""
    _, data = calibrated("attention_block")
    job = CalibrationJob(
        model_path=data.parent / "model.onnx",
        data_path=data.parent / "calib.npz",
        profile=load_board("host").requant_profile(),
        calibration=CalibrationConfig(progress=False),
        lowering=LowerOptions(adaptive_rounding=True, bias_correction=True),
        board_name="host",
    )
    plan = run_calibration(job, tmp_path / "refined").plan
    assert "tensor_precision" in plan.meta
    refined = plan.meta["lowering"]["layers"]
    assert any("adaptive_rounding" in refined[la.name]["refinements"] for la in plan.layers if la.name in refined)


def test_plan_and_ctable_carry_the_new_layers(calibrated, tmp_path):
    outputs = calibrated("attention_block")[0]
    plan = load_plan(save_plan(outputs.plan, tmp_path / "m.fxplan"))
    for got, want in zip(plan.layers, outputs.plan.layers):
        assert got.op == want.op and got.params == want.params
        assert sorted(got.arrays) == sorted(want.arrays)
        assert all(np.array_equal(got.arrays[k], want.arrays[k]) for k in got.arrays)
    ln = next(layer for layer in plan.layers if layer.op == "layer_norm")
    assert ln.arrays["gamma"].dtype == np.int16 and ln.arrays["beta"].dtype == np.int64
    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "ctable.schema.json").read_text())
    jsonschema.validate(outputs.ctable, schema)
    assert {"batch_matmul", "layer_norm"} <= {layer["op"] for layer in outputs.ctable["layers"]}
