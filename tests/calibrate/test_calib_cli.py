"""`fixpoint calibrate` as a user runs it: bad input gives one error line naming the culprit, no
traceback and no output files; good input writes the plan, CTable and statistics."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from calib_models import build_conv_relu_gemm

SDK = Path(__file__).resolve().parents[2] / "sdk"
HOST_BOARD = Path(__file__).resolve().parents[2] / "boards" / "host" / "board.toml"


def _calibrate(tmp_path: Path, model: Path, data: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SDK), os.environ.get("PYTHONPATH", "")])}
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
            "-o",
            str(tmp_path / "out"),
            "--board",
            "host",
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A good model and data set, and one broken variant of each kind."""
    good = tmp_path / "good.onnx"
    build_conv_relu_gemm(good)
    raw = good.read_bytes()
    paths = {
        "good": good,
        "text": tmp_path / "text.onnx",
        "truncated": tmp_path / "truncated.onnx",
        "dynamic": tmp_path / "dynamic.onnx",
        "unsupported": tmp_path / "unsupported.onnx",
    }
    paths["text"].write_text("hello, not a model\n")
    paths["truncated"].write_bytes(raw[: len(raw) // 2])
    dynamic = onnx.load(str(good))
    dynamic.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"
    onnx.save(dynamic, str(paths["dynamic"]))
    onnx.save(_two_unsupported_nodes(), str(paths["unsupported"]))
    x = np.random.default_rng(1).normal(0.5, 0.3, (40, 1, 6, 6)).astype(np.float32)
    nan = x.copy()
    nan[17, 0, 2, 3] = np.nan
    for name, array in {
        "data": x,
        "nan": nan,
        "empty": x[:0],
        "shape": x[:, :, :5, :5],
        "dtype": x.astype(np.complex64),
    }.items():
        paths[name] = tmp_path / f"{name}.npz"
        np.savez(paths[name], input=array)
    narrow = tmp_path / "narrow" / "board.toml"  # a board whose shifter cannot reach the scales
    narrow.parent.mkdir()
    narrow.write_text(
        HOST_BOARD.read_text()
        .replace('name = "host"', 'name = "narrow"')
        .replace("shift_min = -31", "shift_min = 0")
        .replace("shift_max = 30", "shift_max = 1")
        .replace("multiplier_bits = 32", "multiplier_bits = 2")
    )
    paths["narrow"] = narrow
    return paths


def _two_unsupported_nodes() -> onnx.ModelProto:
    nodes = [
        helper.make_node("Sin", ["input"], ["s"], name="sin1"),
        helper.make_node("Cos", ["s"], ["out"], name="cos1"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


BAD_INPUTS = [
    # (model, data, extra args, what the one error line must name)
    ("text", "data", (), ["text.onnx", "not an ONNX file"]),
    ("truncated", "data", (), ["truncated.onnx", "truncated"]),
    ("dynamic", "data", (), ["'input'", "dimension 2", "'H'"]),
    ("unsupported", "data", (), ["sin1 (Sin)", "cos1 (Cos)"]),
    ("good", "nan", (), ["nan.npz", "sample 17", "NaN"]),
    ("good", "empty", (), ["empty.npz", "no calibration samples"]),
    ("good", "shape", (), ["shape.npz", "[40, 1, 5, 5]", "[N, 1, 6, 6]"]),
    ("good", "dtype", (), ["dtype.npz", "complex64"]),
    ("good", "data", ("--board", "narrow"), ["layer 'conv1'", "shift range is [0, 1]"]),
]


@pytest.mark.parametrize("model, data, extra, culprit", BAD_INPUTS, ids=[f"{c[0]}-{c[1]}" for c in BAD_INPUTS])
def test_bad_input_is_one_line_naming_the_culprit(tmp_path, files, model, data, extra, culprit) -> None:
    extra = tuple(str(files[a]) if a in files else a for a in extra)
    proc = _calibrate(tmp_path, files[model], files[data], *extra)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert all(part in lines[0] for part in culprit), lines[0]
    assert "Traceback" not in proc.stderr
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())  # nothing half-written


def test_search_writes_a_plan_with_its_choices(tmp_path, files) -> None:
    proc = _calibrate(tmp_path, files["good"], files["data"], "--search", "--search-samples", "16")
    assert proc.returncode == 0, proc.stderr
    from fixpoint.plan import load_plan

    plan = load_plan(tmp_path / "out" / "plan.fxplan")
    searched = plan.meta["range_search"]
    assert searched["num_samples"] == 16 and searched["final_error"] <= searched["start_error"]
    assert {"input", "relu_out", "logits"} <= set(searched["chosen"])
    assert set(searched["chosen"].values()) <= {"max", "percentile", "kl", "l1", "l2"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "cache_key.txt",
        "ctable.json",
        "plan.fxplan",
        "stats.npz",
    ]


def test_bad_search_candidate_is_named(tmp_path, files) -> None:
    proc = _calibrate(tmp_path, files["good"], files["data"], "--search", "--search-candidates", "max,median")
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: ") and "median" in proc.stderr
    assert "Traceback" not in proc.stderr
