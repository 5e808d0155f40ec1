"""Pass 3: rename ONNX ops to runtime op keys and normalize their attributes.

The ONNX rows whose ``normalized_by`` is "canonicalize" name their converter here
(fixpoint/ops/defs/).

Conv -> conv2d / depthwise_conv2d, pools (incl. global) -> max_pool / avg_pool,
Add / Mul / Concat / Softmax / Pad / LeakyRelu -> add / mul / concat / softmax /
pad / leaky_relu. Layouts stay ONNX (NCHW activations, OIHW weights, ONNX axes)
until ``plan_layout``; only the attribute *form* becomes the normalized one.
Ops handled by later passes (Gemm, MatMul, BatchNormalization, Relu, Clip,
reshapes) pass through untouched.
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from fixpoint.ir import Graph, Node
from fixpoint.normalize.graph_edit import add_const, prune
from fixpoint.normalize.geometry import window_of
from fixpoint.ops import registry
from fixpoint.iospec import ROW_MAJOR_RANKS
from fixpoint.normalize.attention_ops import row_major_softmax
from fixpoint.ops.onnx_ops import softmax_onnx_axes

log = logging.getLogger(__name__)

NO_ACT = {"act": "none", "act_range": None}
ADD_SIGNS = {"input_signs": [1, 1]}  # add: x1 + x2; Sub of activations / of a constant first negates one


def _conv(graph: Graph, node: Node) -> None:
    weight = graph.values[node.inputs[1]]
    c_out, _, kh, kw = weight.shape
    c_in = graph.values[node.inputs[0]].shape[1]
    group = int(node.attrs.get("group", 1))
    window = window_of(graph, node, [kh, kw])
    bias = (
        node.inputs[2]
        if len(node.inputs) > 2 and node.inputs[2]
        else add_const(graph, f"{node.name}.bias", np.zeros(c_out, np.float32))
    )
    attrs = {"strides": window.strides, "dilations": window.dilations, "pads": window.pads}
    if group > 1 and group == c_in:
        node.op = "depthwise_conv2d"
        attrs["depth_multiplier"] = c_out // c_in
    else:
        node.op = "conv2d"
        attrs["groups"] = group
    node.inputs = [node.inputs[0], node.inputs[1], bias]
    node.attrs = {**attrs, **NO_ACT}


def _pool(runtime_op: str) -> Callable[[Graph, Node], None]:
    def convert(graph: Graph, node: Node) -> None:
        window = window_of(graph, node, list(node.attrs["kernel_shape"]))
        node.op = runtime_op
        node.outputs = node.outputs[:1]  # MaxPool Indices: checked unused
        node.attrs = {"kernel": window.kernel, "strides": window.strides, "pads": window.pads}

    return convert


def _global_pool(runtime_op: str) -> Callable[[Graph, Node], None]:
    def convert(graph: Graph, node: Node) -> None:
        height, width = graph.values[node.inputs[0]].shape[2:]
        node.op = runtime_op
        node.attrs = {"kernel": [height, width], "strides": [1, 1], "pads": [0, 0, 0, 0]}

    return convert


def _elementwise(runtime_op: str, with_act: bool) -> Callable[[Graph, Node], None]:
    def convert(graph: Graph, node: Node) -> None:
        a, b = node.inputs[:2]
        if graph.values[a].is_const:  # both ops commute; the runtime wants the constant second
            a, b = b, a
        node.op, node.inputs = runtime_op, [a, b]
        node.attrs = {**NO_ACT, **ADD_SIGNS} if with_act else {}

    return convert


Converter = Callable[[Graph, Node], None]


def _by_constant(runtime_op: str, invert: Callable[[np.ndarray], np.ndarray]) -> Converter:
    """x - c -> x + (-c), x / c -> x * (1 / c): the runtime has add and mul only."""

    def convert(graph: Graph, node: Node) -> None:
        data = graph.values[node.inputs[1]].data.astype(np.float32)
        operand = add_const(graph, f"{node.name}.operand", invert(data))
        node.op, node.inputs = runtime_op, [node.inputs[0], operand]
        node.attrs = {**NO_ACT, **ADD_SIGNS} if runtime_op == "add" else {}

    return convert


def _axis(graph: Graph, node: Node, default: int) -> int:
    rank = len(graph.values[node.outputs[0]].shape)
    return int(node.attrs.get("axis", default)) % rank


def _concat(graph: Graph, node: Node) -> None:
    node.op, node.attrs = "concat", {"axis": _axis(graph, node, 1)}


def _softmax(graph: Graph, node: Node) -> None:
    # "axis": the ONNX axes normalized over (a list); plan_layout maps them to NHWC.
    node.op, node.attrs = "softmax", {"axis": softmax_onnx_axes(node, graph)}
    if len(graph.values[node.inputs[0]].shape) in ROW_MAJOR_RANKS:  # the last axis (checked): rows of it
        row_major_softmax(graph, node)


def _pad_amounts(graph: Graph, node: Node) -> tuple[list[int], list[int]]:
    rank = len(graph.values[node.inputs[0]].shape)
    if len(node.inputs) > 1 and node.inputs[1]:
        pads = [int(p) for p in graph.values[node.inputs[1]].data.ravel()]
    else:
        pads = [int(p) for p in node.attrs.get("pads", [0] * 2 * rank)]
    axes = list(range(rank))
    if len(node.inputs) > 3 and node.inputs[3]:
        axes = [int(a) % rank for a in graph.values[node.inputs[3]].data.ravel()]
    before, after = [0] * rank, [0] * rank
    for i, axis in enumerate(axes):
        before[axis], after[axis] = pads[i], pads[i + len(axes)]
    return before, after


def _pad(graph: Graph, node: Node) -> None:
    before, after = _pad_amounts(graph, node)
    value = float(node.attrs.get("value", 0.0))
    if len(node.inputs) > 2 and node.inputs[2]:
        value = float(graph.values[node.inputs[2]].data.ravel()[0])
    node.op, node.inputs = "pad", node.inputs[:1]
    mode = node.attrs.get("mode", "constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    node.attrs = {"pads_before": before, "pads_after": after, "value": value, "mode": mode}


def _leaky_relu(graph: Graph, node: Node) -> None:
    node.op = "leaky_relu"
    node.attrs = {"alpha": float(node.attrs.get("alpha", 0.01)), **NO_ACT}


# Named so the op rows (fixpoint/ops/defs/) can reference them as "module:function".
_max_pool = _pool("max_pool")
_avg_pool = _pool("avg_pool")
_global_avg_pool = _global_pool("avg_pool")
_global_max_pool = _global_pool("max_pool")
_add = _elementwise("add", with_act=True)
_mul = _elementwise("mul", with_act=False)
_sub = _by_constant("add", np.negative)
_div = _by_constant("mul", np.reciprocal)

# ONNX op type -> converter, from the registry rows normalized by this pass.
CONVERTERS: dict[str, Converter] = registry.onnx_refs("converter", normalized_by="canonicalize")


def run(graph: Graph) -> Graph:
    for node in graph.nodes:
        convert = CONVERTERS.get(node.op)
        if convert is not None:
            onnx_op = node.op
            convert(graph, node)
            log.debug("%s: %s -> %s", node.name, onnx_op, node.op)
    return prune(graph)
