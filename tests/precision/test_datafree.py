"""Data-free calibration: ranges from BatchNormalization statistics and weights, no samples; the report and
the plan say the ranges are estimated; unsupported ops and bad options are one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fixpoint.calibrate import CalibrationConfig, CalibrationError
from fixpoint.calibrate.datafree import calibrate_data_free
from fixpoint.evaluate import evaluate
from fixpoint.lower import lower
from fixpoint.pipeline import load_graph
from fixpoint.plan import RequantProfile, load_plan

ROOT = Path(__file__).resolve().parents[2]
CNN = ROOT / "examples" / "models" / "cnn_bn_res"


def _conv_bn_relu(path: Path, tail: str = "Relu") -> Path:
    rng = np.random.default_rng(0)
    gamma, beta = np.array([1.0, 0.5, 2.0], np.float32), np.array([0.0, 1.0, -1.0], np.float32)
    inits = [
        numpy_helper.from_array(rng.normal(size=(3, 1, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(gamma, "g"),
        numpy_helper.from_array(beta, "b"),
        numpy_helper.from_array(np.zeros(3, np.float32), "m"),
        numpy_helper.from_array(np.ones(3, np.float32), "v"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["bn"], name="bn"),
        helper.make_node(tail, ["bn"], ["y"], name="act"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 8, 8])],
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_batchnorm_statistics_set_the_range(tmp_path):
    path = _conv_bn_relu(tmp_path / "m.onnx")
    result = calibrate_data_free(path, load_graph(path), CalibrationConfig(policy="max", progress=False), (0.0, 1.0))
    q = result.quant["y"]
    assert q.lo == 0.0
    # the widest channel is N(-1, 2^2) or N(1, 0.5^2) -> ReLU; its tail (Laplace-shaped) ends near beta + 6..10 sd
    assert 8.0 < q.hi < 25.0, q.hi
    assert "BatchNormalization" in result.estimated and result.num_samples == 0
    assert result.quant["x"].lo == 0.0 and result.quant["x"].hi == pytest.approx(1.0, abs=0.01)


def test_unsupported_op_names_the_node(tmp_path):
    path = _conv_bn_relu(tmp_path / "m.onnx", tail="Erf")
    with pytest.raises(CalibrationError, match=r"no range estimate for Erf \(node 'act'\)"):
        calibrate_data_free(path, None, CalibrationConfig(progress=False))


def test_data_free_example_cnn_agrees_with_float():
    graph = load_graph(CNN / "model.onnx")
    calib = calibrate_data_free(CNN / "model.onnx", graph, CalibrationConfig(progress=False), (0.0, 1.0))
    plan = lower(graph, calib.quant, RequantProfile())
    with np.load(CNN / "eval.npz") as archive:
        x, labels = archive["input"][:200], archive["label"][:200]
    result = evaluate(CNN / "model.onnx", graph, plan, x, labels, per_layer=False, progress=False)
    assert result.agreement >= 0.95 and result.drop <= 3.0, result.summary()


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "sdk")}
    return subprocess.run(
        [sys.executable, "-m", "fixpoint.cli", "-q", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_cli_data_free_plan_and_report_say_estimated(tmp_path):
    out = tmp_path / "plan"
    proc = _cli("calibrate", str(CNN / "model.onnx"), "--data-free", "--input-range", "0,1", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "estimated" in load_plan(out / "plan.fxplan").meta["ranges_estimated"]
    with np.load(CNN / "eval.npz") as archive:
        np.savez(tmp_path / "eval.npz", input=archive["input"][:64], label=archive["label"][:64])
    proc = _cli(
        "eval",
        str(CNN / "model.onnx"),
        "--plan",
        str(out / "plan.fxplan"),
        "--data",
        str(tmp_path / "eval.npz"),
        "--report",
        str(tmp_path / "report"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "## Ranges estimated, not observed" in (tmp_path / "report" / "report.md").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "--data is required"),
        (["--data-free", "--input-range", "1,0"], "LO must be below HI"),
    ],
)
def test_cli_data_free_errors_are_one_line(tmp_path, args, message):
    proc = _cli("calibrate", str(CNN / "model.onnx"), *args, "-o", str(tmp_path / "out"))
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()
