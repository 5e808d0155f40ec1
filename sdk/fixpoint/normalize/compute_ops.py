"""Normalization of the compute family (fixpoint/ops/defs/compute.py): reduce.

Converters (canonicalize), layout rewrites (plan_layout) and float kernels
(float_exec) of the family's runtime ops, named by the rows.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from fixpoint.ir import Graph, Node
from fixpoint.ops.onnx_ops import reduce_axes

# ONNX op type -> what the reduce kernel computes ("mean" is a sum with 1/count in its scale)
_REDUCE_KINDS = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max"}
# ONNX axis -> NHWC axis, by ONNX rank (the plan_layout convention)
_AXIS_MAP = {4: {0: 0, 1: 3, 2: 1, 3: 2}, 2: {0: 0, 1: 3}}


def _reduce(graph: Graph, node: Node) -> None:
    """Reduce* -> reduce. With keepdims=0 the output keeps its ONNX (squeezed) shape: the support
    check admitted only results whose NHWC shape is the kept-dims one (e.g. a mean over H, W to
    [N, C])."""
    node.attrs = {"axes": reduce_axes(node, graph) or [], "kind": _REDUCE_KINDS[node.op]}
    node.op, node.inputs = "reduce", node.inputs[:1]


def _reduce_layout(graph: Graph, node: Node) -> None:
    rank = len(graph.values[node.inputs[0]].shape)  # the axes are the input's
    node.attrs["axes"] = sorted(_AXIS_MAP[rank][a] for a in node.attrs["axes"])


_FLOAT_REDUCE: dict[str, Callable[..., np.ndarray]] = {"mean": np.mean, "sum": np.sum, "max": np.max}


def _reduce_float(node: Node, x: list[np.ndarray], out_shape: list[int]) -> np.ndarray:
    axes = tuple(node.attrs["axes"])
    return _FLOAT_REDUCE[node.attrs["kind"]](x[0], axis=axes, keepdims=True)
