"""Bad QDQ input: one `error:` line naming the tensor, exit 2, no plan written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]


def _qdq_model(
    path: Path,
    *,
    dq_scale: float = 0.05,
    zp_type=TensorProto.UINT8,
    zp_value: int = 0,
    w_zp_type=TensorProto.INT8,
    w_zp: int = 0,
    second_q_scale: float | None = None,
) -> Path:
    """input[1,4] -> Q/DQ -> Gemm(int8 weights behind DequantizeLinear) -> Q/DQ -> output."""
    w = numpy_helper.from_array(np.arange(-6, 6, dtype=np.int8).reshape(3, 4), "w_q")
    inits = [
        numpy_helper.from_array(np.array(0.05, np.float32), "in_scale"),
        numpy_helper.from_array(np.array(dq_scale, np.float32), "in_dq_scale"),
        helper.make_tensor("in_zp", zp_type, [], [zp_value]),
        w,
        numpy_helper.from_array(np.array(0.02, np.float32), "w_scale"),
        helper.make_tensor("w_zp", w_zp_type, [], [w_zp]),
        numpy_helper.from_array(np.array(0.1, np.float32), "out_scale"),
        helper.make_tensor("out_zp", TensorProto.UINT8, [], [128]),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["input", "in_scale", "in_zp"], ["in_q"], name="q_in"),
        helper.make_node("DequantizeLinear", ["in_q", "in_dq_scale", "in_zp"], ["in_dq"], name="dq_in"),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["w"], name="dq_w"),
        helper.make_node("Gemm", ["in_dq", "w"], ["y"], name="fc", transB=1),
        helper.make_node("QuantizeLinear", ["y", "out_scale", "out_zp"], ["y_q"], name="q_y"),
        helper.make_node("DequantizeLinear", ["y_q", "out_scale", "out_zp"], ["logits"], name="dq_y"),
    ]
    if second_q_scale is not None:  # the same tensor quantized a second time, with another scale
        inits.append(numpy_helper.from_array(np.array(second_q_scale, np.float32), "y_scale2"))
        nodes += [
            helper.make_node("QuantizeLinear", ["y", "y_scale2", "out_zp"], ["y_q2"], name="q_y2"),
            helper.make_node("DequantizeLinear", ["y_q2", "y_scale2", "out_zp"], ["y2"], name="dq_y2"),
            helper.make_node("Relu", ["y2"], ["extra"], name="relu2"),
        ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])]
    if second_q_scale is not None:
        outputs.append(helper.make_tensor_value_info("extra", TensorProto.FLOAT, ["batch", 3]))
    graph = helper.make_graph(
        nodes, "bad_qdq", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4])], outputs, inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(path))
    return path


def _calibrate(tmp_path: Path, model: Path) -> subprocess.CompletedProcess:
    data = tmp_path / "calib.npy"
    np.save(data, np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "fixpoint.cli",
            "-q",
            "calibrate",
            str(model),
            "--data",
            str(data),
            "--board",
            "host",
            "-o",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def _calibrate_in_process(tmp_path: Path, model: Path, capsys) -> tuple[int, str]:
    from fixpoint.cli import main

    data = tmp_path / "calib.npy"
    np.save(data, np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32))
    code = main(["-q", "calibrate", str(model), "--data", str(data), "--board", "host", "-o", str(tmp_path / "out")])
    return code, capsys.readouterr().err


def test_good_tiny_qdq_model_calibrates(tmp_path, capsys):
    code, err = _calibrate_in_process(tmp_path, _qdq_model(tmp_path / "m.onnx"), capsys)
    assert code == 0, err
    assert (tmp_path / "out" / "plan.fxplan").is_file()


@pytest.mark.parametrize(
    "kwargs,needles",
    [
        ({"dq_scale": 0.07}, ["'input'", "inconsistent"]),
        ({"second_q_scale": 0.3}, ["'y'", "inconsistent scales"]),
        ({"dq_scale": 0.0}, ["'in_dq'", "scale 0.0"]),
        ({"dq_scale": float("nan")}, ["'in_dq'", "nan"]),
        ({"w_zp_type": TensorProto.INT32, "w_zp": 200}, ["'w'", "zero point 200", "[-128, 127]"]),
    ],
)
def test_bad_qdq_is_one_line_naming_the_tensor(tmp_path, capsys, kwargs, needles):
    code, err = _calibrate_in_process(tmp_path, _qdq_model(tmp_path / "m.onnx", **kwargs), capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert not (tmp_path / "out" / "plan.fxplan").exists()


def _with_identity_scale(path: Path, source: str) -> Path:
    """The tiny model with dq_in's scale fed through an Identity of ``source`` (as torch.onnx exports)."""
    model = onnx.load(str(path))
    nodes = [helper.make_node("ReduceMax", ["input"], ["dyn"], name="dyn", keepdims=0)] if source == "dyn" else []
    nodes.append(helper.make_node("Identity", [source], ["in_scale_copy"], name="copy"))
    for node in model.graph.node:
        node.input[:] = ["in_scale_copy" if i == "in_dq_scale" else i for i in node.input]
    nodes += list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, str(path))
    return path


def test_identity_copy_of_a_constant_scale_is_a_constant(tmp_path, capsys):
    model = _with_identity_scale(_qdq_model(tmp_path / "m.onnx"), "in_dq_scale")
    code, err = _calibrate_in_process(tmp_path, model, capsys)
    assert code == 0, err


def test_identity_copy_of_a_dynamic_scale_is_refused(tmp_path, capsys):
    model = _with_identity_scale(_qdq_model(tmp_path / "m.onnx"), "dyn")
    code, err = _calibrate_in_process(tmp_path, model, capsys)
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "'in_scale_copy' is not a constant" in err, err


def test_qoperator_model_is_refused_with_a_hint(tmp_path):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    src = _qdq_float_mlp(tmp_path / "float.onnx")
    samples = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(samples)

        def get_next(self):
            x = next(self.items, None)
            return None if x is None else {"input": x[None]}

    qop = tmp_path / "qop.onnx"
    quantize_static(str(src), str(qop), Reader(), quant_format=QuantFormat.QOperator)
    proc = _calibrate(tmp_path, qop)
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line and "QOperator" in line and "QuantFormat.QDQ" in line, line


def _qdq_float_mlp(path: Path) -> Path:
    w = numpy_helper.from_array(np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["input", "w"], ["logits"], name="fc", transB=1)],
        "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        [w],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path
