"""QDQ in: models quantized by onnxruntime's quantize_static keep their scales, zero points and integer
weights in the plan, agree with onnxruntime's run of the same QDQ model and run bit-exactly on boards."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from fixpoint.hil import HilJob, run_hil

from qdq_models import against_ort_qdq, eval_set

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hil"))
from hil_examples import selected_boards  # noqa: E402

ALL = os.environ.get("FIXPOINT_TEST_BOARDS") == "all"  # `make test-all`
CASES = [
    ("mlp", False, "MinMax"),
    ("cnn_bn_res", True, "MinMax"),
    ("dwsep", True, "Entropy"),
    ("kws", False, "MinMax"),
] + ([("kws", False, "Entropy"), ("cnn_bn_res", False, "Entropy")] if ALL else [])
QAT_MODELS = ["mlp", "cnn_bn_res", "dwsep"]  # PyTorch QAT exports (qat_models.QAT_EXPORTS)


@pytest.mark.parametrize("model,per_channel,method", CASES)
def test_qdq_plan_agrees_with_onnxruntime(qdq_plan_for, model, per_channel, method):
    qdq, outputs = qdq_plan_for(model, per_channel, method)
    x, labels = eval_set(model)
    result = against_ort_qdq(qdq, outputs, x, labels)
    out = result.outputs[0]
    assert out.agreement >= 0.99, (model, out.agreement)
    assert abs(out.int_top1 - out.float_top1) <= 0.01
    assert result.per_layer and min(e.sqnr_db for e in result.per_layer) > 20.0, [
        (e.name, e.sqnr_db) for e in result.per_layer
    ]


def _initializers(path) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


def test_given_integers_and_scales_are_kept(qdq_plan_for):
    qdq, outputs = qdq_plan_for("mlp", True, "MinMax")
    inits = _initializers(qdq)
    model = onnx.load(str(qdq))
    weighted = [layer for layer in outputs.plan.layers if "weights" in layer.arrays]
    assert len(weighted) == 3
    lowering = outputs.plan.meta["lowering"]["layers"]
    for layer in weighted:
        assert "given_weights" in lowering[layer.name]["refinements"], layer.name
        gemm = next(n for n in model.graph.node if n.name == layer.name)
        deq = {n.output[0]: n for n in model.graph.node if n.op_type == "DequantizeLinear"}
        w_int = inits[deq[gemm.input[1]].input[0]]
        b_int = inits[deq[gemm.input[2]].input[0]]
        np.testing.assert_array_equal(layer.arrays["weights"], w_int)  # Gemm transB=1: [out, in] as stored
        np.testing.assert_array_equal(layer.arrays["bias"], b_int)
    q_nodes = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
    by_name = {t.name: t for t in outputs.plan.tensors}
    for q in q_nodes:
        name = q.input[0] if q.input[0] in by_name else None
        if name is None:
            continue
        assert by_name[name].scale == pytest.approx(float(inits[q.input[1]]), rel=1e-7)
        assert by_name[name].zero_point == int(inits[q.input[2]]) - 128  # uint8 -> int8, same reals


def test_ctable_records_given_and_refined_scales(qdq_plan_for):
    _, outputs = qdq_plan_for("cnn_bn_res", True, "MinMax")
    entries = {t["name"]: t for t in outputs.ctable["tensors"]}
    given = [t for t in entries.values() if "given" in t]
    assert given and all(t["policy"] == "fixed" for t in given if t["rule"] == "calibrated")
    assert all(t["given"]["scale_error"] == 0.0 for t in given if t["rule"] == "calibrated")
    # the average pool keeps its input's scale (no requantization in the kernel): recorded, not hidden
    gap = entries["/gap/GlobalAveragePool_output_0"]
    assert gap["rule"].startswith("same_as_input:") and gap["given"]["scale_error"] > 0


def _board_cases() -> list[tuple[str, bool, str, str]]:
    """`make test`: cnn_bn_res (quantize_static) and the QAT cnn_bn_res and dwsep on the host and
    mps2-an386; `make test-all` (FIXPOINT_TEST_BOARDS=all): every case on every emulated board and every
    QAT export on the host and mps2-an386, with the whole eval set."""
    qat = QAT_MODELS if ALL else ["cnn_bn_res", "dwsep"]
    qat_cases = [(model, True, "QAT", board) for model in qat for board in ("host", "mps2-an386")]
    if ALL:
        return [(*case, board) for case in CASES for board in selected_boards()] + qat_cases
    return [("cnn_bn_res", True, "MinMax", board) for board in ("host", "mps2-an386")] + qat_cases


@pytest.mark.parametrize("model,per_channel,method,board", _board_cases())
def test_qdq_plan_bit_exact_on_board(qdq_plan_for, model, per_channel, method, board, tmp_path):
    qdq, outputs = qdq_plan_for(model, per_channel, method, board)
    x, labels = eval_set(model, None if ALL else 64)
    result = run_hil(
        HilJob(
            plan=outputs.plan,
            board=board,
            x=x,
            labels=labels,
            model_path=outputs.out_dir / "float_model.onnx",
            work_dir=tmp_path,
            progress=False,
        )
    )
    assert not result.mismatches, result.summary()
    assert result.bit_exact == len(x)


@pytest.mark.parametrize("model", QAT_MODELS)
def test_pytorch_qat_export_imports_and_agrees(qdq_plan_for, model):
    """PyTorch eager-mode QAT exports (torch.onnx QDQ) keep their integers and agree with onnxruntime."""
    qdq, outputs = qdq_plan_for(model, True, "QAT")
    lowering = outputs.plan.meta["lowering"]["layers"]
    assert all(
        "given_weights" in lowering[layer.name]["refinements"]
        for layer in outputs.plan.layers
        if "weights" in layer.arrays
    )
    x, labels = eval_set(model)
    result = against_ort_qdq(qdq, outputs, x, labels)
    out = result.outputs[0]
    assert out.agreement >= 0.99, (model, out.agreement)
    assert min(e.sqnr_db for e in result.per_layer) > 20.0, [(e.name, e.sqnr_db) for e in result.per_layer]


def test_eval_of_a_qdq_model_shows_float_ort_qdq_and_plan(qdq_plan_for, tmp_path, capsys):
    import json

    from fixpoint.cli import main

    from qdq_models import EXAMPLES

    qdq, outputs = qdq_plan_for("mlp", False, "MinMax")
    report = tmp_path / "fidelity.json"
    code = main(
        [
            "-q",
            "eval",
            str(qdq),
            "--plan",
            str(outputs.plan_path),
            "--data",
            str(EXAMPLES / "mlp" / "eval.npz"),
            "--json",
            str(report),
            "--report",
            str(tmp_path / "md"),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "float" in text and "ORT-QDQ" in text and "SQNR plan vs ORT-QDQ dB" in text
    data = json.loads(report.read_text())
    plain, ort_qdq = data["float"]["outputs"][0], data["onnxruntime_qdq"]["outputs"][0]
    assert plain["int_top1"] == ort_qdq["int_top1"]  # the same plan in both columns
    assert ort_qdq["agreement"] >= 0.99
    assert len(data["onnxruntime_qdq"]["per_layer"]) == 3
    assert all(e["sqnr_db"] > 30 for e in data["onnxruntime_qdq"]["per_layer"])
    markdown = (tmp_path / "md" / "report.md").read_text()
    assert "## Given quantization" in markdown and "| uint8 |" in markdown


@pytest.mark.parametrize("kind,dtype", [("a16", "int16"), ("w4", "int8")])
def test_int16_activations_and_int4_weights(tmp_path, kind, dtype):
    from qdq_models import EXAMPLES, make_qdq_typed, plan_of

    qdq = make_qdq_typed(tmp_path, kind)
    outputs = plan_of(qdq, EXAMPLES / "mlp" / "calib.npz", tmp_path / "plan")
    assert {t.dtype for t in outputs.plan.tensors} == {dtype}
    lowering = outputs.plan.meta["lowering"]["layers"]
    given = [lowering[layer.name]["refinements"].get("given_weights") for layer in outputs.plan.layers]
    assert all(g is not None and g["bits"] == (4 if kind == "w4" else 8) for g in given), given
    if kind == "w4":
        assert all(np.abs(layer.arrays["weights"]).max() <= 8 for layer in outputs.plan.layers)
    x, labels = eval_set("mlp")
    assert against_ort_qdq(qdq, outputs, x, labels).outputs[0].agreement >= 0.99


def test_shift_only_board_refines_given_scales_to_powers_of_two(qdq_plan_for, tmp_path):
    from dataclasses import replace

    from fixpoint.boards import load_board
    from fixpoint.calibrate import CalibrationConfig
    from fixpoint.lower import LowerOptions
    from fixpoint.pipeline import CalibrationJob, run_calibration

    from qdq_models import EXAMPLES

    qdq, _ = qdq_plan_for("mlp", False, "MinMax")
    profile = replace(load_board("host").requant_profile(), rounding="shift_only")
    job = CalibrationJob(
        model_path=qdq,
        data_path=EXAMPLES / "mlp" / "calib.npz",
        profile=profile,
        calibration=CalibrationConfig(progress=False),
        lowering=LowerOptions(),
    )
    outputs = run_calibration(job, tmp_path / "plan")
    given = [t for t in outputs.ctable["tensors"] if "given" in t]
    assert given
    for t in given:
        assert np.log2(t["scale"]) == np.round(np.log2(t["scale"])), t
        assert 0 < t["given"]["scale_error"] <= np.sqrt(2) - 1 + 1e-12, t
    notes = [n for layer in outputs.ctable["layers"] for n in layer["notes"]]
    assert any("not powers of two" in n for n in notes)
    x, labels = eval_set("mlp", 300)
    assert against_ort_qdq(qdq, outputs, x, labels).outputs[0].agreement >= 0.9
