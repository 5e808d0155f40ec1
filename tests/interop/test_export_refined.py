"""Refined plans out through QDQ: AdaRound's and clipping's integers are exported as the plan's own, in the ONNX
weight layout (Gemm, Conv, depthwise Conv, int4), onnxruntime runs the export close to float, its re-import is
the identical plan, and AIMET encodings (scales only) refuse a plan whose integers a consumer cannot re-round."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from fixpoint.calibrate import CalibrationConfig
from fixpoint.cli import main
from fixpoint.lower import LowerOptions
from fixpoint.lower.weights import round_half_away
from fixpoint.pipeline import CalibrationJob, run_calibration
from fixpoint.plan import load_plan
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

from qdq_models import EXAMPLES
from test_export_roundtrip import _assert_same_integers

MLP = EXAMPLES / "mlp"


def _refined_plan(model, data, out, **lowering):
    """A plan with AdaRound (``lowering`` as LowerOptions fields), no policy search (kept fast)."""
    job = CalibrationJob(
        model_path=model,
        data_path=data,
        calibration=CalibrationConfig(progress=False),
        lowering=LowerOptions(adaptive_rounding=True, **lowering),
        board_name="host",
    )
    return run_calibration(job, out)


def _nearest_differs(plan, model) -> int:
    """How many of the plan's weights are not the nearest rounding of the model's (a refined plan: > 0)."""
    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(model)).graph.initializer}
    nodes = {n.name: n for n in onnx.load(str(model)).graph.node}
    differs = 0
    for layer in plan.layers:
        node = nodes.get(layer.name)
        if node is None or node.op_type != "Gemm":
            continue
        scale = np.asarray(plan.meta["lowering"]["layers"][layer.name]["weight_scale"])
        nearest = round_half_away(inits[node.input[1]] / scale[:, None])
        differs += int(np.count_nonzero(nearest != layer.arrays["weights"]))
    return differs


def _export(plan_path, model, fmt: str, out) -> int:
    return main(["-q", "export", "--plan", str(plan_path), "--model", str(model), "--format", fmt, "-o", str(out)])


def _top1(qdq, model, plan, x: np.ndarray) -> tuple[float, float]:
    """Top-1 agreement of onnxruntime on the exported QDQ model with the float model and with the plan."""
    exported, float_model = ort.InferenceSession(str(qdq)), ort.InferenceSession(str(model))
    name = float_model.get_inputs()[0].name
    got = exported.run(None, {name: x})[0].argmax(1)
    sim = dequantize(plan, plan.outputs[0], run_plan(plan, [quantize_input(plan, x, 0)]).outputs[0])
    want = float_model.run(None, {name: x})[0].argmax(1)
    return float(np.mean(got == want)), float(np.mean(got == sim.reshape(len(x), -1).argmax(1)))


def _round_trip(outputs, model, data, tmp_path, x: np.ndarray, *reimport: str, float_top1: float = 0.95) -> None:
    """QDQ export -> onnxruntime close to float and to the plan -> re-import (``reimport``: the calibrate
    options of the plan's weight width): identical integers, datapaths and plan outputs."""
    qdq = tmp_path / "refined_qdq.onnx"
    assert _export(outputs.plan_path, model, "qdq", qdq) == 0
    with_float, with_plan = _top1(qdq, model, outputs.plan, x)
    assert with_float >= float_top1 and with_plan >= 0.95, (with_float, with_plan)
    again_dir = tmp_path / "again"
    assert (
        main(["-q", "calibrate", str(qdq), "--data", str(data), "--board", "host", "-o", str(again_dir), *reimport])
        == 0
    )
    again = load_plan(again_dir / "plan.fxplan")
    _assert_same_integers(outputs.plan, again)
    assert [la.datapath for la in outputs.plan.layers] == [la.datapath for la in again.layers]
    ints = [quantize_input(outputs.plan, x[:8], 0)]
    for a, b in zip(run_plan(outputs.plan, ints).outputs, run_plan(again, ints).outputs):
        assert np.array_equal(a, b)


@pytest.fixture(scope="module")
def mlp_adaround(tmp_path_factory):
    return _refined_plan(MLP / "model.onnx", MLP / "calib.npz", tmp_path_factory.mktemp("mlp_ar"))


def _eval(folder, n: int) -> np.ndarray:
    with np.load(folder / "eval.npz") as data:
        return data["input"][:n].astype(np.float32)


def test_adaround_gemm_plan_exports_its_own_integers(mlp_adaround, tmp_path):
    assert _nearest_differs(mlp_adaround.plan, MLP / "model.onnx") > 0  # the bug's case: refined integers
    _round_trip(mlp_adaround, MLP / "model.onnx", MLP / "calib.npz", tmp_path, _eval(MLP, 300))


def test_int4_adaround_and_clipped_plan_round_trips(tmp_path):
    outputs = _refined_plan(MLP / "model.onnx", MLP / "calib.npz", tmp_path / "plan", weight_bits=4)
    assert {layer.datapath for layer in outputs.plan.layers} == {"s4"}
    _round_trip(outputs, MLP / "model.onnx", MLP / "calib.npz", tmp_path, _eval(MLP, 300), "--weight-bits", "4")


def test_ternary_plan_exports_to_qdq_and_is_refused_by_aimet(tmp_path, capsys):
    """Ternary weights are integers -1..1 at the ternary rule's scale: QDQ carries them (onnxruntime runs the
    plan's arithmetic, far from float at 2 bits); an AIMET encoding would re-round them to its bit width."""
    outputs = _refined_plan(MLP / "model.onnx", MLP / "calib.npz", tmp_path / "plan", weight_bits=2)
    assert {layer.datapath for layer in outputs.plan.layers} == {"s2"}
    x = _eval(MLP, 300)
    _round_trip(outputs, MLP / "model.onnx", MLP / "calib.npz", tmp_path, x, "--weight-bits", "2", float_top1=0.6)
    capsys.readouterr()
    assert _export(outputs.plan_path, MLP / "model.onnx", "aimet", tmp_path / "enc.json") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "ternary" in err and "--format qdq" in err, err


def test_adaround_depthwise_and_conv_plan_round_trips(tmp_path):
    """dwsep (BatchNormalization folded first): conv2d, depthwise_conv2d [1, kh, kw, C] and Gemm layouts."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    model = tmp_path / "folded.onnx"
    quant_pre_process(str(EXAMPLES / "dwsep" / "model.onnx"), str(model), skip_symbolic_shape=True)
    outputs = _refined_plan(model, EXAMPLES / "dwsep" / "calib.npz", tmp_path / "plan")
    assert {"conv2d", "depthwise_conv2d"} <= {layer.op for layer in outputs.plan.layers}
    # refined: AIMET encodings refuse it (the exporter found integers that are not the nearest rounding)
    assert _export(outputs.plan_path, model, "aimet", tmp_path / "enc.json") == 2
    _round_trip(outputs, model, EXAMPLES / "dwsep" / "calib.npz", tmp_path, _eval(EXAMPLES / "dwsep", 200))


def test_aimet_export_of_a_refined_plan_is_one_error_line(mlp_adaround, tmp_path, capsys):
    out = tmp_path / "encodings.json"
    assert _export(mlp_adaround.plan_path, MLP / "model.onnx", "aimet", out) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error:") and "--format qdq" in err and "refined" in err, err
    assert not out.exists()


def test_export_against_other_weights_is_one_error_line(mlp_adaround, tmp_path, capsys):
    """A plan exported with a model whose weights it was not made from (here: scaled by 1.5) is refused,
    not exported with the wrong integers."""
    model = onnx.load(str(MLP / "model.onnx"))
    first = next(n for n in model.graph.node if n.op_type == "Gemm")
    init = next(t for t in model.graph.initializer if t.name == first.input[1])
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 1.5, init.name))
    other = tmp_path / "other.onnx"
    onnx.save(model, str(other))
    assert _export(mlp_adaround.plan_path, other, "qdq", tmp_path / "x.onnx") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "not a rounding" in err and first.name in err, err
    assert not (tmp_path / "x.onnx").exists()


def test_bias_correction_on_a_layer_without_bias_adds_a_bias_input(tmp_path):
    """mlp with its Gemm biases dropped, calibrated with bias correction: the plan's corrected int32 biases
    need an ONNX place, so the export gives each Gemm a bias input (its DequantizeLinear of the int32)."""
    model = onnx.load(str(MLP / "model.onnx"))
    for node in model.graph.node:
        if node.op_type == "Gemm":
            del node.input[2:]
    bare = tmp_path / "no_bias.onnx"
    onnx.save(model, str(bare))
    outputs = _refined_plan(bare, MLP / "calib.npz", tmp_path / "plan", bias_correction=True)
    assert any(np.any(layer.arrays["bias"]) for layer in outputs.plan.layers)
    _round_trip(outputs, bare, MLP / "calib.npz", tmp_path, _eval(MLP, 300))
    exported = onnx.load(str(tmp_path / "refined_qdq.onnx"))
    assert all(len(n.input) == 3 for n in exported.graph.node if n.op_type == "Gemm")


@pytest.mark.parametrize("name", ["tcn_audio", "unet"])
def test_adaround_zoo_layouts_round_trip(name, tmp_path):
    """Layouts the examples above do not have: tcn_audio's 1-D convs ([O, I, k] lifted to [O, 1, k, I]) and
    unet's ConvTranspose ([I, O, kh, kw] -> [O, kh, kw, I], output channels on ONNX axis 1). onnxruntime stays
    close to float (SQNR), the re-import is identical."""
    zoo = EXAMPLES.parents[1] / "examples" / "zoo" / name
    outputs = _refined_plan(zoo / "model.onnx", zoo / "calib.npz", tmp_path / "plan")
    qdq = tmp_path / "refined_qdq.onnx"
    assert _export(outputs.plan_path, zoo / "model.onnx", "qdq", qdq) == 0
    float_model = ort.InferenceSession(str(zoo / "model.onnx"))
    feed = float_model.get_inputs()[0].name
    with np.load(zoo / "eval.npz") as data:
        x = data[feed][:50].astype(np.float32)
    want = float_model.run(None, {feed: x})[0]
    got = ort.InferenceSession(str(qdq)).run(None, {feed: x})[0]
    assert 10 * np.log10(np.sum(want**2) / np.sum((got - want) ** 2)) > 30
    again_dir = tmp_path / "again"
    assert main(["-q", "calibrate", str(qdq), "--data", str(zoo / "calib.npz"), "-o", str(again_dir)]) == 0
    _assert_same_integers(outputs.plan, load_plan(again_dir / "plan.fxplan"))
