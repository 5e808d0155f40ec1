"""Pass 1: remove Identity and (inference-mode) Dropout nodes.

Consumers read the input instead. When the removed node's output is a graph
output, its name must survive: the producer is made to output that name
instead (same float value, so onnxruntime statistics still apply), or, when
the input is itself a graph input or output, a ``copy`` node stays.
"""

from __future__ import annotations

import logging

from fixpoint.ir import Graph, Node
from fixpoint.normalize.graph_edit import prune, remove_node, replace_uses
from fixpoint.ops import registry

log = logging.getLogger(__name__)

PASSTHROUGH_OPS = registry.onnx_types_normalized_by("drop_identity")


def _keep_output_name(graph: Graph, node: Node) -> None:
    source, target = node.inputs[0], node.outputs[0]
    producer = graph.producer(source)
    if producer is None or source in graph.outputs:
        node.op, node.inputs, node.outputs, node.attrs = "copy", [source], [target], {}
        return
    producer.outputs = [target if o == source else o for o in producer.outputs]
    replace_uses(graph, source, target)
    remove_node(graph, node)


def run(graph: Graph) -> Graph:
    for node in [n for n in graph.nodes if n.op in PASSTHROUGH_OPS]:
        if node.outputs[0] in graph.outputs:
            _keep_output_name(graph, node)
        else:
            replace_uses(graph, node.outputs[0], node.inputs[0])
            remove_node(graph, node)
        log.debug("dropped %s (%s)", node.name, node.op)
    return prune(graph)
