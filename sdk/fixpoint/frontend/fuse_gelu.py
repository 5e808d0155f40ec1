"""The decomposed GELU exporters emit before opset 20, as one ``Gelu`` node (one table).

    exact:  0.5 * x * (1 + Erf(x / sqrt(2)))                         (Div by sqrt 2, or Mul by 1/sqrt 2)
    tanh:   0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))  (x^3: Pow(x, 3) or Mul(x, Mul(x, x)))

The outer ``0.5 * x * (...)`` may be ``Mul(Mul(x, a), 0.5)``, ``Mul(x, Mul(a, 0.5))`` or with the operands
swapped. Run at the front door (Pow is not an op of the runtime); every intermediate must have the one
consumer the pattern gives it, otherwise nothing changes.
"""

from __future__ import annotations

import logging
import math

from fixpoint.ir import Graph, Node
from fixpoint.ops.onnx_ops import const_data

__all__ = ["run"]

log = logging.getLogger(__name__)

_TOL = 1e-3


def _scalar(graph: Graph, name: str) -> float | None:
    data = const_data(graph, name)
    return float(data.ravel()[0]) if data is not None and data.size == 1 else None


def _near(value: float | None, want: float) -> bool:
    return value is not None and abs(value - want) <= _TOL * max(1.0, abs(want))


def _sole(graph: Graph, name: str) -> Node | None:
    users = graph.consumers(name)
    return users[0] if len(users) == 1 and name not in graph.outputs else None


def _const_operand(graph: Graph, node: Node, want: float) -> str | None:
    """The activation operand of a binary ``node`` whose other operand is the scalar ``want``."""
    for i in (0, 1):
        if _near(_scalar(graph, node.inputs[1 - i]), want) and const_data(graph, node.inputs[i]) is None:
            return node.inputs[i]
    return None


def _producer(graph: Graph, name: str, op: str) -> Node | None:
    node = graph.producer(name)
    return node if node is not None and node.op == op and _sole(graph, name) is not None else None


def _erf_input(graph: Graph, name: str) -> tuple[str, list[Node]] | None:
    div = _producer(graph, name, "Div")
    if div is not None and _near(_scalar(graph, div.inputs[1]), math.sqrt(2)):
        return div.inputs[0], [div]
    mul = _producer(graph, name, "Mul")
    x = None if mul is None else _const_operand(graph, mul, 1 / math.sqrt(2))
    return (x, [mul]) if x is not None else None


def _cube_of(graph: Graph, name: str) -> tuple[str, list[Node]] | None:
    pow_ = _producer(graph, name, "Pow")
    if pow_ is not None and _near(_scalar(graph, pow_.inputs[1]), 3.0):
        return pow_.inputs[0], [pow_]
    mul = _producer(graph, name, "Mul")
    if mul is None:
        return None
    for i in (0, 1):
        sq = _producer(graph, mul.inputs[1 - i], "Mul")
        if sq is not None and sq.inputs[0] == sq.inputs[1] == mul.inputs[i]:
            return mul.inputs[i], [sq, mul]
    return None


def _tanh_input(graph: Graph, name: str) -> tuple[str, list[Node]] | None:
    scale = _producer(graph, name, "Mul")
    inner = None if scale is None else _const_operand(graph, scale, math.sqrt(2 / math.pi))
    add = None if inner is None else _producer(graph, inner, "Add")
    if add is None:
        return None
    for i in (0, 1):
        cubic = _producer(graph, add.inputs[1 - i], "Mul")
        cube = None if cubic is None else _const_operand(graph, cubic, 0.044715)
        found = None if cube is None else _cube_of(graph, cube)
        if found is not None and found[0] == add.inputs[i]:
            return add.inputs[i], [*found[1], cubic, add, scale]
    return None


def _tail(graph: Graph, x: str, g: Node) -> list[Node] | None:
    """Add(g, 1) -> the two Muls by x and by 0.5, in either order: the nodes, the last one last."""
    add = _sole(graph, g.outputs[0])
    if add is None or add.op != "Add" or _const_operand(graph, add, 1.0) != g.outputs[0]:
        return None
    first = _sole(graph, add.outputs[0])
    if first is None or first.op != "Mul":
        return None
    second = _sole(graph, first.outputs[0])
    if second is None or second.op != "Mul":
        return None
    half_first = _const_operand(graph, first, 0.5) == add.outputs[0]
    x_first = sorted(first.inputs) == sorted([x, add.outputs[0]])
    if half_first and sorted(second.inputs) == sorted([x, first.outputs[0]]):
        return [add, first, second]
    if x_first and _const_operand(graph, second, 0.5) == first.outputs[0]:
        return [add, first, second]
    return None


def _match(graph: Graph, g: Node) -> tuple[str, list[Node], str] | None:
    head = _erf_input(graph, g.inputs[0]) if g.op == "Erf" else _tanh_input(graph, g.inputs[0])
    if head is None:
        return None
    x, nodes = head
    tail = _tail(graph, x, g)
    return None if tail is None else (x, [*nodes, g, *tail], "none" if g.op == "Erf" else "tanh")


def run(graph: Graph) -> Graph:
    """Fuse every decomposed GELU of an ONNX-stage graph into a ``Gelu`` node."""
    fused = 0
    for g in [n for n in graph.nodes if n.op in ("Erf", "Tanh")]:
        found = _match(graph, g) if g in graph.nodes else None
        if found is None:
            continue
        x, nodes, approximate = found
        last = nodes[-1]
        gelu = Node(
            g.name, "Gelu", [x], [last.outputs[0]], {"approximate": approximate}, [n.name for n in nodes if n is not g]
        )
        graph.nodes[graph.nodes.index(last)] = gelu
        drop = {id(n) for n in nodes[:-1]}
        graph.nodes = [n for n in graph.nodes if id(n) not in drop]
        fused += 1
    if fused:
        used = {*graph.inputs, *graph.outputs, *(name for n in graph.nodes for name in (*n.inputs, *n.outputs))}
        graph.values = {k: v for k, v in graph.values.items() if k in used}
        log.debug("fused %d decomposed GELUs", fused)
    return graph
