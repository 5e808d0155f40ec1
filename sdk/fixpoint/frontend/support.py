"""Decide whether an ONNX-stage graph can be compiled, reporting every problem at once.

Order matters for useful messages: an unknown op or an unsupported attribute
usually also breaks shape inference downstream, so unsupported nodes are
reported first, and nodes whose input shapes are unknown are not checked.
"""
from __future__ import annotations

import logging

from fixpoint.frontend.errors import DynamicShapeError, UnsupportedInputError, UnsupportedOpError
from fixpoint.ir import Graph, Node
from fixpoint.ops.onnx_ops import ONNX_OPS, OnnxOpSpec, static_value_names

log = logging.getLogger(__name__)

SUPPORTED_INPUT_DTYPES = ("float32",)
MAX_LISTED = 5


def _entry(node: Node, reason: str) -> str:
    return f"{node.name} ({node.op}): {reason}"


def _unknown_op_nodes(graph: Graph, static: set[str]) -> list[Node]:
    """Nodes with no table entry that cannot be folded into constants either."""
    return [node for node in graph.nodes
            if node.op not in ONNX_OPS
            and not (node.outputs and all(o in static for o in node.outputs if o))]


def _check_inputs(graph: Graph) -> None:
    for name in graph.inputs:
        dtype = graph.values[name].dtype
        if dtype not in SUPPORTED_INPUT_DTYPES:
            raise UnsupportedInputError(f"input '{name}' has type {dtype}; only float32 model inputs "
                             "are supported")


def _raise_unresolved(graph: Graph, unresolved: list[str]) -> None:
    def describe(name: str) -> str:
        producer = graph.producer(name)
        return f"'{name}'" + (f" (output of {producer.name} ({producer.op}))" if producer else "")
    listed = ", ".join(describe(n) for n in unresolved[:MAX_LISTED])
    more = f" and {len(unresolved) - MAX_LISTED} more" if len(unresolved) > MAX_LISTED else ""
    raise DynamicShapeError(f"cannot resolve a static shape for tensor {listed}{more}; "
                            "only the batch dimension may be dynamic")


def _check_node(spec: OnnxOpSpec, node: Node, graph: Graph) -> str | None:
    try:
        return spec.reason(node, graph)
    except (IndexError, KeyError, TypeError, ValueError) as exc:
        # A check tripping over an odd node is still a problem with that node.
        log.debug("support check of %s failed", node.name, exc_info=True)
        return f"malformed node ({type(exc).__name__}: {exc})"


def _node_problems(graph: Graph, unknown_ops: list[Node], static: set[str],
                   unknown_shapes: set[str]) -> list[str]:
    problems = {node.name: _entry(node, "unsupported op") for node in unknown_ops}
    for node in graph.nodes:
        spec = ONNX_OPS.get(node.op)
        if spec is None or node.name in problems:
            continue
        if all(o in static for o in node.outputs if o):
            continue  # folded to a constant anyway
        if any(name in unknown_shapes for name in node.inputs if name):
            continue  # shapes lost downstream of an unknown op: that op is reported
        reason = _check_node(spec, node, graph)
        if reason:
            problems[node.name] = _entry(node, reason)
    return [problems[node.name] for node in graph.nodes if node.name in problems]


def validate(graph: Graph, unknown_shapes: set[str]) -> None:
    """Raise the first class of problem found: input types, unsupported nodes, dynamic shapes.

    Unsupported nodes come before dynamic shapes because an unsupported use
    (e.g. Gemm transA=1 with mismatching dims) is often why inference failed.
    """
    _check_inputs(graph)
    static = static_value_names(graph)
    unknown_ops = _unknown_op_nodes(graph, static)
    problems = _node_problems(graph, unknown_ops, static, unknown_shapes)
    if problems:
        raise UnsupportedOpError(problems)
    unresolved = [name for name in graph.activation_names() if name in unknown_shapes]
    if unresolved:
        _raise_unresolved(graph, unresolved)
