"""Small real ONNX attention models (built with onnx.helper): MatMul of two activations at rank 3
(lifted) and rank 4 (heads), LayerNormalization (opset 17) and the decomposed pattern in both the
Pow and the Mul(x, x) forms, and their calibration data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

S, D, H = 6, 8, 2  # sequence, model width, heads


def _init(name: str, data) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(data, dtype=np.float32), name)


def _save(path: Path, nodes, inputs: dict[str, list], outputs: dict[str, list], inits, opset: int = 17) -> Path:
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["n", *s]) for n, s in inputs.items()]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["n", *s]) for n, s in outputs.items()]
    graph = helper.make_graph(nodes, Path(path).stem, ins, outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return Path(path)


def _decomposed_ln(prefix: str, x: str, out: str, depth: int, rng, square: str, axes_input: bool) -> tuple:
    """ReduceMean -> Sub -> Pow 2 (or Mul(d, d)) -> ReduceMean -> Add eps -> Sqrt -> Div -> Mul -> Add."""

    def mean(src, dst, name):
        if axes_input:
            return helper.make_node("ReduceMean", [src, f"{prefix}_axes"], [dst], name=name, keepdims=1)
        return helper.make_node("ReduceMean", [src], [dst], name=name, axes=[-1], keepdims=1)

    nodes = [
        mean(x, f"{prefix}_m", f"{prefix}_mean"),
        helper.make_node("Sub", [x, f"{prefix}_m"], [f"{prefix}_d"], name=f"{prefix}_sub"),
    ]
    if square == "pow":
        nodes.append(helper.make_node("Pow", [f"{prefix}_d", f"{prefix}_two"], [f"{prefix}_p"], name=f"{prefix}_pow"))
    else:
        nodes.append(helper.make_node("Mul", [f"{prefix}_d", f"{prefix}_d"], [f"{prefix}_p"], name=f"{prefix}_sq"))
    nodes += [
        mean(f"{prefix}_p", f"{prefix}_v", f"{prefix}_var"),
        helper.make_node("Add", [f"{prefix}_v", f"{prefix}_eps"], [f"{prefix}_ve"], name=f"{prefix}_addeps"),
        helper.make_node("Sqrt", [f"{prefix}_ve"], [f"{prefix}_s"], name=f"{prefix}_sqrt"),
        helper.make_node("Div", [f"{prefix}_d", f"{prefix}_s"], [f"{prefix}_n"], name=f"{prefix}_div"),
        helper.make_node("Mul", [f"{prefix}_n", f"{prefix}_g"], [f"{prefix}_y"], name=f"{prefix}_gamma"),
        helper.make_node("Add", [f"{prefix}_y", f"{prefix}_b"], [out], name=f"{prefix}_beta"),
    ]
    inits = [
        _init(f"{prefix}_two", 2.0),
        _init(f"{prefix}_eps", 1e-5),
        _init(f"{prefix}_g", 1.0 + 0.3 * rng.normal(size=depth)),
        _init(f"{prefix}_b", 0.2 * rng.normal(size=depth)),
    ]
    if axes_input:
        inits.append(numpy_helper.from_array(np.array([-1], np.int64), f"{prefix}_axes"))
    if square != "pow":
        inits = [i for i in inits if i.name != f"{prefix}_two"]
    return nodes, inits


def scores_rank3(path: Path) -> Path:
    """x [n, S, D]: softmax(x x^T) x -> LayerNormalization (every rank-3 op lifts to (N, C, 1, L))."""
    rng = np.random.default_rng(3)
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], name="kt", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["x", "xt"], ["scores"], name="qk"),
        helper.make_node("Softmax", ["scores"], ["probs"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["probs", "x"], ["ctx"], name="pv"),
        helper.make_node("LayerNormalization", ["ctx", "g", "b"], ["y"], name="ln", axis=-1, epsilon=1e-5),
    ]
    inits = [_init("g", 1.0 + 0.3 * rng.normal(size=D)), _init("b", 0.2 * rng.normal(size=D))]
    return _save(path, nodes, {"x": [S, D]}, {"y": [S, D]}, inits)


def heads_rank4(path: Path) -> Path:
    """q, k, v [n, H, S, D/H]: softmax(q k^T / sqrt(d)) v per head, batch dims H (and a broadcast k)."""
    dh = D // H
    nodes = [
        helper.make_node("Transpose", ["k"], ["kt"], name="kt", perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"], name="qk"),
        helper.make_node("Mul", ["scores", "scale"], ["scaled"], name="scale"),
        helper.make_node("Softmax", ["scaled"], ["probs"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["probs", "v"], ["y"], name="pv"),
    ]
    return _save(
        path,
        nodes,
        {"q": [H, S, dh], "k": [H, S, dh], "v": [H, S, dh]},
        {"y": [H, S, dh]},
        [_init("scale", 1 / np.sqrt(dh))],
    )


def two_operands_rank3(path: Path) -> Path:
    """a [n, S, D] x b [n, D, 5]: a plain MatMul of two graph inputs."""
    nodes = [helper.make_node("MatMul", ["a", "b"], ["y"], name="ab")]
    return _save(path, nodes, {"a": [S, D], "b": [D, 5]}, {"y": [S, 5]}, [])


def ln_decomposed_pow(path: Path) -> Path:
    """x [n, 16] -> decomposed layer norm (Pow, axes as attribute, opset 13)."""
    nodes, inits = _decomposed_ln("ln", "x", "y", 16, np.random.default_rng(5), "pow", axes_input=False)
    return _save(path, nodes, {"x": [16]}, {"y": [16]}, inits, opset=13)


def ln_decomposed_mul(path: Path) -> Path:
    """x [n, S, D] -> decomposed layer norm (Mul(d, d), axes as an input, opset 18), rank 3."""
    nodes, inits = _decomposed_ln("ln", "x", "y", D, np.random.default_rng(6), "mul", axes_input=True)
    return _save(path, nodes, {"x": [S, D]}, {"y": [S, D]}, inits, opset=18)


def ln_rank4(path: Path) -> Path:
    """x [n, 3, 4, 8]: LayerNormalization over W (the stored layout's middle axis: inner = C)."""
    rng = np.random.default_rng(8)
    nodes = [helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], name="ln", axis=-1, epsilon=1e-3)]
    return _save(
        path,
        nodes,
        {"x": [3, 4, 8]},
        {"y": [3, 4, 8]},
        [_init("g", 1.0 + 0.3 * rng.normal(size=8)), _init("b", 0.2 * rng.normal(size=8))],
    )


def _linear(rng, name: str, x: str, out: str, d_in: int, d_out: int) -> tuple[list, list]:
    """MatMul by a constant [d_in, d_out] then Add of a constant bias (the PyTorch nn.Linear export)."""
    nodes = [
        helper.make_node("MatMul", [x, f"{name}_w"], [f"{name}_mm"], name=f"{name}_matmul"),
        helper.make_node("Add", [f"{name}_mm", f"{name}_b"], [out], name=f"{name}_bias"),
    ]
    inits = [
        _init(f"{name}_w", rng.normal(size=(d_in, d_out)) / np.sqrt(d_in)),
        _init(f"{name}_b", 0.1 * rng.normal(size=d_out)),
    ]
    return nodes, inits


def attention_block(path: Path) -> Path:
    """x [n, S, D]: Q, K, V projections, softmax(Q K^T / sqrt(D)) V, output projection, residual, LayerNorm."""
    rng = np.random.default_rng(11)
    nodes, inits = [], []
    for name in ("q", "k", "v"):
        n, i = _linear(rng, name, "x", name, D, D)
        nodes += n
        inits += i
    nodes += [
        helper.make_node("Transpose", ["k"], ["kt"], name="kt", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"], name="qk"),
        helper.make_node("Mul", ["scores", "scale"], ["scaled"], name="scale"),
        helper.make_node("Softmax", ["scaled"], ["probs"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["probs", "v"], ["ctx"], name="pv"),
    ]
    n, i = _linear(rng, "o", "ctx", "proj", D, D)
    nodes += n + [
        helper.make_node("Add", ["x", "proj"], ["res"], name="residual"),
        helper.make_node("LayerNormalization", ["res", "g", "b"], ["y"], name="ln", axis=-1),
    ]
    inits += i + [
        _init("scale", 1 / np.sqrt(D)),
        _init("g", 1.0 + 0.2 * rng.normal(size=D)),
        _init("b", 0.1 * rng.normal(size=D)),
    ]
    return _save(path, nodes, {"x": [S, D]}, {"y": [S, D]}, inits)


def gelu_rank3(path: Path) -> Path:
    """x [n, S, D] -> a projection -> Gelu (exact), Gelu (tanh) and Erf, each a model output (opset 20)."""
    rng = np.random.default_rng(12)
    nodes, inits = _linear(rng, "p", "x", "h", D, D)
    nodes += [
        helper.make_node("Gelu", ["h"], ["g_exact"], name="gelu_exact"),
        helper.make_node("Gelu", ["h"], ["g_tanh"], name="gelu_tanh", approximate="tanh"),
        helper.make_node("Erf", ["h"], ["e"], name="erf"),
    ]
    return _save(path, nodes, {"x": [S, D]}, {"g_exact": [S, D], "g_tanh": [S, D], "e": [S, D]}, inits, opset=20)


def _gelu_tail(prefix: str, x: str, g: str, out: str) -> list:
    """Add(g, 1), Mul(x, .), Mul(., 0.5)."""
    return [
        helper.make_node("Add", [g, "one"], [f"{prefix}_a"], name=f"{prefix}_plus1"),
        helper.make_node("Mul", [x, f"{prefix}_a"], [f"{prefix}_xa"], name=f"{prefix}_times_x"),
        helper.make_node("Mul", [f"{prefix}_xa", "half"], [out], name=f"{prefix}_half"),
    ]


def gelu_decomposed(path: Path) -> Path:
    """x [n, S, D] -> a projection -> the exact GELU as Div / Erf / Add / Mul / Mul, and the tanh form with
    Pow(x, 3) and with Mul(x, Mul(x, x)) (the PyTorch exports before opset 20)."""
    rng = np.random.default_rng(13)
    nodes, inits = _linear(rng, "p", "x", "h", D, D)
    nodes += [
        helper.make_node("Div", ["h", "sqrt2"], ["e_in"], name="e_div"),
        helper.make_node("Erf", ["e_in"], ["e_erf"], name="e_erf"),
    ] + _gelu_tail("e", "h", "e_erf", "y_exact")
    for k, cube in (("p", "pow"), ("m", "mul")):
        if cube == "pow":
            nodes.append(helper.make_node("Pow", ["h", "three"], [f"{k}_x3"], name=f"{k}_pow"))
        else:
            nodes += [
                helper.make_node("Mul", ["h", "h"], [f"{k}_x2"], name=f"{k}_sq"),
                helper.make_node("Mul", ["h", f"{k}_x2"], [f"{k}_x3"], name=f"{k}_cube"),
            ]
        nodes += [
            helper.make_node("Mul", [f"{k}_x3", "c044"], [f"{k}_c"], name=f"{k}_coef"),
            helper.make_node("Add", ["h", f"{k}_c"], [f"{k}_in"], name=f"{k}_add"),
            helper.make_node("Mul", [f"{k}_in", "s2pi"], [f"{k}_s"], name=f"{k}_scale"),
            helper.make_node("Tanh", [f"{k}_s"], [f"{k}_t"], name=f"{k}_tanh"),
        ]
        nodes += _gelu_tail(k, "h", f"{k}_t", f"y_tanh_{cube}")
    inits += [
        _init("sqrt2", np.sqrt(2)),
        _init("one", 1.0),
        _init("half", 0.5),
        _init("three", 3.0),
        _init("c044", 0.044715),
        _init("s2pi", np.sqrt(2 / np.pi)),
    ]
    outs = {"y_exact": [S, D], "y_tanh_pow": [S, D], "y_tanh_mul": [S, D]}
    return _save(path, nodes, {"x": [S, D]}, outs, inits, opset=17)


MODELS = {
    "gelu_rank3": (gelu_rank3, {"x": (S, D)}),
    "gelu_decomposed": (gelu_decomposed, {"x": (S, D)}),
    "attention_block": (attention_block, {"x": (S, D)}),
    "scores_rank3": (scores_rank3, {"x": (S, D)}),
    "heads_rank4": (heads_rank4, {"q": (H, S, D // H), "k": (H, S, D // H), "v": (H, S, D // H)}),
    "two_operands_rank3": (two_operands_rank3, {"a": (S, D), "b": (D, 5)}),
    "ln_decomposed_pow": (ln_decomposed_pow, {"x": (16,)}),
    "ln_decomposed_mul": (ln_decomposed_mul, {"x": (S, D)}),
    "ln_rank4": (ln_rank4, {"x": (3, 4, 8)}),
}


def write_data(path: Path, shapes: dict[str, tuple[int, ...]], n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    np.savez(
        path, **{name: (rng.normal(size=(n, *shape)) * 1.5 + 0.3).astype(np.float32) for name, shape in shapes.items()}
    )
    return Path(path)


def model_folder(folder: Path, name: str, calib: int = 48, evals: int = 0) -> Path:
    """``folder`` with model ``name`` as model.onnx, ``calib`` calibration samples (seed 1) in calib.npz and,
    when ``evals``, that many eval samples (seed 2) in eval.npz -- the layout the CLI and the jobs read."""
    build, shapes = MODELS[name]
    build(folder / "model.onnx")
    write_data(folder / "calib.npz", shapes, calib, seed=1)
    if evals:
        write_data(folder / "eval.npz", shapes, evals, seed=2)
    return folder
