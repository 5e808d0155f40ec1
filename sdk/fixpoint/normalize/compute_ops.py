"""Normalization of the compute family (fixpoint/ops/defs/compute.py): reduce, transpose_conv2d.

Converters (canonicalize), layout rewrites (plan_layout) and float kernels
(float_exec) of the family's runtime ops, named by the rows.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from fixpoint.ir import Graph, Node, Value
from fixpoint.normalize.graph_edit import add_const, unique_name, unique_node_name
from fixpoint.ops.onnx_ops import reduce_axes
from fixpoint.ops.onnx_shape_checks import conv_transpose_pads

# ONNX axis -> NHWC axis, by ONNX rank (the plan_layout convention)
_AXIS_MAP = {4: {0: 0, 1: 3, 2: 1, 3: 2}, 2: {0: 0, 1: 3}}


def _reduce(kind: str) -> Callable[[Graph, Node], None]:
    """Reduce* -> reduce of ``kind`` ("mean" is a sum with 1/count in its scale). With keepdims=0
    the output keeps its ONNX (squeezed) shape: the support check admitted only results whose NHWC
    shape is the kept-dims one (e.g. a mean over H, W to [N, C])."""

    def convert(graph: Graph, node: Node) -> None:
        node.attrs = {"axes": reduce_axes(node, graph) or [], "kind": kind}
        node.op, node.inputs = "reduce", node.inputs[:1]
        if len(graph.values[node.inputs[0]].shape) == 3:
            _row_major_reduce(graph, node)

    return convert


def _row_major_reduce(graph: Graph, node: Node) -> None:
    """A reduce over axis 1 of a row-major rank-3 tensor [N, A, B] (a mean over time): a copy views
    its bytes as a 4-D tensor of stored (NHWC) dims [N, 1, A, B] (ONNX shape [N, B, 1, A]) and the
    reduce runs over ONNX axis 3. Its result, stored [N, 1, 1, B], is already the ONNX output [N, B]
    (keepdims 0), so the reduce writes it directly and the output keeps its calibrated range."""
    src = node.inputs[0]
    n, a, b = graph.values[src].shape
    grouped = unique_name(graph, f"{src}.grouped")
    graph.values[grouped] = Value(grouped, [n, b, 1, a])
    graph.nodes.insert(
        graph.nodes.index(node), Node(unique_node_name(graph, f"{node.name}.group"), "copy", [src], [grouped])
    )
    node.inputs, node.attrs["axes"] = [grouped], [3]


# Named so the rows (fixpoint/ops/defs/compute.py) can reference them.
_reduce_mean = _reduce("mean")
_reduce_sum = _reduce("sum")
_reduce_max = _reduce("max")


def _conv_transpose(graph: Graph, node: Node) -> None:
    """ConvTranspose -> transpose_conv2d with its weight [C_in, C_out / group, KH, KW] as OIHW
    [C_out, C_in / group, KH, KW] (output channels first, as conv2d: BatchNorm folds the same way;
    group g's output channels g * C_out/group ... read its input channels g * C_in/group ...)."""
    weight = graph.values[node.inputs[1]].data
    groups = int(node.attrs.get("group", 1))
    c_in, c_out_g, kh, kw = weight.shape
    c_out = c_out_g * groups
    bias = (
        node.inputs[2]
        if len(node.inputs) > 2 and node.inputs[2]
        else add_const(graph, f"{node.name}.bias", np.zeros(c_out, np.float32))
    )
    oihw = weight.reshape(groups, c_in // groups, c_out_g, kh, kw).transpose(0, 2, 1, 3, 4)
    oihw = add_const(graph, f"{node.name}.weight", np.ascontiguousarray(oihw.reshape(c_out, c_in // groups, kh, kw)))
    pads, _ = conv_transpose_pads(node, graph)  # auto_pad / output_shape made explicit
    node.op, node.inputs = "transpose_conv2d", [node.inputs[0], oihw, bias]
    node.attrs = {
        "strides": [int(s) for s in node.attrs.get("strides", [1, 1])],
        "dilations": [int(d) for d in node.attrs.get("dilations", [1, 1])],
        "pads": pads,
        "groups": groups,
        "act": "none",
        "act_range": None,
    }


def _transpose_conv2d_float(node: Node, x: list[np.ndarray], out_shape: list[int]) -> np.ndarray:
    """NHWC input, OHWI weight: every input pixel times every tap scattered into the full output,
    then cropped by the leading pads."""
    data, weight, bias = x
    n, h, w, _ = data.shape
    c_out, kh, kw, cg = weight.shape
    groups = int(node.attrs.get("groups", 1))
    og = c_out // groups
    (sh, sw), (dh, dw) = node.attrs["strides"], node.attrs["dilations"]
    top, left = node.attrs["pads"][:2]
    full = np.zeros(
        (
            n,
            max((h - 1) * sh + (kh - 1) * dh + 1, top + out_shape[1]),
            max((w - 1) * sw + (kw - 1) * dw + 1, left + out_shape[2]),
            out_shape[3],
        )
    )
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i * dh, i * dh + (h - 1) * sh + 1, sh), slice(j * dw, j * dw + (w - 1) * sw + 1, sw)
            for g in range(groups):
                full[:, rows, cols, g * og : (g + 1) * og] += (
                    data[..., g * cg : (g + 1) * cg] @ weight[g * og : (g + 1) * og, i, j, :].T
                )
    y = full[:, top : top + out_shape[1], left : left + out_shape[2]] + bias
    bounds = node.attrs.get("act_range")
    return y if bounds is None else np.clip(y, bounds[0], bounds[1])


def _reduce_layout(graph: Graph, node: Node) -> None:
    rank = len(graph.values[node.inputs[0]].shape)  # the axes are the input's
    node.attrs["axes"] = sorted(_AXIS_MAP[rank][a] for a in node.attrs["axes"])


_FLOAT_REDUCE: dict[str, Callable[..., np.ndarray]] = {"mean": np.mean, "sum": np.sum, "max": np.max}


def _reduce_float(node: Node, x: list[np.ndarray], out_shape: list[int]) -> np.ndarray:
    axes = tuple(node.attrs["axes"])
    return _FLOAT_REDUCE[node.attrs["kind"]](x[0], axis=axes, keepdims=True)
