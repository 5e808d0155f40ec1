"""Ranks and layouts that cannot run: exit 2 with one `error:` line naming the culprit, as a user sees it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from rank_helpers import MODELS

SDK = Path(__file__).resolve().parents[2] / "sdk"


def _cli(*args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SDK), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "fixpoint.cli", "-q", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _model(path: Path, nodes, inputs, outputs, inits=()) -> Path:
    value = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)  # noqa: E731
    graph = helper.make_graph(nodes, path.stem, [value(*i) for i in inputs], [value(*o) for o in outputs], list(inits))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def _one_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


CASES = {
    # a rank-6 activation
    "rank6": (
        [
            helper.make_node("Sigmoid", ["x"], ["s"], name="gate6"),
            helper.make_node("Reshape", ["s", "k"], ["y"], name="to4d"),
        ],
        [("x", [1, 2, 2, 2, 2, 2])],
        [("y", [1, 4, 2, 4])],
        [numpy_helper.from_array(np.array([1, 4, 2, 4], np.int64), "k")],
        ["gate6", "rank 6"],
    ),
    # five groups of axes move (batch 2): no 4-D transpose does it
    "transpose5": (
        [helper.make_node("Transpose", ["x"], ["y"], name="shuffle", perm=[4, 2, 0, 3, 1])],
        [("x", [2, 3, 4, 5, 6])],
        [("y", [6, 4, 2, 5, 3])],
        [],
        ["shuffle", "more than 4 groups"],
    ),
    # a 5-D op that needs a spatial layout
    "concat5": (
        [helper.make_node("Concat", ["x", "x"], ["y"], name="join5", axis=2)],
        [("x", [1, 2, 2, 2, 2])],
        [("y", [1, 2, 4, 2, 2])],
        [],
        ["join5", "rank 5"],
    ),
    # 5-D activations that broadcast against each other
    "broadcast5": (
        [helper.make_node("Add", ["x", "z"], ["y"], name="add5")],
        [("x", [1, 2, 2, 2, 2]), ("z", [1, 2, 1, 2, 2])],
        [("y", [1, 2, 2, 2, 2])],
        [],
        ["add5"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unsupported_rank_is_one_error_line(case, tmp_path) -> None:
    nodes, inputs, outputs, inits, words = CASES[case]
    model = _model(tmp_path / f"{case}.onnx", nodes, inputs, outputs, inits)
    np.savez(tmp_path / "data.npz", **{name: np.zeros((2, *shape[1:]), np.float32) for name, shape in inputs})
    _one_error(_cli("calibrate", model, "--data", tmp_path / "data.npz", "-o", tmp_path / "out"), *words)


def test_5d_data_of_the_wrong_shape_is_one_error_line(tmp_path) -> None:
    np.savez(tmp_path / "bad.npz", clip=np.zeros((4, 3, 2, 8, 7), np.float32))
    _one_error(
        _cli("calibrate", MODELS / "video.onnx", "--data", tmp_path / "bad.npz", "-o", tmp_path / "out"),
        "clip",
        "[N, 3, 2, 8, 8]",
    )


def test_simulate_writes_5d_outputs_in_the_onnx_layout(rank_files, rank_plan, tmp_path) -> None:
    plan = rank_plan("yolo_head5d", "host").plan_path
    proc = _cli("simulate", "--plan", plan, "--data", rank_files("yolo_head5d")["eval"], "-o", tmp_path / "out.npz")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "out.npz") as out:
        grid, boxes = out["output/grid"], out["output/boxes"]
    assert grid.shape == (32, 3, 4, 4, 6) and boxes.shape == (32, 48, 6)
    assert np.array_equal(grid.reshape(32, -1), boxes.reshape(32, -1))  # the model's last Reshape


def test_split_and_slice_of_a_5d_tensor_match_numpy(tmp_path) -> None:
    """Split / Slice along one non-batch axis of a row-major tensor: copy -> slice -> copy."""
    from fixpoint.frontend import load_model
    from fixpoint.normalize import normalize
    from fixpoint.normalize.float_exec import run_normalized

    nodes = [
        helper.make_node("Split", ["x", "sizes"], ["a", "b"], name="split", axis=3),
        helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["c"], name="cut"),
        helper.make_node("Sigmoid", ["a"], ["ya"]),
        helper.make_node("Neg", ["b"], ["yb"]),
    ]
    consts = [
        numpy_helper.from_array(np.array(v, np.int64), name)
        for name, v in [("sizes", [1, 3]), ("st", [1]), ("en", [-1]), ("ax", [-1]), ("sp", [2])]
    ]
    model = _model(
        tmp_path / "cuts.onnx",
        nodes,
        [("x", [1, 2, 3, 4, 5])],
        [("ya", [1, 2, 3, 1, 5]), ("yb", [1, 2, 3, 3, 5]), ("c", [1, 2, 3, 4, 2])],
        consts,
    )
    graph = normalize(load_model(model))
    x = np.random.default_rng(0).normal(size=(1, 2, 3, 4, 5)).astype(np.float32)
    got = run_normalized(graph, {"x": x})
    np.testing.assert_allclose(got["ya"], 1 / (1 + np.exp(-x[:, :, :, :1])), rtol=1e-6)
    np.testing.assert_allclose(got["yb"], -x[:, :, :, 1:], rtol=1e-6)
    np.testing.assert_allclose(got["c"], x[..., 1:-1:2], rtol=1e-6)
