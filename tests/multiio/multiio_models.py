"""Small real ONNX models with several inputs or several outputs, and their data files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _init(rng: np.random.Generator, name: str, shape: tuple[int, ...], scale: float) -> onnx.TensorProto:
    return numpy_helper.from_array((rng.normal(size=shape) * scale).astype(np.float32), name)


def _save(path: Path, nodes, inputs, outputs, inits) -> Path:
    graph = helper.make_graph(nodes, Path(path).stem, inputs, outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return Path(path)


def two_input_model(path: Path, seed: int = 0) -> Path:
    """image [n,2,8,8] and aux [n,3,8,8] -> a conv branch each -> add -> relu -> pool -> fc -> logits [n,4]."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "wa", (6, 2, 3, 3), 0.5),
        _init(rng, "ba", (6,), 0.1),
        _init(rng, "wb", (6, 3, 1, 1), 0.5),
        _init(rng, "bb", (6,), 0.1),
        _init(rng, "fw", (6, 4), 0.8),
        _init(rng, "fb", (4,), 0.1),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "wa", "ba"], ["conv_a"], name="conv_a", pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["aux", "wb", "bb"], ["conv_b"], name="conv_b"),
        helper.make_node("Add", ["conv_a", "conv_b"], ["sum"], name="add"),
        helper.make_node("Relu", ["sum"], ["relu"], name="relu"),
        helper.make_node("GlobalAveragePool", ["relu"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fw", "fb"], ["logits"], name="fc"),
    ]
    inputs = [
        helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 2, 8, 8]),
        helper.make_tensor_value_info("aux", TensorProto.FLOAT, ["n", 3, 8, 8]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 4])]
    return _save(path, nodes, inputs, outputs, inits)


def two_output_model(path: Path, seed: int = 1) -> Path:
    """x [n,2,8,8] -> conv -> relu -> pool -> two heads: 'class' logits [n,5] and 'box' regression [n,2]."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "w", (8, 2, 3, 3), 0.5),
        _init(rng, "b", (8,), 0.1),
        _init(rng, "cw", (8, 5), 0.8),
        _init(rng, "cb", (5,), 0.1),
        _init(rng, "rw", (8, 2), 0.8),
        _init(rng, "rb", (2,), 0.1),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("GlobalAveragePool", ["relu"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "cw", "cb"], ["class"], name="classifier"),
        helper.make_node("Gemm", ["flat", "rw", "rb"], ["box"], name="regressor"),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, 8, 8])]
    outputs = [
        helper.make_tensor_value_info("class", TensorProto.FLOAT, ["n", 5]),
        helper.make_tensor_value_info("box", TensorProto.FLOAT, ["n", 2]),
    ]
    return _save(path, nodes, inputs, outputs, inits)


def two_in_two_out_dense(path: Path, seed: int = 2) -> Path:
    """Rank-2 inputs a [n,8] and b [n,6] -> fc each -> add -> relu -> heads 'p' [n,3] and 'q' [n,2]."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "wa", (8, 10), 0.5),
        _init(rng, "ba", (10,), 0.1),
        _init(rng, "wb", (6, 10), 0.5),
        _init(rng, "bb", (10,), 0.1),
        _init(rng, "wp", (10, 3), 0.6),
        _init(rng, "bp", (3,), 0.1),
        _init(rng, "wq", (10, 2), 0.6),
        _init(rng, "bq", (2,), 0.1),
    ]
    nodes = [
        helper.make_node("Gemm", ["a", "wa", "ba"], ["fa"], name="fc_a"),
        helper.make_node("Gemm", ["b", "wb", "bb"], ["fb"], name="fc_b"),
        helper.make_node("Add", ["fa", "fb"], ["sum"], name="add"),
        helper.make_node("Relu", ["sum"], ["hidden"], name="relu"),
        helper.make_node("Gemm", ["hidden", "wp", "bp"], ["p"], name="head_p"),
        helper.make_node("Gemm", ["hidden", "wq", "bq"], ["q"], name="head_q"),
    ]
    inputs = [
        helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", 8]),
        helper.make_tensor_value_info("b", TensorProto.FLOAT, ["n", 6]),
    ]
    outputs = [
        helper.make_tensor_value_info("p", TensorProto.FLOAT, ["n", 3]),
        helper.make_tensor_value_info("q", TensorProto.FLOAT, ["n", 2]),
    ]
    return _save(path, nodes, inputs, outputs, inits)


def write_data(
    path: Path, shapes: dict[str, tuple[int, ...]], n: int, seed: int = 3, labels: dict[str, int] | None = None
) -> Path:
    """An .npz with one float32 array [n, *shape] per input name, plus integer label arrays (key -> classes)."""
    rng = np.random.default_rng(seed)
    arrays = {name: rng.normal(size=(n, *shape)).astype(np.float32) for name, shape in shapes.items()}
    for key, classes in (labels or {}).items():
        arrays[key] = rng.integers(0, classes, size=n).astype(np.int64)
    np.savez(path, **arrays)
    return Path(path)


#: name -> (builder, {input: per-sample shape}, {label key: classes})
MODELS = {
    "two_inputs": (two_input_model, {"image": (2, 8, 8), "aux": (3, 8, 8)}, {"label": 4}),
    "two_outputs": (two_output_model, {"x": (2, 8, 8)}, {"label/class": 5}),
    "dense": (two_in_two_out_dense, {"a": (8,), "b": (6,)}, {"label/p": 3, "label/q": 2}),
}
