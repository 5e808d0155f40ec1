"""Small real ONNX models using the table ops, PRelu, Min / Max, Sub and Div (built with
onnx.helper), and their calibration data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

C = 4  # channels after the first conv


def _init(name: str, data) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(data, dtype=np.float32), name)


def _conv(rng, name: str, x: str, out: str, c_in: int, c_out: int) -> tuple[list, list]:
    inits = [
        _init(f"{name}_w", rng.normal(size=(c_out, c_in, 3, 3)) * 0.4),
        _init(f"{name}_b", rng.normal(size=c_out) * 0.1),
    ]
    return [helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [out], name=name, pads=[1, 1, 1, 1])], inits


def _save(path: Path, nodes, inputs: dict[str, list], outputs: dict[str, list], inits, opset: int = 20) -> Path:
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["n", *s]) for n, s in inputs.items()]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["n", *s]) for n, s in outputs.items()]
    graph = helper.make_graph(nodes, Path(path).stem, ins, outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return Path(path)


def _branches(path: Path, ops: list[tuple[str, dict]], seed: int) -> Path:
    """x [n,2,6,6] -> conv -> one branch per unary op, each a model output u0, u1, ..."""
    rng = np.random.default_rng(seed)
    nodes, inits = _conv(rng, "conv", "x", "c", 2, C)
    outs = []
    for i, (op, attrs) in enumerate(ops):
        src = "c"
        if op in ("Log", "Sqrt", "Reciprocal"):
            # a positive input, or |x| whose quantized range reaches 0 and below (the domain guards)
            guard = "Sigmoid" if i % 2 == 0 else "Abs"
            nodes.append(helper.make_node(guard, ["c"], [f"pos{i}"], name=f"pos{i}"))
            src = f"pos{i}"
        nodes.append(helper.make_node(op, [src], [f"u{i}"], name=f"{op.lower()}{i}", **attrs))
        outs.append(f"u{i}")
    return _save(path, nodes, {"x": [2, 6, 6]}, {name: [C, 6, 6] for name in outs}, inits)


def unary_a(path: Path) -> Path:
    return _branches(
        path, [("Sigmoid", {}), ("Tanh", {}), ("HardSigmoid", {"alpha": 0.25, "beta": 0.4}), ("HardSwish", {})], seed=1
    )


def unary_b(path: Path) -> Path:
    return _branches(path, [("Elu", {"alpha": 0.7}), ("Selu", {}), ("Celu", {"alpha": 1.3}), ("Gelu", {})], seed=2)


def unary_c(path: Path) -> Path:
    return _branches(path, [("Softplus", {}), ("Softsign", {}), ("Mish", {}), ("Exp", {})], seed=3)


def unary_d(path: Path) -> Path:
    return _branches(path, [("Abs", {}), ("Neg", {}), ("Erf", {}), ("Gelu", {"approximate": "tanh"})], seed=4)


def unary_domain(path: Path) -> Path:
    """Log / Sqrt / Reciprocal of a positive input and of |x| (zero and below on the integer grid)."""
    return _branches(path, [("Log", {}), ("Log", {}), ("Reciprocal", {}), ("Sqrt", {})], seed=5)


def silu_hardswish(path: Path) -> Path:
    """conv -> x * Sigmoid(x) -> conv -> x * HardSigmoid(x) (alpha 1/6, beta 1/2): two fused luts."""
    rng = np.random.default_rng(4)
    n1, i1 = _conv(rng, "conv1", "x", "c1", 2, C)
    n2, i2 = _conv(rng, "conv2", "silu", "c2", C, C)
    nodes = [
        *n1,
        helper.make_node("Sigmoid", ["c1"], ["sig"], name="sigmoid"),
        helper.make_node("Mul", ["c1", "sig"], ["silu"], name="silu_mul"),
        *n2,
        helper.make_node("HardSigmoid", ["c2"], ["hsig"], name="hardsigmoid", alpha=1 / 6, beta=0.5),
        helper.make_node("Mul", ["hsig", "c2"], ["y"], name="hardswish_mul"),
    ]
    return _save(path, nodes, {"x": [2, 6, 6]}, {"y": [C, 6, 6]}, [*i1, *i2])


def torch_hardswish(path: Path) -> Path:
    """PyTorch's decomposed HardSwish: x * Clip(x + 3, 0, 6) / 6 -> one lut and the / 6."""
    rng = np.random.default_rng(8)
    n1, i1 = _conv(rng, "conv1", "x", "c1", 2, C)
    inits = [*i1, _init("three", 3.0), _init("zero", 0.0), _init("six", 6.0), _init("six_d", 6.0)]
    nodes = [
        *n1,
        helper.make_node("Add", ["c1", "three"], ["p3"], name="plus3"),
        helper.make_node("Clip", ["p3", "zero", "six"], ["r6"], name="relu6"),
        helper.make_node("Mul", ["c1", "r6"], ["m"], name="times"),
        helper.make_node("Div", ["m", "six_d"], ["y"], name="div6"),
    ]
    return _save(path, nodes, {"x": [2, 6, 6]}, {"y": [C, 6, 6]}, inits)


def prelu(path: Path) -> Path:
    """conv -> PRelu(per-channel slope [C,1,1]) -> conv -> PRelu(scalar slope) -> y."""
    rng = np.random.default_rng(5)
    n1, i1 = _conv(rng, "conv1", "x", "c1", 2, C)
    n2, i2 = _conv(rng, "conv2", "p1", "c2", C, C)
    inits = [*i1, *i2, _init("slope_c", np.array([0.1, -0.3, 0.6, 0.02]).reshape(C, 1, 1)), _init("slope_1", [0.2])]
    nodes = [
        *n1,
        helper.make_node("PRelu", ["c1", "slope_c"], ["p1"], name="prelu_c"),
        *n2,
        helper.make_node("PRelu", ["c2", "slope_1"], ["y"], name="prelu_1"),
    ]
    return _save(path, nodes, {"x": [2, 6, 6]}, {"y": [C, 6, 6]}, inits)


def minmax(path: Path) -> Path:
    """Two inputs: Min(conv a, conv b), Max(., scalar), Min(per-channel constant, .) (constant first) -> y."""
    rng = np.random.default_rng(6)
    na, ia = _conv(rng, "conv_a", "a", "ca", 2, C)
    nb, ib = _conv(rng, "conv_b", "b", "cb", 3, C)
    inits = [*ia, *ib, _init("floor", [-0.2]), _init("ceil", np.array([0.5, 0.1, 0.3, 0.8]).reshape(C, 1, 1))]
    nodes = [
        *na,
        *nb,
        helper.make_node("Min", ["ca", "cb"], ["m1"], name="min_ab"),
        helper.make_node("Max", ["m1", "floor"], ["m2"], name="max_floor"),
        helper.make_node("Min", ["ceil", "m2"], ["m3"], name="min_ceil"),
        helper.make_node("Max", ["m3", "ca"], ["y"], name="max_a"),
    ]
    return _save(path, nodes, {"a": [2, 6, 6], "b": [3, 6, 6]}, {"y": [C, 6, 6]}, inits)


def sub_div(path: Path) -> Path:
    """x - c (scalar), x / c (per channel), a - b of two activations, 1 - x (constant first)."""
    rng = np.random.default_rng(7)
    na, ia = _conv(rng, "conv_a", "x", "ca", 2, C)
    nb, ib = _conv(rng, "conv_b", "x", "cb", 2, C)
    inits = [
        *ia,
        *ib,
        _init("k", [0.25]),
        _init("d", np.array([2.0, -4.0, 0.5, 8.0]).reshape(C, 1, 1)),
        _init("one", [1.0]),
    ]
    nodes = [
        *na,
        *nb,
        helper.make_node("Sub", ["ca", "k"], ["s1"], name="sub_const"),
        helper.make_node("Div", ["s1", "d"], ["d1"], name="div_const"),
        helper.make_node("Sub", ["d1", "cb"], ["s2"], name="sub_acts"),
        helper.make_node("Sub", ["one", "s2"], ["y"], name="one_minus"),
    ]
    return _save(path, nodes, {"x": [2, 6, 6]}, {"y": [C, 6, 6]}, inits)


#: name -> (builder, {input: per-sample shape})
MODELS = {
    "unary_a": (unary_a, {"x": (2, 6, 6)}),
    "unary_b": (unary_b, {"x": (2, 6, 6)}),
    "unary_c": (unary_c, {"x": (2, 6, 6)}),
    "unary_d": (unary_d, {"x": (2, 6, 6)}),
    "unary_domain": (unary_domain, {"x": (2, 6, 6)}),
    "silu_hardswish": (silu_hardswish, {"x": (2, 6, 6)}),
    "prelu": (prelu, {"x": (2, 6, 6)}),
    "torch_hardswish": (torch_hardswish, {"x": (2, 6, 6)}),
    "minmax": (minmax, {"a": (2, 6, 6), "b": (3, 6, 6)}),
    "sub_div": (sub_div, {"x": (2, 6, 6)}),
}


def write_data(path: Path, shapes: dict[str, tuple[int, ...]], n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    np.savez(path, **{name: rng.normal(size=(n, *shape)).astype(np.float32) for name, shape in shapes.items()})
    return Path(path)
