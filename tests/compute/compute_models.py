"""Small real ONNX models of the compute ops (reduce, softmax on any axis, ...), and their data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _init(rng: np.random.Generator, name: str, shape: tuple[int, ...], scale: float) -> onnx.TensorProto:
    return numpy_helper.from_array((rng.normal(size=shape) * scale).astype(np.float32), name)


def _save(path: Path, nodes, inputs, outputs, inits, opset: int = 13) -> Path:
    graph = helper.make_graph(nodes, Path(path).stem, inputs, outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), path)
    return Path(path)


def reduce_model(path: Path, seed: int = 0) -> Path:
    """x [n,3,8,8] -> conv -> relu -> ReduceMax over W (keepdims) -> ReduceSum over H (axes input, keepdims 0,
    opset 13) -> 'pooled' [n,6,1]... kept 4-D: ReduceMean over (2,3) keepdims=0 -> 'mean' [n,6];
    ReduceSum(axes=[-1]) of the max -> 'total' [n,6,8,1]."""
    rng = np.random.default_rng(seed)
    inits = [_init(rng, "w", (6, 3, 3, 3), 0.4), _init(rng, "b", (6,), 0.1),
             numpy_helper.from_array(np.array([2], np.int64), "axes_h")]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("ReduceMax", ["relu"], ["rmax"], name="rmax", axes=[-1], keepdims=1),
        helper.make_node("ReduceSum", ["rmax", "axes_h"], ["total"], name="rsum", keepdims=1),
        helper.make_node("ReduceMean", ["conv"], ["mean"], name="rmean", axes=[2, 3], keepdims=0),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])]
    outputs = [helper.make_tensor_value_info("total", TensorProto.FLOAT, ["n", 6, 1, 1]),
               helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["n", 6])]
    return _save(path, nodes, inputs, outputs, inits)


def write_data(path: Path, shapes: dict[str, tuple[int, ...]], n: int, seed: int = 3) -> Path:
    """An .npz with one float32 array [n, *shape] per input name."""
    rng = np.random.default_rng(seed)
    np.savez(path, **{name: rng.normal(size=(n, *shape)).astype(np.float32) for name, shape in shapes.items()})
    return Path(path)


#: name -> (builder, {input: per-sample shape})
MODELS = {
    "reduce": (reduce_model, {"x": (3, 8, 8)}),
}
