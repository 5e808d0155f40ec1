"""Pass 5: fold inference BatchNormalization into the preceding conv / fully connected.

``bn(y) = (y - mean) * s + beta`` with ``s = scale / sqrt(var + eps)`` is per
output channel, and so is every weight op's output, so it folds exactly:
``W' = W * s`` (scaled along the output-channel axis, axis 0 in ONNX OIHW,
depthwise [C_out, 1, KH, KW] and fully connected [C_out, depth] alike) and
``B' = (B - mean) * s + beta``. The support check guarantees the producer is
such an op and that the BatchNormalization is its only consumer.
"""

from __future__ import annotations

import logging

import numpy as np

from fixpoint.frontend.errors import NormalizeError
from fixpoint.ir import Graph, Node
from fixpoint.normalize.graph_edit import move_output, only_consumer, prune, remove_node, set_node_const
from fixpoint.ops import registry

log = logging.getLogger(__name__)

# ops whose (ONNX-layout) weights have output channels first: every op with weights
WEIGHT_OPS = registry.keys_where(lambda row: row.has_weights)
FOLDED_OPS = registry.onnx_types_normalized_by("fold_batchnorm")


def _params(graph: Graph, node: Node) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scale, beta, mean, var = (graph.values[name].data.astype(np.float64) for name in node.inputs[1:5])
    eps = float(node.attrs.get("epsilon", 1e-5))
    factor = scale / np.sqrt(var + eps)
    return factor, beta, mean


def _fold(graph: Graph, producer: Node, bn: Node) -> None:
    factor, beta, mean = _params(graph, bn)
    weight = graph.values[producer.inputs[1]].data.astype(np.float64)
    bias = graph.values[producer.inputs[2]].data.astype(np.float64)
    channel_shape = [-1] + [1] * (weight.ndim - 1)
    set_node_const(
        graph, producer, 1, (weight * factor.reshape(channel_shape)).astype(np.float32), f"{producer.name}.weight"
    )
    set_node_const(graph, producer, 2, ((bias - mean) * factor + beta).astype(np.float32), f"{producer.name}.bias")
    move_output(graph, producer, bn.outputs[0])
    producer.fused.append(bn.name)
    remove_node(graph, bn)


def run(graph: Graph) -> Graph:
    for bn in [n for n in graph.nodes if n.op in FOLDED_OPS]:
        producer = graph.producer(bn.inputs[0])
        foldable = producer is not None and producer.op in WEIGHT_OPS
        if not foldable or only_consumer(graph, bn.inputs[0]) is not bn:
            raise NormalizeError(
                f"{bn.name} (BatchNormalization): must directly follow a Conv, "
                "Gemm or MatMul whose output it alone consumes"
            )
        _fold(graph, producer, bn)
        log.debug("folded %s into %s", bn.name, producer.name)
    return prune(graph)
