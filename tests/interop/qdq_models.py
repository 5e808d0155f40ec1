"""QDQ models of the examples, quantized by onnxruntime's own quantize_static, and their Fixpoint plans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from fixpoint.boards import load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.evaluate import evaluate
from fixpoint.interop.qdq_reference import qdq_reference_model
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import CalibrationJob, load_graph, run_calibration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "models"
ORT_CALIB_SAMPLES = 64


def eval_set(model: str, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    with np.load(EXAMPLES / model / "eval.npz") as data:
        return data["input"][:n], data["label"][:n]


def make_qdq(model: str, out: Path, per_channel: bool, method: str) -> Path:
    """onnxruntime's usual recipe: quant_pre_process (folds BatchNormalization), then quantize_static."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out.mkdir(parents=True, exist_ok=True)
    pre = out / "pre.onnx"
    quant_pre_process(str(EXAMPLES / model / "model.onnx"), str(pre), skip_symbolic_shape=True)
    with np.load(EXAMPLES / model / "calib.npz") as data:
        samples = data["input"][:ORT_CALIB_SAMPLES]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(samples)

        def get_next(self):
            x = next(self.items, None)
            return None if x is None else {"input": x[None]}

    path = out / "qdq.onnx"
    quantize_static(
        str(pre),
        str(path),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=per_channel,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=getattr(CalibrationMethod, method),
    )
    return path


def plan_of(model_path: Path, data_path: Path, out: Path, board: str = "host"):
    b = load_board(board)
    job = CalibrationJob(
        model_path=model_path,
        data_path=data_path,
        profile=b.requant_profile(),
        calibration=CalibrationConfig(progress=False),
        lowering=LowerOptions(engines=list(b.accelerator.engines) or None),
        board_name=b.name,
    )
    return run_calibration(job, out)


def qdq_plan(out: Path, model: str, per_channel: bool, method: str, board: str = "host"):
    """``method`` "QAT": the model's PyTorch QAT export (qat_models), else quantize_static's calibration."""
    if method == "QAT":
        import warnings

        from qat_models import QAT_EXPORTS

        out.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao's deprecation notices
            path = QAT_EXPORTS[model](out / f"{model}_qat.onnx")
    else:
        path = make_qdq(model, out, per_channel, method)
    return path, plan_of(path, EXAMPLES / model / "calib.npz", out / "plan", board)


def against_ort_qdq(qdq_path: Path, outputs, x: np.ndarray, labels: np.ndarray):
    """evaluate() of the plan against onnxruntime's run of the QDQ model (per-layer SQNR included)."""
    ref = outputs.out_dir / "qdq_reference.onnx"
    onnx.save(qdq_reference_model(onnx.load(str(qdq_path))), str(ref))
    graph = load_graph(outputs.out_dir / "float_model.onnx")
    return evaluate(ref, graph, outputs.plan, x, labels, progress=False)


def make_qdq_typed(out: Path, kind: str) -> Path:
    """The mlp as int16 symmetric activations ("a16") or int4 weights ("w4", opset 21) by quantize_static."""
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    out.mkdir(parents=True, exist_ok=True)
    with np.load(EXAMPLES / "mlp" / "calib.npz") as data:
        samples = data["input"][:ORT_CALIB_SAMPLES]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(samples)

        def get_next(self):
            x = next(self.items, None)
            return None if x is None else {"input": x[None]}

    src, path = EXAMPLES / "mlp" / "model.onnx", out / f"mlp_{kind}.onnx"
    if kind == "a16":
        quantize_static(
            str(src),
            str(path),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt16,
            weight_type=QuantType.QInt8,
            extra_options={"ActivationSymmetric": True},
        )
    else:
        opset21 = out / "mlp_opset21.onnx"
        onnx.save(version_converter.convert_version(onnx.load(str(src)), 21), str(opset21))
        quantize_static(
            str(opset21),
            str(path),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt4,
        )
    return path
