"""bench/bench_sim.py on a small hand-built (ONNX model, plan, data) triple."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from fixpoint.plan import save_plan

from sim_plans import PlanBuilder

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_sim.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_sim", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_sim"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def tiny_onnx(path: Path, depth: int, hidden: int, classes: int) -> None:
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.normal(0, 0.3, (depth, hidden)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(0, 0.3, (hidden, classes)).astype(np.float32), "w2")
    nodes = [
        helper.make_node("MatMul", ["input", "w1"], ["h"]),
        helper.make_node("Relu", ["h"], ["hr"]),
        helper.make_node("MatMul", ["hr", "w2"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, depth])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, classes])],
        [w1, w2],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def test_bench_writes_a_table_for_a_hand_built_case(tmp_path):
    depth, hidden, classes = 16, 12, 4
    tiny_onnx(tmp_path / "tiny.onnx", depth, hidden, classes)
    b = PlanBuilder(np.random.default_rng(1), "s8")
    x = b.input([1, 1, 1, depth], layout="NC")
    plan = b.plan([b.fc(b.fc(x, hidden), classes)])
    save_plan(plan, tmp_path / "tiny.fxplan")
    np.savez(
        tmp_path / "data.npz",
        input=np.random.default_rng(2).normal(0, 1, (40, depth)).astype(np.float32),
        label=np.zeros(40, np.int64),
    )
    out = tmp_path / "sim.md"
    bench = load_bench()
    assert bench.plan_macs(plan) == depth * hidden + hidden * classes
    rc = bench.main(
        [
            "--case",
            str(tmp_path / "tiny.onnx"),
            str(tmp_path / "tiny.fxplan"),
            str(tmp_path / "data.npz"),
            "--out",
            str(out),
            "--samples",
            "16",
            "--repeat",
            "1",
            "--threads",
            "2",
        ]
    )
    assert rc == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| tiny |")]
    assert [r.split("|")[3].strip() for r in rows] == [
        "fixpoint sim, _opt kernels (s8), batched, 1 thread",
        "fixpoint sim, _opt kernels, batched, 2 threads",
        "fixpoint sim, reference kernels (--kernels ref), batched, 1 thread",
        "onnxruntime float32, 1 thread",
        "onnxruntime int8 QDQ (per-channel), 1 thread",
    ]
    for r in rows:
        cells = [c.strip() for c in r.split("|")]
        assert cells[2] == "240.0" and float(cells[4].replace(",", "")) > 0
