"""Pass 2: evaluate nodes whose inputs are all known (constant folding).

``Shape`` of any tensor folds to its (static) shape; any other node whose
inputs are all constants is evaluated by onnxruntime as a one-node model
(``fixpoint.frontend.evaluate``), so every ONNX op folds with the exact ONNX
semantics: weight transposes, dequantization, shape arithmetic exported by
PyTorch, ...
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from onnx import helper, numpy_helper

from fixpoint.frontend.errors import NormalizeError
from fixpoint.frontend.evaluate import EvaluationError, evaluate_node
from fixpoint.ir import Graph, Node, Value
from fixpoint.normalize.graph_edit import prune, remove_node

log = logging.getLogger(__name__)


def _onnx_attr_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return numpy_helper.from_array(value)
    if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
        return [numpy_helper.from_array(v) for v in value]
    return value


def _shape_of(graph: Graph, node: Node) -> list[np.ndarray]:
    shape = graph.values[node.inputs[0]].shape
    start = int(node.attrs.get("start", 0))
    end = int(node.attrs.get("end", len(shape)))
    return [np.array(shape[start:end], dtype=np.int64)]


def _evaluate(graph: Graph, node: Node) -> list[np.ndarray]:
    markers = ("<subgraph>", "<sparse tensor>")
    if any(isinstance(v, str) and v in markers for v in node.attrs.values()):
        raise NormalizeError(f"{node.name} ({node.op}): cannot fold a node with a subgraph or sparse attribute")
    attrs = {key: _onnx_attr_value(value) for key, value in node.attrs.items()}
    proto = helper.make_node(node.op, node.inputs, node.outputs, name=node.name, **attrs)
    inputs = {name: graph.values[name].data for name in node.inputs if name}
    try:
        return evaluate_node(proto, inputs, graph.opset)
    except EvaluationError as exc:
        raise NormalizeError(f"{node.name} ({node.op}): cannot fold constant node ({exc})") from None


def _is_foldable(graph: Graph, node: Node) -> bool:
    if node.op == "Shape":
        return True
    inputs = [i for i in node.inputs if i]
    return bool(inputs) and all(graph.values[i].is_const for i in inputs)


def run(graph: Graph) -> Graph:
    for node in list(graph.nodes):
        if not _is_foldable(graph, node):
            continue
        results = _shape_of(graph, node) if node.op == "Shape" else _evaluate(graph, node)
        for name, data in zip([o for o in node.outputs if o], results):
            data = np.asarray(data)
            graph.values[name] = Value(name, [int(d) for d in data.shape], data.dtype.name, data=data)
        remove_node(graph, node)
        log.debug("folded %s (%s)", node.name, node.op)
    constant_outputs = [name for name in graph.outputs if graph.values[name].is_const]
    if constant_outputs:
        raise NormalizeError(
            f"graph output '{constant_outputs[0]}' is a constant (it does not depend on any model input)"
        )
    return prune(graph)
