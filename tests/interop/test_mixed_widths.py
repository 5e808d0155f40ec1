"""Mixed 8/16-bit plans through QDQ and AIMET: a plan with int16 layers exports as a QDQ model whose requantized
copies are second Q/DQ pairs of the other width, onnxruntime runs it, and its re-import lowers the same layers
at the same widths with identical integers; AIMET encodings (one per tensor) refuse it with one line; a QDQ
model onnxruntime's quantizer made with int16 tensors (TensorQuantOverrides, ``convert``) imports into a plan
of those per-layer widths; what still cannot be expressed is one error line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from fixpoint_cli import assert_one_error_line, run_fixpoint
from onnx import TensorProto, helper, numpy_helper

from fixpoint.calibrate import CalibrationConfig
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import CalibrationJob, run_calibration
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

from test_export_roundtrip import _assert_same_integers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lower"))
from attention_models import MODELS, model_folder, write_data  # noqa: E402
from lstm_models import build_lstm_model  # noqa: E402

# the widths test's choice (tests/lower/test_lower_widths.py): every kind of boundary -- the int8 graph input
# read at int16, k requantized up, qk's scores down, the residual up and ln's int16 output back to int8
WIDTHS = {"q_matmul": 16, "qk": 16, "ln": 16}
ZOO = Path(__file__).resolve().parents[2] / "examples" / "zoo"
COPIES = {"x": "int16", "k": "int16", "scores": "int8", "res": "int16", "y": "int8"}


def _sqnr(ref: np.ndarray, x: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum((ref - x).astype(np.float64) ** 2)))


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    """(folder, mixed-width plan outputs) of the attention block."""
    folder = model_folder(tmp_path_factory.mktemp("qdqmix"), "attention_block", evals=32)
    out = run_calibration(_job(folder / "model.onnx", folder, LowerOptions(activation_bits_overrides=WIDTHS)), folder)
    return folder, out


def _job(model: Path, folder: Path, lowering: LowerOptions | None = None) -> CalibrationJob:
    job = CalibrationJob.for_board(model, folder / "calib.npz", "host")
    if lowering is not None:
        job.lowering = lowering
    return job


def _export(plan_path: Path, model: Path, fmt: str, out: Path):
    return run_fixpoint("-q", "export", "--plan", plan_path, "--model", model, "--format", fmt, "-o", out)


def _pairs(model: onnx.ModelProto) -> dict[str, list[int]]:
    """Activation -> the integer types of its QuantizeLinear chain (first its own, then the copy's)."""
    zero_points = {t.name: t.data_type for t in model.graph.initializer}
    chains: dict[str, list[int]] = {}
    for node in model.graph.node:
        if node.op_type == "QuantizeLinear":
            name = node.output[0].removesuffix("_QuantizeLinear_Output").split("@")[0]
            chains.setdefault(name, []).append(zero_points[node.input[2]])
    return chains


def test_mixed_plan_exports_qdq_that_runs_and_reimports_identically(block, tmp_path):
    folder, out = block
    plan = out.plan
    assert {t.name for t in plan.tensors if "@" in t.name} == {
        "x@int16",
        "k@int16",
        "scores@int8",
        "res@int16",
        "y@int16",
    }
    qdq = tmp_path / "mixed_qdq.onnx"
    assert _export(out.plan_path, folder / "model.onnx", "qdq", qdq).returncode == 0
    chains = _pairs(onnx.load(str(qdq)))
    i8, i16 = TensorProto.INT8, TensorProto.INT16
    for name, dtype in COPIES.items():  # the producer's pair, then the copy's of the other width
        assert chains[name] == ([i8, i16] if dtype == "int16" else [i16, i8]), (name, chains[name])
    assert chains["q"] == [i16] and chains["probs"] == [i8]

    # onnxruntime runs it with the plan's quantization: close to float and to the plan's own integers
    with np.load(folder / "eval.npz") as f:
        x = f["x"]
    got = ort.InferenceSession(str(qdq)).run(None, {"x": x})[0]
    want = ort.InferenceSession(str(folder / "model.onnx")).run(None, {"x": x})[0]
    sim = dequantize(plan, plan.outputs[0], run_plan(plan, [quantize_input(plan, x, 0)]).outputs[0]).reshape(got.shape)
    sqnr_float, sqnr_plan = _sqnr(want, got), _sqnr(sim, got)
    print(f"mixed attention block: onnxruntime QDQ vs float {sqnr_float:.1f} dB, vs plan {sqnr_plan:.1f} dB")
    assert sqnr_float > 25 and sqnr_plan > 35

    # re-import: the same layers at the same widths, identical integers, the copies' scales given
    again = run_calibration(_job(qdq, folder), tmp_path / "again")
    _assert_same_integers(plan, again.plan)
    assert [(t.name, t.dtype) for t in again.plan.tensors] == [(t.name, t.dtype) for t in plan.tensors]
    assert [(la.name, la.datapath) for la in again.plan.layers] == [(la.name, la.datapath) for la in plan.layers]
    given = json.loads((tmp_path / "again" / "ctable.json").read_text())["tensors"]
    copies = {t["name"]: t["given"] for t in given if "@" in t["name"] or t["name"] == "y"}
    assert copies["x@int16"]["type"] == "int16" and copies["y"]["type"] == "int8", copies
    assert all(g["scale_error"] == 0 for g in copies.values()), copies


def test_kw_transformer_layernorm_and_attention_at_int16(tmp_path):
    """The zoo's keyword transformer with its LayerNorms and attention MatMuls at int16: the exported QDQ model
    keeps float's top-1 in onnxruntime, and its re-import is the identical plan."""
    folder = ZOO / "kw_transformer"
    widths = {"*LayerNormalization": 16, "*/attn/MatMul": 16, "*/attn/MatMul_1": 16}
    job = CalibrationJob.for_board(folder / "model.onnx", folder / "calib.npz", "host")
    job.lowering = LowerOptions(activation_bits_overrides=widths)
    out = run_calibration(job, tmp_path / "plan")
    assert sum(la.datapath == "s16" and la.op != "requantize" for la in out.plan.layers) == 9
    qdq = tmp_path / "kwt_qdq.onnx"
    assert _export(out.plan_path, folder / "model.onnx", "qdq", qdq).returncode == 0
    with np.load(folder / "eval.npz") as f:
        x, labels = f["mfcc"][:200].astype(np.float32), f["label"][:200]
    exported, float_model = ort.InferenceSession(str(qdq)), ort.InferenceSession(str(folder / "model.onnx"))
    name = float_model.get_inputs()[0].name
    got = np.array([exported.run(None, {name: x[i : i + 1]})[0].argmax() for i in range(len(x))])
    want = np.array([float_model.run(None, {name: x[i : i + 1]})[0].argmax() for i in range(len(x))])
    assert (got == labels).mean() >= 0.95 and (got == want).mean() >= 0.95
    again = run_calibration(CalibrationJob.for_board(qdq, folder / "calib.npz", "host"), tmp_path / "again")
    _assert_same_integers(out.plan, again.plan)
    assert [(t.name, t.dtype) for t in again.plan.tensors] == [(t.name, t.dtype) for t in out.plan.tensors]


def test_int16_plan_with_int8_layers_round_trips(block, tmp_path):
    """The other direction: 16-bit graph I/O, the scale and ln layers at int8 (ln's int8 output requantized
    back to the int16 graph output): the export's pairs run int16 -> int8 -> int16, the re-import is identical."""
    folder, _ = block
    job = _job(folder / "model.onnx", folder, LowerOptions(activation_bits_overrides={"scale": 8, "ln": 8}))
    job.calibration = CalibrationConfig(progress=False, bits=16)
    out = run_calibration(job, tmp_path / "plan")
    assert [out.plan.tensors[i].dtype for i in [*out.plan.inputs, *out.plan.outputs]] == ["int16", "int16"]
    qdq = tmp_path / "rev_qdq.onnx"
    assert _export(out.plan_path, folder / "model.onnx", "qdq", qdq).returncode == 0
    i8, i16 = TensorProto.INT8, TensorProto.INT16
    chains = _pairs(onnx.load(str(qdq)))
    assert chains["x"] == [i16] and chains["scores"] == [i16, i8] and chains["y"] == [i8, i16], chains
    with np.load(folder / "eval.npz") as f:
        x = f["x"]
    got = ort.InferenceSession(str(qdq)).run(None, {"x": x})[0]
    assert _sqnr(ort.InferenceSession(str(folder / "model.onnx")).run(None, {"x": x})[0], got) > 30
    again = run_calibration(_job(qdq, folder), tmp_path / "again")
    _assert_same_integers(out.plan, again.plan)
    assert [(t.name, t.dtype) for t in again.plan.tensors] == [(t.name, t.dtype) for t in out.plan.tensors]


def test_mixed_plan_aimet_export_is_refused(block, tmp_path):
    folder, out = block
    enc = tmp_path / "enc.json"
    proc = _export(out.plan_path, folder / "model.onnx", "aimet", enc)
    assert_one_error_line(proc, "tensor 'x': the plan holds it at int8 and int16")
    assert not enc.exists()


def _ort_mixed(folder: Path, out: Path, overrides: dict | None = None) -> Path:
    """onnxruntime's own mixed model: int8 activations, q_matmul and qk at int16 through ``convert``
    (or the given ``TensorQuantOverrides``)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self, x: np.ndarray) -> None:
            self.batches = iter([{"x": x[i : i + 1]} for i in range(len(x))])

        def get_next(self):
            return next(self.batches, None)

    s16 = {"quant_type": QuantType.QInt16, "symmetric": True}
    default = {
        "x": [{"quant_type": QuantType.QInt8, "convert": {**s16, "recv_nodes": {"q_matmul"}}}],
        "q_mm": [s16],
        "q": [s16],
        "k": [{"quant_type": QuantType.QInt8, "convert": {**s16, "recv_nodes": {"kt"}}}],
        "kt": [s16],
        "scores": [{**s16, "convert": {"quant_type": QuantType.QInt8, "recv_nodes": {"scale"}}}],
    }
    overrides = overrides(QuantType, s16) if overrides is not None else default
    with np.load(folder / "calib.npz") as f:
        reader = Reader(f["x"])
    quantize_static(
        str(folder / "model.onnx"),
        str(out),
        reader,
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"TensorQuantOverrides": overrides},
    )
    return out


def test_onnxruntime_mixed_model_imports_with_its_widths(block, tmp_path):
    folder, _ = block
    qdq = _ort_mixed(folder, tmp_path / "ort_mixed.onnx")
    out = run_calibration(_job(qdq, folder), tmp_path / "plan")
    plan = out.plan
    wide = {la.name for la in plan.layers if la.datapath == "s16" and la.op != "requantize"}
    assert wide == {"q_matmul", "qk"}, wide
    assert {t.name: t.dtype for t in plan.tensors if "@" in t.name} == {
        "x@int16": "int16",
        "k@int16": "int16",
        "scores@int8": "int8",
    }
    # every copy has the scale the model's second QuantizeLinear gives
    scales = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(qdq)).graph.initializer}
    tensors = {t.name: t for t in plan.tensors}
    for copy, scale in (
        ("x@int16", "x_scale_convert"),
        ("k@int16", "k_scale_convert"),
        ("scores@int8", "scores_scale_convert"),
    ):
        assert np.float32(tensors[copy].scale) == scales[scale], copy
    assert tensors["q"].dtype == "int16" and np.float32(tensors["q"].scale) == scales["q_scale"]

    # the fidelity report: the plan against onnxruntime running the QDQ model
    report = tmp_path / "fidelity.json"
    proc = run_fixpoint("-q", "eval", qdq, "--plan", out.plan_path, "--data", folder / "eval.npz", "--json", report)
    assert proc.returncode == 0, proc.stderr
    print(proc.stdout)
    against = json.loads(report.read_text())["onnxruntime_qdq"]["outputs"][0]
    assert against["sqnr_db"] > 25, against


def test_a_node_reading_at_another_width_than_its_layer_is_reported(block, tmp_path, caplog):
    """x converted to int16 for q_matmul, whose output stays int8: a layer runs at one width, so the plan reads
    x at int8 there, and says so."""

    def overrides(qtype, s16):
        return {"x": [{"quant_type": qtype.QInt8, "convert": {**s16, "recv_nodes": {"q_matmul"}}}]}

    folder, _ = block
    qdq = _ort_mixed(folder, tmp_path / "ort_x16.onnx", overrides)
    with caplog.at_level("WARNING", logger="fixpoint.interop.given_job"):
        plan = run_calibration(_job(qdq, folder), tmp_path / "plan").plan
    assert {la.datapath for la in plan.layers} == {"s8"}
    warned = [r.getMessage() for r in caplog.records if r.name == "fixpoint.interop.given_job"]
    assert warned == [
        "tensor 'x': node 'q_matmul' reads it at 16 bits, but its layer 'q_matmul' runs at 8 bits (the width of "
        "its output); the plan reads it at 8 bits"
    ], warned


def _with_pair(model: onnx.ModelProto, tensor: str, scale: float, zero_point: np.ndarray, tag: str) -> None:
    """Insert QuantizeLinear/DequantizeLinear on ``tensor`` (after its current consumers' view of it)."""
    params = [f"{tag}_s", f"{tag}_zp"]
    model.graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(scale, np.float32), params[0]),
            numpy_helper.from_array(zero_point, params[1]),
        ]
    )
    for node in model.graph.node:
        node.input[:] = [f"{tag}_dq" if i == tensor else i for i in node.input]
    model.graph.node.extend(
        [
            helper.make_node("QuantizeLinear", [tensor, *params], [f"{tag}_q"]),
            helper.make_node("DequantizeLinear", [f"{tag}_q", *params], [f"{tag}_dq"]),
        ]
    )


def _sorted(model: onnx.ModelProto) -> onnx.ModelProto:
    from fixpoint.interop.export import _topological_sort

    _topological_sort(model.graph)
    return model


def test_16_bit_copy_with_a_zero_point_is_refused(block, tmp_path):
    folder, out = block
    qdq = tmp_path / "mixed_qdq.onnx"
    assert _export(out.plan_path, folder / "model.onnx", "qdq", qdq).returncode == 0
    model = onnx.load(str(qdq))
    for t in model.graph.initializer:
        if t.name == "res@int16_zero_point":
            t.CopyFrom(numpy_helper.from_array(np.array(5, np.int16), t.name))
    onnx.save(model, str(tmp_path / "bad.onnx"))
    proc = run_fixpoint("calibrate", tmp_path / "bad.onnx", "--data", folder / "calib.npz", "-o", tmp_path / "p")
    assert_one_error_line(proc, "tensor 'res': 16-bit activations need zero point 0")


def test_the_same_width_twice_is_refused(block, tmp_path):
    folder, _ = block
    model = onnx.load(str(folder / "model.onnx"))
    _with_pair(model, "res", 0.05, np.array(0, np.int8), "first")
    _with_pair(model, "first_dq", 0.04, np.array(0, np.int8), "second")
    onnx.save(_sorted(model), str(tmp_path / "twice.onnx"))
    proc = run_fixpoint("calibrate", tmp_path / "twice.onnx", "--data", folder / "calib.npz", "-o", tmp_path / "p")
    assert_one_error_line(proc, "tensor 'res': quantized twice at 8 bits")


def test_graph_inputs_of_two_widths_are_refused(tmp_path):
    build, shapes = MODELS["two_operands_rank3"]
    model = onnx.load(str(build(tmp_path / "model.onnx")))
    write_data(tmp_path / "calib.npz", shapes, 8, seed=1)
    _with_pair(model, "a", 0.01, np.array(0, np.int8), "a8")
    _with_pair(model, "b", 0.001, np.array(0, np.int16), "b16")
    onnx.save(_sorted(model), str(tmp_path / "inputs.onnx"))
    proc = run_fixpoint("calibrate", tmp_path / "inputs.onnx", "--data", tmp_path / "calib.npz", "-o", tmp_path / "p")
    assert_one_error_line(proc, "tensor 'b': graph inputs quantized with mixed widths [8, 16]")


def test_lstm_given_at_16_bits_is_refused(tmp_path):
    """lstm has only an s8 kernel: its output given at int16 in an int8 model names the layer."""
    model = onnx.load(str(build_lstm_model(tmp_path / "lstm.onnx", steps=6, n_in=4, hidden=8, classes=3)))
    np.savez(tmp_path / "calib.npz", x=np.random.default_rng(0).normal(size=(8, 6, 4)).astype(np.float32))
    _with_pair(model, "x", 0.02, np.array(0, np.int8), "x8")
    _with_pair(model, "Y_h", 0.0001, np.array(0, np.int16), "h16")
    onnx.save(_sorted(model), str(tmp_path / "lstm_qdq.onnx"))
    proc = run_fixpoint("calibrate", tmp_path / "lstm_qdq.onnx", "--data", tmp_path / "calib.npz", "-o", tmp_path / "p")
    assert_one_error_line(proc, "needs an s16 kernel")
