"""Pass 4: Gemm / MatMul with a constant weight -> fully_connected.

The runtime computes ``y = x @ W.T + B`` with W ``[C_out, depth]`` and a bias
always present, so transB, alpha and beta are absorbed into W and B here. A
following ``add`` of a per-output constant (the MatMul + Add pattern of older
exporters) is folded into B as well.
"""

from __future__ import annotations

import logging

import numpy as np

from fixpoint.ir import Graph, Node
from fixpoint.normalize.attention_ops import to_batch_matmul
from fixpoint.normalize.graph_edit import add_const, move_output, only_consumer, prune, remove_node
from fixpoint.ops import registry

log = logging.getLogger(__name__)


def _gemm_weights(graph: Graph, node: Node) -> tuple[np.ndarray, np.ndarray]:
    b = graph.values[node.inputs[1]].data.astype(np.float32)
    weight = b if int(node.attrs.get("transB", 0)) else b.T
    weight = weight * np.float32(node.attrs.get("alpha", 1.0))
    c_out = weight.shape[0]
    bias = np.zeros(c_out, np.float32)
    if len(node.inputs) > 2 and node.inputs[2]:
        c = graph.values[node.inputs[2]].data.astype(np.float32)
        bias = np.broadcast_to(c.ravel(), (c_out,)) * np.float32(node.attrs.get("beta", 1.0))
    return weight, bias


def _matmul_weights(graph: Graph, node: Node) -> tuple[np.ndarray, np.ndarray] | None:
    if graph.values[node.inputs[1]].data is None or len(graph.values[node.inputs[0]].shape) not in (2, 3):
        # two activations, or a batch of row blocks (rank 4) times a constant: batch_matmul; a rank-3
        # sequence [N, T, C] times a constant is a fully_connected over its T row-major rows
        to_batch_matmul(graph, node)
        return None
    weight = graph.values[node.inputs[1]].data.astype(np.float32).T
    return weight, np.zeros(weight.shape[0], np.float32)


# ONNX op type -> (weight [C_out, depth], bias) extractor, from the registry rows normalized here.
_WEIGHTS = registry.onnx_refs("converter", normalized_by="to_fully_connected")


def _is_bias_vector(data: np.ndarray | None, c_out: int) -> bool:
    """A constant that adds one value per output channel without broadcasting the output."""
    return data is not None and data.ndim <= 2 and data.size in (1, c_out) and int(np.prod(data.shape[:-1])) == 1


def _absorb_bias_add(graph: Graph, node: Node) -> None:
    add = only_consumer(graph, node.outputs[0])
    if (
        add is None
        or add.op != "add"
        or add.inputs[0] != node.outputs[0]
        or list(add.attrs.get("input_signs", [1, 1])) != [1, 1]
    ):  # c - x is no bias
        return
    const = graph.values[add.inputs[1]]
    c_out = graph.values[node.inputs[1]].shape[0]
    if not _is_bias_vector(const.data, c_out):
        return
    bias = graph.values[node.inputs[2]].data + np.broadcast_to(const.data.ravel(), (c_out,))
    node.inputs[2] = add_const(graph, f"{node.name}.bias", bias.astype(np.float32))
    move_output(graph, node, add.outputs[0])
    node.attrs = {k: v for k, v in add.attrs.items() if k != "input_signs"}  # the add's (still empty) act
    node.fused.append(add.name)
    remove_node(graph, add)


def run(graph: Graph) -> Graph:
    for node in graph.nodes:
        make_weights = _WEIGHTS.get(node.op)
        if make_weights is None:
            continue
        onnx_op = node.op
        made = make_weights(graph, node)
        if made is None:  # the converter made the node another runtime op itself
            continue
        weight, bias = made
        node.op = "fully_connected"
        node.inputs = [
            node.inputs[0],
            add_const(graph, f"{node.name}.weight", weight),
            add_const(graph, f"{node.name}.bias", bias.astype(np.float32)),
        ]
        node.attrs = {"act": "none", "act_range": None}
        log.debug("%s: %s -> fully_connected %s", node.name, onnx_op, list(weight.shape))
    for node in [n for n in graph.nodes if n.op == "fully_connected"]:
        _absorb_bias_add(graph, node)
    return prune(graph)
