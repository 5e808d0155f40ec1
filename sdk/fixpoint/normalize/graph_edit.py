"""Small graph-editing helpers shared by the normalization passes."""

from __future__ import annotations

import numpy as np

from fixpoint.ir import Graph, Node, Value


def use_count(graph: Graph, name: str) -> int:
    """How many node inputs read ``name``, plus one if it is a graph output."""
    uses = sum(node.inputs.count(name) for node in graph.nodes)
    return uses + graph.outputs.count(name)


def only_consumer(graph: Graph, name: str) -> Node | None:
    """The single node reading ``name`` (once), or None if it has other uses."""
    if use_count(graph, name) != 1:
        return None
    consumers = graph.consumers(name)
    return consumers[0] if consumers else None


def replace_uses(graph: Graph, old: str, new: str) -> None:
    """Make every node input reading ``old`` read ``new`` instead (graph outputs untouched)."""
    for node in graph.nodes:
        node.inputs = [new if name == old else name for name in node.inputs]


def move_output(graph: Graph, node: Node, new: str) -> None:
    """Make ``node`` produce ``new`` (an existing Value) instead of its first output."""
    old = node.outputs[0]
    node.outputs[0] = new
    if use_count(graph, old) == 0 and graph.producer(old) is None:
        graph.values.pop(old, None)


def remove_node(graph: Graph, node: Node) -> None:
    graph.nodes = [n for n in graph.nodes if n is not node]


def unique_name(graph: Graph, hint: str) -> str:
    if hint not in graph.values:
        return hint
    index = 1
    while f"{hint}_{index}" in graph.values:
        index += 1
    return f"{hint}_{index}"


def unique_node_name(graph: Graph, hint: str) -> str:
    """``hint`` or ``hint_<k>``, a name no node of ``graph`` has."""
    taken = {node.name for node in graph.nodes}
    name, index = hint, 1
    while name in taken:
        name, index = f"{hint}_{index}", index + 1
    return name


def add_const(graph: Graph, hint: str, data: np.ndarray) -> str:
    """Add a constant Value under a fresh name derived from ``hint``; return the name."""
    name = unique_name(graph, hint)
    data = np.ascontiguousarray(data)
    graph.values[name] = Value(name, [int(d) for d in data.shape], data.dtype.name, data=data)
    return name


def set_node_const(graph: Graph, node: Node, index: int, data: np.ndarray, hint: str) -> None:
    """Give ``node`` new constant data at input ``index`` without touching other users.

    Changed data gets its own name (``hint``, e.g. ``conv1.weight``): the ONNX
    initializer name would otherwise suggest the original values. A constant
    read by several nodes (tied weights) keeps its data for the other readers.
    """
    name = node.inputs[index]
    data = np.ascontiguousarray(data)
    if use_count(graph, name) == 1 and name.startswith(f"{node.name}."):
        value = graph.values[name]
        value.data = data
        value.shape = [int(d) for d in data.shape]
        value.dtype = data.dtype.name
    else:
        node.inputs[index] = add_const(graph, hint, data)
        if use_count(graph, name) == 0:
            graph.values.pop(name, None)


def prune(graph: Graph) -> Graph:
    """Drop nodes whose outputs nobody uses, then Values nobody references."""
    live = set(graph.outputs)
    kept: list[Node] = []
    for node in reversed(graph.nodes):
        if any(o in live for o in node.outputs):
            kept.append(node)
            live.update(i for i in node.inputs if i)
    graph.nodes = kept[::-1]
    referenced = set(graph.inputs) | set(graph.outputs)
    for node in graph.nodes:
        referenced.update(node.inputs)
        referenced.update(node.outputs)
    graph.values = {name: v for name, v in graph.values.items() if name in referenced}
    return graph
