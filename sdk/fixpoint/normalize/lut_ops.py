"""Normalization and float semantics of the table ops (lut), prelu and minimum / maximum.

Converters (pass ``canonicalize``, named by the rows in fixpoint/ops/defs/lut.py):

* every unary ONNX op whose row names a ``lut_function`` becomes ``lut`` with
  attrs ``function`` (the name) and ``params`` (the op's float attributes);
* ``Mul(x, f(x))`` where ``f`` is a lut Sigmoid / HardSigmoid whose output only
  the Mul reads becomes one ``lut`` of x (SiLU / Swish, HardSwish as exporters
  emit them): x * f(x) is again a unary function of x;
* ``PRelu`` becomes ``prelu`` with attr ``slope``: one float per channel, or one;
* ``Min`` / ``Max`` of two operands become ``minimum`` / ``maximum``; a constant
  operand goes second (both ops commute).

The float kernels (``normalize.float_exec`` calls them by the rows) take NHWC.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fixpoint.ir import Graph, Node
from fixpoint.lut_functions import TIMES_X, evaluate
from fixpoint.normalize.graph_edit import only_consumer
from fixpoint.ops import registry

Array = np.ndarray
# ONNX attributes a table function reads (the rest of an op's attributes have no float meaning here)
_FLOAT_ATTRS = ("alpha", "beta", "gamma")


def _lut_params(node: Node) -> dict[str, Any]:
    params: dict[str, Any] = {k: float(node.attrs[k]) for k in _FLOAT_ATTRS if k in node.attrs}
    if "approximate" in node.attrs:
        value = node.attrs["approximate"]
        params["approximate"] = value.decode() if isinstance(value, bytes) else str(value)
    return params


def _lut(graph: Graph, node: Node) -> None:
    function = registry.ONNX_ROWS[node.op].lut_function
    node.op, node.inputs = "lut", node.inputs[:1]
    node.attrs = {"function": function, "params": _lut_params(node)}


def fuse_times_x(graph: Graph, node: Node) -> bool:
    """Mul(x, f(x)) with f a fusable lut of x read only by this Mul -> lut of x (True if fused)."""
    for i in (0, 1):
        producer = graph.producer(node.inputs[i])
        other = node.inputs[1 - i]
        if producer is None or producer.op != "lut" or producer.inputs[0] != other:
            continue
        fused = TIMES_X.get(producer.attrs["function"])
        if fused is None or only_consumer(graph, producer.outputs[0]) is not node:
            continue
        node.op, node.inputs = "lut", [other]
        node.attrs = {"function": fused, "params": dict(producer.attrs["params"])}
        node.fused = [*node.fused, producer.name, *producer.fused]
        return True
    return False


def _clip_bounds(graph: Graph, clip: Node) -> tuple[float, float] | None:
    """Constant (lo, hi) of an ONNX Clip (inputs from opset 11, attributes before), else None."""
    bounds = []
    for index, name, default in ((1, "min", -np.inf), (2, "max", np.inf)):
        ref = clip.inputs[index] if len(clip.inputs) > index else ""
        if ref:
            data = graph.values[ref].data
            if data is None or np.asarray(data).size != 1:
                return None
            bounds.append(float(np.asarray(data).reshape(-1)[0]))
        else:
            bounds.append(float(clip.attrs.get(name, default)))
    return bounds[0], bounds[1]


def fuse_times_clip(graph: Graph, node: Node) -> bool:
    """Mul(x, Clip(x + c, lo, hi)) (PyTorch's decomposed HardSwish before its / 6), the Clip and the
    add read only here, c a scalar constant -> one lut x_clip of x (True if fused)."""
    for i in (0, 1):
        clip, x = graph.producer(node.inputs[i]), node.inputs[1 - i]
        if clip is None or clip.op != "Clip" or only_consumer(graph, clip.outputs[0]) is not node:
            continue
        add, bounds = graph.producer(clip.inputs[0]), _clip_bounds(graph, clip)
        if (
            add is None
            or add.op != "add"
            or add.inputs[0] != x
            or bounds is None
            or only_consumer(graph, add.outputs[0]) is not clip
            or add.attrs.get("input_signs", [1, 1]) != [1, 1]
        ):
            continue
        shift = graph.values[add.inputs[1]].data
        if shift is None or np.asarray(shift).size != 1:
            continue
        node.op, node.inputs = "lut", [x]
        node.attrs = {
            "function": "x_clip",
            "params": {"shift": float(np.asarray(shift).reshape(-1)[0]), "lo": bounds[0], "hi": bounds[1]},
        }
        node.fused = [*node.fused, clip.name, add.name]
        return True
    return False


def _mul(graph: Graph, node: Node) -> None:
    """Mul: a fused x * f(x) table when it matches, else the runtime mul."""
    from fixpoint.normalize import canonicalize  # the plain converter; canonicalize resolves this module

    if not (fuse_times_x(graph, node) or fuse_times_clip(graph, node)):
        canonicalize._mul(graph, node)


def _sub(graph: Graph, node: Node) -> None:
    """x - c: add of -c; c - x: add(x, c) with input_signs (-1, 1); a - b: input_signs (1, -1)."""
    from fixpoint.normalize import canonicalize

    a, b = node.inputs[:2]
    if graph.values[b].is_const:
        canonicalize._sub(graph, node)
        return
    signs = [1, -1]
    if graph.values[a].is_const:
        a, b, signs = b, a, [-1, 1]
    node.op, node.inputs = "add", [a, b]
    node.attrs = {**canonicalize.NO_ACT, "input_signs": signs}


def _prelu(graph: Graph, node: Node) -> None:
    x_shape = graph.values[node.inputs[0]].shape
    slope = np.asarray(graph.values[node.inputs[1]].data, dtype=np.float64)
    values = slope.reshape(-1) if slope.size == 1 else per_channel_slope(slope, x_shape)
    node.op, node.inputs = "prelu", node.inputs[:1]
    node.attrs = {"slope": [float(v) for v in values]}


def per_channel_slope(slope: Array, x_shape: list[int]) -> Array:
    """The C values of a slope that varies only over the channel axis (axis 1), else ValueError."""
    rank = len(x_shape)
    aligned = slope.reshape([1] * (rank - slope.ndim) + list(slope.shape))
    if rank < 2 or any(d != 1 for a, d in enumerate(aligned.shape) if a != 1) or aligned.shape[1] != x_shape[1]:
        raise ValueError(f"slope of shape {list(slope.shape)} is not one value per channel of {x_shape}")
    return aligned.reshape(-1)


def _binary(runtime_op: str):
    def convert(graph: Graph, node: Node) -> None:
        a, b = node.inputs[:2]
        if graph.values[a].is_const:
            a, b = b, a
        node.op, node.inputs, node.attrs = runtime_op, [a, b], {}

    return convert


_minimum = _binary("minimum")
_maximum = _binary("maximum")


# ---- float kernels (NHWC) ---------------------------------------------------------------------------------


def float_lut(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    # no quantized input here: the domain guards use the float's resolution
    return evaluate(node.attrs["function"], x[0], node.attrs["params"], np.finfo(np.float32).tiny)


def float_prelu(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    slope = np.asarray(node.attrs["slope"], dtype=np.float64)
    return np.where(x[0] >= 0, x[0], x[0] * slope)  # NHWC: the slope runs along the last axis


def float_minimum(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    return np.minimum(x[0], x[1])


def float_maximum(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    return np.maximum(x[0], x[1])
