"""Out and back: plan -> `fixpoint export --format qdq|aimet` -> `fixpoint calibrate` -> the identical plan."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

from fixpoint.cli import main
from fixpoint.plan import load_plan

from qdq_models import EXAMPLES, eval_set, plan_of


@pytest.fixture(scope="module")
def folded(tmp_path_factory):
    """cnn_bn_res with its BatchNormalizations folded (onnxruntime's quant_pre_process) and its plan."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    root = tmp_path_factory.mktemp("roundtrip")
    model = root / "folded.onnx"
    quant_pre_process(str(EXAMPLES / "cnn_bn_res" / "model.onnx"), str(model), skip_symbolic_shape=True)
    return model, plan_of(model, EXAMPLES / "cnn_bn_res" / "calib.npz", root / "plan")


def _assert_same_integers(a, b) -> None:
    assert [layer.name for layer in a.layers] == [layer.name for layer in b.layers]
    for la, lb in zip(a.layers, b.layers):
        assert sorted(la.arrays) == sorted(lb.arrays), la.name
        for key in la.arrays:
            diff = np.flatnonzero(np.asarray(la.arrays[key]).reshape(-1) != np.asarray(lb.arrays[key]).reshape(-1))
            assert diff.size == 0, (la.name, key, diff[:10])
        assert la.params == lb.params, la.name
    assert [(t.name, t.scale, t.zero_point) for t in a.tensors] == [(t.name, t.scale, t.zero_point) for t in b.tensors]


def _calibrate(model, out, *extra, data=EXAMPLES / "cnn_bn_res" / "calib.npz") -> None:
    code = main(["-q", "calibrate", str(model), "--data", str(data), "--board", "host", "-o", str(out), *extra])
    assert code == 0


def _export(plan_path, model, fmt: str, out) -> None:
    """`fixpoint export --format FMT` of a plan made from ``model`` (None: formats that need no model)."""
    args = ["-q", "export", "--plan", str(plan_path), "--format", fmt, "-o", str(out)]
    assert main(args + (["--model", str(model)] if model is not None else [])) == 0


def test_qdq_round_trip_is_identical_and_runs_in_onnxruntime(folded, tmp_path):
    model, outputs = folded
    qdq = tmp_path / "exported.onnx"
    _export(outputs.plan_path, model, "qdq", qdq)
    _calibrate(qdq, tmp_path / "again")
    again = load_plan(tmp_path / "again" / "plan.fxplan")
    _assert_same_integers(outputs.plan, again)
    ctable = json.loads((tmp_path / "again" / "ctable.json").read_text())
    assert all("given" in t for t in ctable["tensors"] if t["rule"] == "calibrated")
    x, labels = eval_set("cnn_bn_res", 200)
    y = ort.InferenceSession(str(qdq)).run(None, {"input": x})[0]
    assert (y.argmax(1) == labels).mean() >= 0.9


def test_aimet_round_trip_is_identical(folded, tmp_path):
    model, outputs = folded
    enc = tmp_path / "encodings.json"
    _export(outputs.plan_path, model, "aimet", enc)
    data = json.loads(enc.read_text())
    assert data["version"] == "1.0.0" and data["param_encodings"] and data["activation_encodings"]
    assert data["quantizer_args"]["param_bitwidth"] == max(p["bw"] for p in data["param_encodings"])
    _calibrate(model, tmp_path / "again", "--encodings", str(enc))
    _assert_same_integers(outputs.plan, load_plan(tmp_path / "again" / "plan.fxplan"))


def test_ctable_export_reads_back_as_encodings(folded, tmp_path):
    model, outputs = folded
    table = tmp_path / "exported_ctable.json"
    _export(outputs.plan_path, None, "ctable", table)
    _calibrate(model, tmp_path / "again", "--encodings", str(table))
    again = load_plan(tmp_path / "again" / "plan.fxplan")
    assert [(t.scale, t.zero_point) for t in again.tensors] == [(t.scale, t.zero_point) for t in outputs.plan.tensors]


def test_export_from_a_model_with_unfolded_batchnorm_is_refused(folded, tmp_path, capsys):
    _, outputs = folded
    code = main(
        [
            "-q",
            "export",
            "--plan",
            str(outputs.plan_path),
            "--model",
            str(EXAMPLES / "cnn_bn_res" / "model.onnx"),
            "--format",
            "qdq",
            "-o",
            str(tmp_path / "x.onnx"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "folded" in err, err
    assert not (tmp_path / "x.onnx").exists()


def test_transformer_exports_with_elementwise_constants_left_float(tmp_path):
    """kw_transformer: the position-embedding Add and the attention's scaling Mul run as per-element depthwise
    layers, whose constants QDQ cannot carry (docs/interop.md); the export keeps them float, onnxruntime runs
    it, and the re-import lowers the same integers in the same layer order."""
    zoo = EXAMPLES.parents[1] / "examples" / "zoo" / "kw_transformer"
    outputs = plan_of(zoo / "model.onnx", zoo / "calib.npz", tmp_path / "plan")
    assert any(
        layer.op == "depthwise_conv2d" and layer.source_nodes[0].endswith("/Add") for layer in outputs.plan.layers
    )
    qdq = tmp_path / "exported.onnx"
    _export(outputs.plan_path, zoo / "model.onnx", "qdq", qdq)
    _calibrate(qdq, tmp_path / "again", data=zoo / "calib.npz")
    _assert_same_integers(outputs.plan, load_plan(tmp_path / "again" / "plan.fxplan"))
    with np.load(zoo / "eval.npz") as data:
        x = data["mfcc"][:100].astype(np.float32)
    exported, float_model = ort.InferenceSession(str(qdq)), ort.InferenceSession(str(zoo / "model.onnx"))
    name = float_model.get_inputs()[0].name
    agree = [
        exported.run(None, {name: x[i : i + 1]})[0].argmax() == float_model.run(None, {name: x[i : i + 1]})[0].argmax()
        for i in range(len(x))
    ]
    assert np.mean(agree) >= 0.95
    _export(outputs.plan_path, zoo / "model.onnx", "aimet", tmp_path / "enc.json")
