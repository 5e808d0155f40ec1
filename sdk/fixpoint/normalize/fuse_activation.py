"""Pass 6: fuse Relu / Clip into the producer's output clamp.

conv2d, depthwise_conv2d, fully_connected, add and leaky_relu clamp their
output in the runtime (act_min / act_max), so a Relu or Clip whose input is
such a node's output and nobody else's is free: it becomes ``act`` /
``act_range`` on the producer, which then outputs the Relu's tensor name.

Otherwise (input from a pool, concat, graph input, or a tensor with other
consumers) the Relu / Clip is kept as a ``leaky_relu`` that clamps: alpha 0 for
Relu (exactly max(x, 0)), alpha 1 plus a clip range for Clip. Nothing is
silently dropped.
"""

from __future__ import annotations

import logging
import math

from fixpoint.ir import Graph, Node
from fixpoint.normalize.graph_edit import move_output, only_consumer, prune, remove_node
from fixpoint.ops import registry

log = logging.getLogger(__name__)

# runtime ops with a fused act / act_range, and the ONNX activations fused into them (registry rows)
CLAMPING_OPS = registry.keys_where(lambda row: row.clamping)
ACTIVATION_OPS = registry.onnx_types_normalized_by("fuse_activation")
INF = math.inf


def act_attrs(lo: float, hi: float) -> dict:
    """Normalized ``act`` / ``act_range`` attributes for the clamp [lo, hi]."""
    if lo == -INF and hi == INF:
        return {"act": "none", "act_range": None}
    if lo == 0.0 and hi == INF:
        return {"act": "relu", "act_range": [0.0, INF]}
    return {"act": "clip", "act_range": [float(lo), float(hi)]}


def _clamp(value: float, lo: float, hi: float) -> float:
    return min(max(value, lo), hi)


def compose(first: list[float] | None, then: list[float]) -> list[float]:
    """The single clamp equal to clamp(clamp(x, *first), *then) (clamps are monotone)."""
    if first is None:
        return list(then)
    return [_clamp(first[0], *then), _clamp(first[1], *then)]


def _clip_range(graph: Graph, node: Node) -> list[float]:
    if node.op == "Relu":
        return [0.0, INF]
    lo, hi = float(node.attrs.get("min", -INF)), float(node.attrs.get("max", INF))
    for index in (1, 2):  # opset >= 11: min / max are (optional, constant) inputs
        if len(node.inputs) > index and node.inputs[index]:
            bound = float(graph.values[node.inputs[index]].data.ravel()[0])
            lo, hi = (bound, hi) if index == 1 else (lo, bound)
    return [lo, hi]


def _fuse(graph: Graph, producer: Node, node: Node, clamp: list[float]) -> None:
    merged = compose(producer.attrs.get("act_range"), clamp)
    producer.attrs.update(act_attrs(*merged))
    move_output(graph, producer, node.outputs[0])
    producer.fused.append(node.name)
    remove_node(graph, node)
    log.debug("fused %s into %s: act %s", node.name, producer.name, producer.attrs["act"])


def _standalone(node: Node, clamp: list[float]) -> None:
    onnx_op = node.op
    node.op, node.inputs = "leaky_relu", node.inputs[:1]
    if onnx_op == "Relu" or clamp == [0.0, INF]:
        node.attrs = {"alpha": 0.0, **act_attrs(-INF, INF)}
    else:
        node.attrs = {"alpha": 1.0, **act_attrs(*clamp)}
    log.info("%s (%s) cannot be fused into its producer; kept as leaky_relu", node.name, onnx_op)


def run(graph: Graph) -> Graph:
    for node in [n for n in graph.nodes if n.op in ACTIVATION_OPS]:
        clamp = _clip_range(graph, node)
        producer = graph.producer(node.inputs[0])
        if producer is not None and producer.op in CLAMPING_OPS and only_consumer(graph, node.inputs[0]) is node:
            _fuse(graph, producer, node, clamp)
        else:
            _standalone(node, clamp)
    return prune(graph)
