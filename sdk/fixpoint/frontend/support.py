"""Decide whether an ONNX-stage graph can be compiled, reporting every problem at once.

Order matters for useful messages: an unknown op or an unsupported attribute
usually also breaks shape inference downstream, so unsupported nodes are
reported first, and nodes whose input shapes are unknown are not checked.
Beyond each op's own check, every checked node must produce tensors of a
sensible size and read only finite constants.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from fixpoint.frontend.errors import (
    DynamicShapeError,
    ModelCheckError,
    UnsupportedInputError,
    UnsupportedOpError,
    short_name,
)
from fixpoint.ir import Graph, Node
from fixpoint.ops.onnx_ops import ONNX_OPS, OnnxOpSpec, const_data, static_value_names

log = logging.getLogger(__name__)

MAX_LISTED = 5
# No microcontroller arena holds 256 Mi activations even at int8, and host-side passes
# build index arrays of a tensor's size: a bigger shape is a broken file, not a model.
MAX_ELEMENTS = 2**28
# Clip's bounds may be infinite ("no bound") and a Pad value -inf (padding before a max
# pool); anywhere else NaN or inf in a constant would become NaN scales and garbage
# integers instead of an error.
INFINITE_CONSTANTS_ALLOWED = ("Clip", "Pad")


def _entry(node: Node, reason: str) -> str:
    return f"{short_name(node.name)} ({node.op}): {reason}"


def _unknown_op_nodes(graph: Graph, static: set[str]) -> list[Node]:
    """Nodes with no table entry that cannot be folded into constants either."""
    return [
        node
        for node in graph.nodes
        if node.op not in ONNX_OPS and not (node.outputs and all(o in static for o in node.outputs if o))
    ]


def _check_io(graph: Graph) -> None:
    """Inputs of a size the runtime can hold, and outputs that some node computes."""
    for name in graph.inputs:
        problem = _size_problem(name, graph.values[name].shape)
        if problem:
            raise UnsupportedInputError(f"input {problem}")
    if not graph.outputs:
        raise ModelCheckError("the graph has no outputs")
    for name in graph.outputs:
        if graph.producer(name) is None:
            raise ModelCheckError(
                f"graph output '{short_name(name)}' is not computed by any node (it is a constant or a graph input)"
            )


def _size_problem(name: str, shape: list[int]) -> str | None:
    """Why a tensor of ``shape`` cannot exist in the runtime (an empty or a huge extent)."""
    if any(d < 1 for d in shape):
        return f"'{short_name(name)}' would have shape {shape}"
    if math.prod(shape) > MAX_ELEMENTS:
        return f"'{short_name(name)}' of shape {shape} has more than {MAX_ELEMENTS} elements"
    return None


def _generic_problem(node: Node, graph: Graph) -> str | None:
    """Checks every supported op shares: finite constants and attributes, sane output sizes."""
    for key, value in node.attrs.items():
        if isinstance(value, float) and not math.isfinite(value):
            return f"{key}={value}"
    if node.op not in INFINITE_CONSTANTS_ALLOWED:
        for name in node.inputs:
            data = const_data(graph, name)
            if data is not None and data.dtype.kind == "f" and not np.all(np.isfinite(data)):
                return f"constant '{short_name(name)}' contains NaN or infinity"
    for name in node.outputs:
        problem = _size_problem(name, graph.values[name].shape) if name in graph.values else None
        if problem:
            return f"output {problem}"
    return None


def _first_unresolved_node(graph: Graph, unresolved: set[str]) -> Node | None:
    """The first node with statically shaped inputs but an unresolved output: the one to fix."""
    for node in graph.nodes:
        if any(o in unresolved for o in node.outputs) and not any(i in unresolved for i in node.inputs if i):
            return node
    return None


def _raise_unresolved(graph: Graph, unresolved: list[str]) -> None:
    culprit = _first_unresolved_node(graph, set(unresolved))
    if culprit is not None:
        shapes = [graph.values[i].shape if i in graph.values else None for i in culprit.inputs if i]
        rest = len(unresolved) - 1
        after = f"; {rest} tensor{'s' if rest != 1 else ''} after it unresolved too" if rest else ""
        raise DynamicShapeError(
            f"cannot resolve a static shape for tensor '{short_name(culprit.outputs[0])}' (output of "
            f"{short_name(culprit.name)} ({culprit.op})): ONNX shape inference rejects the node with "
            f"input shapes {shapes} and its attributes{after}"
        )
    listed = ", ".join(_describe(graph, n) for n in unresolved[:MAX_LISTED])
    more = f" and {len(unresolved) - MAX_LISTED} more" if len(unresolved) > MAX_LISTED else ""
    raise DynamicShapeError(
        f"cannot resolve a static shape for tensor {listed}{more}; only the batch dimension may be dynamic"
    )


def _describe(graph: Graph, name: str) -> str:
    producer = graph.producer(name)
    return f"'{short_name(name)}'" + (f" (output of {short_name(producer.name)} ({producer.op}))" if producer else "")


def _check_node(spec: OnnxOpSpec, node: Node, graph: Graph) -> str | None:
    try:
        return spec.reason(node, graph)
    except (IndexError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        # A check tripping over an odd node is still a problem with that node.
        log.debug("support check of %s failed", node.name, exc_info=True)
        return f"malformed node ({type(exc).__name__}: {exc})"


def _node_problems(graph: Graph, unknown_ops: list[Node], static: set[str], unknown_shapes: set[str]) -> list[str]:
    problems = {node.name: _entry(node, "unsupported op") for node in unknown_ops}
    for node in graph.nodes:
        spec = ONNX_OPS.get(node.op)
        if spec is None or node.name in problems:
            continue
        if all(o in static for o in node.outputs if o):
            continue  # folded to a constant anyway
        if any(name in unknown_shapes for name in node.inputs if name):
            continue  # shapes lost downstream of an unknown op: that op is reported
        reason = _check_node(spec, node, graph) or _generic_problem(node, graph)
        if reason:
            problems[node.name] = _entry(node, reason)
    return [problems[node.name] for node in graph.nodes if node.name in problems]


def validate(graph: Graph, unknown_shapes: set[str]) -> None:
    """Raise the first class of problem found: input types, unsupported nodes, dynamic shapes.

    Unsupported nodes come before dynamic shapes because an unsupported use
    (e.g. Gemm transA=1 with mismatching dims) is often why inference failed.
    """
    _check_io(graph)
    static = static_value_names(graph)
    unknown_ops = _unknown_op_nodes(graph, static)
    problems = _node_problems(graph, unknown_ops, static, unknown_shapes)
    if problems:
        raise UnsupportedOpError(problems)
    unresolved = [name for name in graph.activation_names() if name in unknown_shapes]
    if unresolved:
        _raise_unresolved(graph, unresolved)
