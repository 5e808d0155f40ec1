"""Resolve shapes that ONNX shape inference leaves symbolic by folding shape arithmetic.

PyTorch exports ``x.view(x.size(0), -1)`` as Shape -> Gather -> Unsqueeze ->
Concat -> Reshape. ONNX data propagation resolves that at recent opsets but not
at all older ones; folding the chain into constants (the batch is already
fixed) and inferring again does. Only the *shapes* of the folded copy are used:
the ONNX-stage graph keeps the model's own nodes, the normalizer folds them.
"""

from __future__ import annotations

import logging

import numpy as np
import onnx
from onnx import numpy_helper

from fixpoint.frontend.convert import DEFAULT_DOMAINS, attribute_value, constant_node_value, tensor_data
from fixpoint.frontend.evaluate import EvaluationError, evaluate_node
from fixpoint.frontend.shapes import infer, tensor_shapes

log = logging.getLogger(__name__)

MAX_ROUNDS = 8


def _known_values(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {init.name: tensor_data(init) for init in model.graph.initializer}


def _fold_node(
    node: onnx.NodeProto, known: dict[str, np.ndarray], shapes: dict[str, list[int] | None], opset: int
) -> list[np.ndarray] | None:
    """The node's constant outputs, or None when they are not computable yet."""
    if node.domain not in DEFAULT_DOMAINS:
        return None
    if node.op_type == "Constant":
        value = constant_node_value({a.name: attribute_value(a) for a in node.attribute})
        return None if value is None else [value]
    if node.op_type == "Shape" and shapes.get(node.input[0]) is not None:
        attrs = {a.name: a.i for a in node.attribute}
        shape = shapes[node.input[0]]
        return [np.array(shape[attrs.get("start", 0) : attrs.get("end", len(shape))], np.int64)]
    real_inputs = [i for i in node.input if i]
    if not real_inputs or not all(i in known for i in real_inputs):
        return None
    try:
        return evaluate_node(node, known, opset)
    except EvaluationError:
        return None  # leave it: the support check or the normalizer reports it


def _fold_round(
    model: onnx.ModelProto, shapes: dict[str, list[int] | None], opset: int
) -> tuple[onnx.ModelProto, bool]:
    known = _known_values(model)
    kept: list[onnx.NodeProto] = []
    folded_any = False
    for node in model.graph.node:
        results = _fold_node(node, known, shapes, opset)
        if results is None:
            kept.append(node)
            continue
        outputs = [o for o in node.output if o]
        for name, data in zip(outputs, results):
            known[name] = data
            model.graph.initializer.append(numpy_helper.from_array(data, name))
        folded_any = folded_any or node.op_type != "Constant"
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return model, folded_any


def fold_shape_subgraphs(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """Fold constant / shape-only nodes and re-infer until shapes stop improving.

    ``model`` has its batch fixed already. Returns an inferred copy whose node
    list may be shorter; read only its shapes.
    """
    work = onnx.ModelProto()
    work.CopyFrom(model)
    inferred = infer(work)
    for round_index in range(MAX_ROUNDS):
        shapes = tensor_shapes(inferred)
        work, progressed = _fold_round(work, shapes, opset)
        if not progressed:
            break
        inferred = infer(work)
        log.debug("shape folding round %d: %d nodes left", round_index + 1, len(work.graph.node))
    return inferred
