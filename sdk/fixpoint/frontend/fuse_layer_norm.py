"""The decomposed layer normalization exporters emit, as one ``LayerNormalization`` node.

    m = ReduceMean(x, last axis)          d = Sub(x, m)
    p = Pow(d, 2) or Mul(d, d)            v = ReduceMean(p, last axis)
    s = Sqrt(Add(v, eps))                 n = Div(d, s)
    [y = Mul(n, gamma)] [z = Add(y, beta)]     (gamma, beta, eps constants)

Run at the front door (before the support checks, which would refuse a Div of two activations):
the matched nodes become one LayerNormalization named after the first ReduceMean, whose output is
the last matched node's output; the others are listed in ``fused``. Anything else (another axis,
an intermediate used elsewhere, a non-constant gamma) is left alone. Also at the front door:
:func:`fold_matmul_transposes` (a Transpose feeding a MatMul operand becomes strides).
"""

from __future__ import annotations

import logging

import numpy as np

from fixpoint.ir import Graph, Node, Value
from fixpoint.ops.onnx_ops import attr, const_data

__all__ = ["run"]

log = logging.getLogger(__name__)


def _only_consumer(graph: Graph, name: str, op: str | tuple[str, ...]) -> Node | None:
    if name in graph.outputs:
        return None
    users = graph.consumers(name)
    ops = (op,) if isinstance(op, str) else op
    return users[0] if len(users) == 1 and users[0].op in ops else None


def _last_axis_mean(graph: Graph, node: Node) -> bool:
    if node.op != "ReduceMean" or not int(attr(node, "keepdims", 1)):
        return False
    rank = len(graph.values[node.inputs[0]].shape)
    axes = attr(node, "axes")
    if axes is None and len(node.inputs) > 1 and node.inputs[1]:
        data = const_data(graph, node.inputs[1])
        axes = None if data is None else data.ravel().tolist()
    return axes is not None and [int(a) % rank for a in axes] == [rank - 1]


def _other(node: Node, name: str) -> str:
    return node.inputs[1] if node.inputs[0] == name else node.inputs[0]


def _scalar(graph: Graph, name: str) -> float | None:
    data = const_data(graph, name)
    return float(data.ravel()[0]) if data is not None and data.size == 1 else None


def _vector(graph: Graph, name: str, depth: int) -> np.ndarray | None:
    """A constant that is one value per element of the last axis (or one value)."""
    data = const_data(graph, name)
    if data is None or data.size not in (1, depth) or int(np.prod(data.shape[:-1] or [1])) != 1:
        return None
    return np.broadcast_to(data.astype(np.float32).ravel(), (depth,)).copy()


def _square_of(graph: Graph, d: str) -> Node | None:
    users = graph.consumers(d)
    for node in users:
        if node.op == "Pow" and node.inputs[0] == d and _scalar(graph, node.inputs[1]) == 2.0:
            return node
        if node.op == "Mul" and node.inputs[0] == d and node.inputs[1] == d:
            return node
    return None


def _match(graph: Graph, mean: Node) -> tuple[list[Node], str, float, str, str] | None:
    """(matched nodes, x, eps, gamma name or "", beta name or "") for a pattern starting at ``mean``."""
    x = mean.inputs[0]
    sub = _only_consumer(graph, mean.outputs[0], "Sub")
    if sub is None or sub.inputs != [x, mean.outputs[0]]:
        return None
    d = sub.outputs[0]
    square = _square_of(graph, d)
    div = next((n for n in graph.consumers(d) if n.op == "Div" and n.inputs[0] == d), None)
    if square is None or div is None or len(graph.consumers(d)) != 2 or d in graph.outputs:
        return None
    var = _only_consumer(graph, square.outputs[0], "ReduceMean")
    if var is None or not _last_axis_mean(graph, var):
        return None
    add_eps = _only_consumer(graph, var.outputs[0], "Add")
    eps = None if add_eps is None else _scalar(graph, _other(add_eps, var.outputs[0]))
    sqrt = None if add_eps is None else _only_consumer(graph, add_eps.outputs[0], "Sqrt")
    if (
        eps is None
        or sqrt is None
        or div.inputs[1] != sqrt.outputs[0]
        or _only_consumer(graph, sqrt.outputs[0], "Div") is not div
    ):
        return None
    nodes, gamma, beta, tail = [mean, sub, square, var, add_eps, sqrt, div], "", "", div
    mul = _only_consumer(graph, tail.outputs[0], "Mul")
    if mul is not None and const_data(graph, _other(mul, tail.outputs[0])) is not None:
        gamma, tail = _other(mul, tail.outputs[0]), mul
        nodes.append(mul)
    add = _only_consumer(graph, tail.outputs[0], "Add")
    if add is not None and const_data(graph, _other(add, tail.outputs[0])) is not None:
        beta, tail = _other(add, tail.outputs[0]), add
        nodes.append(add)
    return nodes, x, eps, gamma, beta


def _fuse(graph: Graph, nodes: list[Node], x: str, eps: float, gamma: str, beta: str) -> bool:
    depth = int(graph.values[x].shape[-1])
    values = {}
    for key, name, default in (("gamma", gamma, 1.0), ("beta", beta, 0.0)):
        vec = np.full(depth, default, np.float32) if not name else _vector(graph, name, depth)
        if vec is None:
            return False
        values[key] = vec
    mean = nodes[0]
    names = []
    for key, vec in values.items():
        name = f"{mean.name}.{key}"
        while name in graph.values:
            name += "_"
        graph.values[name] = Value(name, [depth], "float32", data=vec)
        names.append(name)
    fused = Node(
        mean.name,
        "LayerNormalization",
        [x, *names],
        [nodes[-1].outputs[0]],
        {"axis": -1, "epsilon": float(eps)},
        [n.name for n in nodes[1:]],
    )
    position = graph.nodes.index(nodes[-1])
    graph.nodes[position] = fused
    drop = {id(n) for n in nodes[:-1]}
    graph.nodes = [n for n in graph.nodes if id(n) not in drop]
    return True


def fold_matmul_transposes(graph: Graph) -> Graph:
    """``MatMul(a, Transpose(b))`` of two activations reads ``b`` through the permutation: the MatMul
    gets ``a_shape`` / ``b_shape`` (its operands' ONNX shapes) and ``a_perm`` / ``b_perm``, and the
    Transpose (when nothing else reads it) goes; batch_matmul turns the perm into strides, no copy."""
    for node in [n for n in graph.nodes if n.op == "MatMul"]:
        if any(const_data(graph, name) is not None for name in node.inputs[:2]):
            continue
        for index, key in ((0, "a"), (1, "b")):
            name = node.inputs[index]
            producer = graph.producer(name)
            if (
                producer is None
                or producer.op != "Transpose"
                or name in graph.outputs
                or len(graph.consumers(name)) != 1
            ):
                continue
            shape = [int(d) for d in graph.values[name].shape]
            perm = [int(p) % len(shape) for p in attr(producer, "perm", list(range(len(shape)))[::-1])]
            node.attrs[f"{key}_shape"], node.attrs[f"{key}_perm"] = shape, perm
            node.fused.append(producer.name)
            node.inputs[index] = producer.inputs[0]
            graph.nodes.remove(producer)
            graph.values.pop(name, None)
    return graph


def run(graph: Graph) -> Graph:
    """Fuse every decomposed layer normalization of an ONNX-stage graph; fold transposes into MatMuls."""
    fold_matmul_transposes(graph)
    fused = 0
    for mean in [n for n in graph.nodes if n.op == "ReduceMean"]:
        if mean not in graph.nodes or not _last_axis_mean(graph, mean):
            continue
        found = _match(graph, mean)
        if found is not None and _fuse(graph, *found):
            fused += 1
    if fused:
        used = {*graph.inputs, *graph.outputs, *(name for n in graph.nodes for name in (*n.inputs, *n.outputs))}
        graph.values = {k: v for k, v in graph.values.items() if k in used}
        log.debug("fused %d decomposed layer normalizations", fused)
    return graph
