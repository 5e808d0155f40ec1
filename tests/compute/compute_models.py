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
    inits = [
        _init(rng, "w", (6, 3, 3, 3), 0.4),
        _init(rng, "b", (6,), 0.1),
        numpy_helper.from_array(np.array([2], np.int64), "axes_h"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("ReduceMax", ["relu"], ["rmax"], name="rmax", axes=[-1], keepdims=1),
        helper.make_node("ReduceSum", ["rmax", "axes_h"], ["total"], name="rsum", keepdims=1),
        helper.make_node("ReduceMean", ["conv"], ["mean"], name="rmean", axes=[2, 3], keepdims=0),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])]
    outputs = [
        helper.make_tensor_value_info("total", TensorProto.FLOAT, ["n", 6, 1, 1]),
        helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["n", 6]),
    ]
    return _save(path, nodes, inputs, outputs, inits)


def tcn_model(path: Path, seed: int = 1) -> Path:
    """A TCN-style audio net on x [n,4,32] (N, C, L): Conv1d (dilation 2) -> BatchNorm -> Relu ->
    depthwise Conv1d -> Relu -> MaxPool1d -> AveragePool1d -> 1x1 Conv1d, then two heads:
    ReduceMean over L (keepdims 0) -> Gemm 'logits' [n,5], and Softmax(axis=-1) over L 'attention'
    [n,6,8] (rank 3)."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "w1", (8, 4, 3), 0.4),
        _init(rng, "b1", (8,), 0.1),
        numpy_helper.from_array(rng.uniform(0.5, 1.5, 8).astype(np.float32), "bn_s"),
        _init(rng, "bn_b", (8,), 0.1),
        _init(rng, "bn_m", (8,), 0.1),
        numpy_helper.from_array(rng.uniform(0.5, 1.5, 8).astype(np.float32), "bn_v"),
        _init(rng, "wd", (8, 1, 3), 0.5),
        _init(rng, "bd", (8,), 0.1),
        _init(rng, "w2", (6, 8, 1), 0.4),
        _init(rng, "b2", (6,), 0.1),
        _init(rng, "fw", (6, 5), 0.6),
        _init(rng, "fb", (5,), 0.1),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[2, 2], dilations=[2]),
        helper.make_node("BatchNormalization", ["c1", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"], name="bn"),
        helper.make_node("Relu", ["bn"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "wd", "bd"], ["dw"], name="dwconv", group=8, pads=[1, 1]),
        helper.make_node("Relu", ["dw"], ["r2"], name="relu2"),
        helper.make_node("MaxPool", ["r2"], ["mp"], name="maxpool", kernel_shape=[2], strides=[2]),
        helper.make_node("AveragePool", ["mp"], ["ap"], name="avgpool", kernel_shape=[2], strides=[2]),
        helper.make_node("Conv", ["ap", "w2", "b2"], ["c2"], name="conv2"),
        helper.make_node("ReduceMean", ["c2"], ["mean"], name="mean", axes=[2], keepdims=0),
        helper.make_node("Gemm", ["mean", "fw", "fb"], ["logits"], name="fc"),
        helper.make_node("Softmax", ["c2"], ["attention"], name="attn", axis=-1),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4, 32])]
    outputs = [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 5]),
        helper.make_tensor_value_info("attention", TensorProto.FLOAT, ["n", 6, 8]),
    ]
    return _save(path, nodes, inputs, outputs, inits)


def softmax_reduce_model(path: Path, seed: int = 2) -> Path:
    """x [n,3,6,6] -> conv -> Softmax(axis=1) 'probs' [n,4,6,6]; ReduceMax over C (keepdims) ->
    Softmax(axis=2, over H) 'rows' [n,1,6,6]; ReduceSum over all but N of the conv 'sum' [n,1,1,1]."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "w", (4, 3, 3, 3), 0.4),
        _init(rng, "b", (4,), 0.1),
        numpy_helper.from_array(np.array([-3, -2, -1], np.int64), "sum_axes"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Softmax", ["conv"], ["probs"], name="softmax_c", axis=1),
        helper.make_node("ReduceMax", ["conv"], ["cmax"], name="cmax", axes=[1], keepdims=1),
        helper.make_node("Softmax", ["cmax"], ["rows"], name="softmax_h", axis=2),
        helper.make_node("ReduceSum", ["conv", "sum_axes"], ["sum"], name="total", keepdims=1),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 6, 6])]
    outputs = [
        helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["n", 4, 6, 6]),
        helper.make_tensor_value_info("rows", TensorProto.FLOAT, ["n", 1, 6, 6]),
        helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["n", 1, 1, 1]),
    ]
    return _save(path, nodes, inputs, outputs, inits)


def unet_model(path: Path, seed: int = 3) -> Path:
    """A UNet-ish segmenter on x [n,3,8,8]: conv -> relu (skip) -> strided conv -> relu ->
    ConvTranspose (stride 2, kernel 3, pads 1, output_padding 1) -> BatchNorm -> relu -> Concat with
    the skip -> conv -> 'mask' [n,2,8,8]; plus a stride-3 ConvTranspose (stride > kernel) 'up'."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "w1", (6, 3, 3, 3), 0.4),
        _init(rng, "b1", (6,), 0.1),
        _init(rng, "w2", (8, 6, 3, 3), 0.3),
        _init(rng, "b2", (8,), 0.1),
        _init(rng, "wt", (8, 6, 3, 3), 0.3),
        _init(rng, "bt", (6,), 0.1),
        numpy_helper.from_array(rng.uniform(0.5, 1.5, 6).astype(np.float32), "bn_s"),
        _init(rng, "bn_b", (6,), 0.1),
        _init(rng, "bn_m", (6,), 0.1),
        numpy_helper.from_array(rng.uniform(0.5, 1.5, 6).astype(np.float32), "bn_v"),
        _init(rng, "w3", (2, 12, 1, 1), 0.4),
        _init(rng, "b3", (2,), 0.1),
        _init(rng, "wu", (8, 2, 2, 2), 0.3),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="enc1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["skip"], name="relu1"),
        helper.make_node("Conv", ["skip", "w2", "b2"], ["c2"], name="down", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["bottom"], name="relu2"),
        helper.make_node(
            "ConvTranspose",
            ["bottom", "wt", "bt"],
            ["t"],
            name="upconv",
            strides=[2, 2],
            pads=[1, 1, 1, 1],
            output_padding=[1, 1],
        ),
        helper.make_node("BatchNormalization", ["t", "bn_s", "bn_b", "bn_m", "bn_v"], ["tb"], name="bn"),
        helper.make_node("Relu", ["tb"], ["up1"], name="relu3"),
        helper.make_node("Concat", ["up1", "skip"], ["cat"], name="cat", axis=1),
        helper.make_node("Conv", ["cat", "w3", "b3"], ["mask"], name="head"),
        helper.make_node("ConvTranspose", ["bottom", "wu"], ["up"], name="up3", strides=[3, 3]),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])]
    outputs = [
        helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["n", 2, 8, 8]),
        helper.make_tensor_value_info("up", TensorProto.FLOAT, ["n", 2, 11, 11]),
    ]
    return _save(path, nodes, inputs, outputs, inits)


def rank3_mixed_model(path: Path, seed: int = 4) -> Path:
    """Table, movement and binary ops on lifted (N, C, L) tensors: x [n,4,16] -> Conv1d -> SiLU
    (x * Sigmoid(x)) -> PRelu (slope [C, 1]) -> Max with a Tanh branch -> Split on L -> 'first'
    [n,6,8]; the other half -> Transpose(0, 2, 1) 'last_t' [n,8,6]."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "w", (6, 4, 3), 0.4),
        _init(rng, "b", (6,), 0.1),
        numpy_helper.from_array(rng.uniform(0.05, 0.3, (6, 1)).astype(np.float32), "slope"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1]),
        helper.make_node("Sigmoid", ["c"], ["sig"], name="sig"),
        helper.make_node("Mul", ["c", "sig"], ["silu"], name="silu"),
        helper.make_node("PRelu", ["silu", "slope"], ["pr"], name="prelu"),
        helper.make_node("Tanh", ["c"], ["th"], name="tanh"),
        helper.make_node("Max", ["pr", "th"], ["mx"], name="max"),
        helper.make_node("Split", ["mx"], ["first", "last"], name="split", axis=2, num_outputs=2),
        helper.make_node("Transpose", ["last"], ["last_t"], name="tr", perm=[0, 2, 1]),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4, 16])]
    outputs = [
        helper.make_tensor_value_info("first", TensorProto.FLOAT, ["n", 6, 8]),
        helper.make_tensor_value_info("last_t", TensorProto.FLOAT, ["n", 8, 6]),
    ]
    return _save(path, nodes, inputs, outputs, inits, opset=18)


def seq_linear_model(path: Path, seed: int = 6) -> Path:
    """Linear layers on a sequence, as a transformer's MLP exports: x [n,12,10] (N, T, C; not lifted,
    MatMul takes row-major rank 3) -> MatMul [10,16] + bias -> exact Gelu as Div / Erf / Add / Mul / Mul
    -> MatMul [16,8] + bias 'seq' [n,12,8]; ReduceMean over T (keepdims 0) 'pooled' [n,8]."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "w1", (10, 16), 0.4),
        _init(rng, "b1", (16,), 0.1),
        _init(rng, "w2", (16, 8), 0.4),
        _init(rng, "b2", (8,), 0.1),
    ]
    inits += [
        numpy_helper.from_array(np.array(v, np.float32), k) for k, v in (("sqrt2", 2**0.5), ("one", 1.0), ("half", 0.5))
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["m1"], name="fc1"),
        helper.make_node("Add", ["m1", "b1"], ["h"], name="fc1_bias"),
        helper.make_node("Div", ["h", "sqrt2"], ["hs"], name="gelu_div"),
        helper.make_node("Erf", ["hs"], ["e"], name="gelu_erf"),
        helper.make_node("Add", ["e", "one"], ["e1"], name="gelu_add"),
        helper.make_node("Mul", ["h", "e1"], ["g2"], name="gelu_mul"),
        helper.make_node("Mul", ["g2", "half"], ["g"], name="gelu_half"),
        helper.make_node("MatMul", ["g", "w2"], ["m2"], name="fc2"),
        helper.make_node("Add", ["m2", "b2"], ["seq"], name="fc2_bias"),
        helper.make_node("ReduceMean", ["seq"], ["pooled"], name="mean_t", axes=[1], keepdims=0),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 12, 10])]
    outputs = [
        helper.make_tensor_value_info("seq", TensorProto.FLOAT, ["n", 12, 8]),
        helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["n", 8]),
    ]
    return _save(path, nodes, inputs, outputs, inits)


def upsample_model(path: Path, seed: int = 5) -> Path:
    """ConvTranspose padding as ONNX generates it, on x [n,4,5,5] (full output 11 for kernel 3,
    stride 2): auto_pad SAME_UPPER and SAME_LOWER (output 10, total padding 1: 0 / 1 at the start)
    summed, and output_shape [10, 10] with NOTSET (the odd pad at the start), concatenated into
    'same'; a Pad mode wrap (H 1 / 2, W 2 / 1: x [n,4,8,8]) then output_shape [9, 9] (full 17,
    4 / 4) 'shape9'; stride 3 kernel 2 SAME_UPPER (full 14 < output 15: no
    padding, one extra row and column at the end) 'wide'; a depthwise ConvTranspose (group 4, one
    output channel per input channel, kernel 4 stride 2 pads 1: the usual learned 2x upsampler) then
    a grouped one (group 2, 2 -> 3 channels per group) 'grouped'."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "wu", (4, 3, 3, 3), 0.3),
        _init(rng, "bu", (3,), 0.1),
        _init(rng, "wl", (4, 3, 3, 3), 0.3),
        _init(rng, "w9", (4, 2, 3, 3), 0.3),
        _init(rng, "w10", (4, 2, 3, 3), 0.3),
        _init(rng, "ww", (4, 2, 2, 2), 0.3),
        _init(rng, "bw", (2,), 0.1),
        _init(rng, "wd", (4, 1, 4, 4), 0.4),
        _init(rng, "bd", (4,), 0.1),
        _init(rng, "wg", (4, 3, 3, 3), 0.3),
        _init(rng, "bg", (6,), 0.1),
        numpy_helper.from_array(np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64), "wrap_pads"),
    ]
    nodes = [
        helper.make_node(
            "ConvTranspose", ["x", "wu", "bu"], ["tu"], name="same_upper", strides=[2, 2], auto_pad="SAME_UPPER"
        ),
        helper.make_node(
            "ConvTranspose", ["x", "wl"], ["tl"], name="same_lower", strides=[2, 2], auto_pad="SAME_LOWER"
        ),
        helper.make_node("Add", ["tu", "tl"], ["sum"], name="sum"),
        helper.make_node("Pad", ["x", "wrap_pads"], ["xw"], name="pad_wrap", mode="wrap"),
        helper.make_node("ConvTranspose", ["xw", "w9"], ["shape9"], name="shape9", strides=[2, 2], output_shape=[9, 9]),
        helper.make_node(
            "ConvTranspose", ["x", "w10"], ["shape10"], name="shape10", strides=[2, 2], output_shape=[10, 10]
        ),
        helper.make_node("Concat", ["sum", "shape10"], ["same"], name="cat", axis=1),
        helper.make_node(
            "ConvTranspose", ["x", "ww", "bw"], ["wide"], name="wide", strides=[3, 3], auto_pad="SAME_UPPER"
        ),
        helper.make_node(
            "ConvTranspose", ["x", "wd", "bd"], ["dw"], name="depthwise", group=4, strides=[2, 2], pads=[1, 1, 1, 1]
        ),
        helper.make_node("Relu", ["dw"], ["dwr"], name="relu_dw"),
        helper.make_node(
            "ConvTranspose",
            ["dwr", "wg", "bg"],
            ["grouped"],
            name="grouped",
            group=2,
            pads=[1, 1, 1, 1],
            dilations=[2, 1],
        ),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4, 5, 5])]
    outputs = [
        helper.make_tensor_value_info("same", TensorProto.FLOAT, ["n", 5, 10, 10]),
        helper.make_tensor_value_info("shape9", TensorProto.FLOAT, ["n", 2, 9, 9]),
        helper.make_tensor_value_info("wide", TensorProto.FLOAT, ["n", 2, 15, 15]),
        helper.make_tensor_value_info("grouped", TensorProto.FLOAT, ["n", 6, 12, 10]),
    ]
    return _save(path, nodes, inputs, outputs, inits, opset=19)  # Pad mode wrap is opset 19


def write_data(path: Path, shapes: dict[str, tuple[int, ...]], n: int, seed: int = 3) -> Path:
    """An .npz with one float32 array [n, *shape] per input name."""
    rng = np.random.default_rng(seed)
    np.savez(path, **{name: rng.normal(size=(n, *shape)).astype(np.float32) for name, shape in shapes.items()})
    return Path(path)


#: name -> (builder, {input: per-sample shape})
MODELS = {
    "reduce": (reduce_model, {"x": (3, 8, 8)}),
    "tcn": (tcn_model, {"x": (4, 32)}),
    "softmax_reduce": (softmax_reduce_model, {"x": (3, 6, 6)}),
    "unet": (unet_model, {"x": (3, 8, 8)}),
    "rank3_mixed": (rank3_mixed_model, {"x": (4, 16)}),
    "upsample": (upsample_model, {"x": (4, 5, 5)}),
    "seq_linear": (seq_linear_model, {"x": (12, 10)}),
}
