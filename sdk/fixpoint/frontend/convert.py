"""Turn a shape-inferred ONNX ModelProto into an ONNX-stage :class:`fixpoint.ir.Graph`.

Initializers and numeric ``Constant`` nodes become constant Values; every other
node keeps its ONNX op type in ``Node.op`` (``domain.OpType`` for non-default
domains, so they never match the op table) with attributes as plain Python
values. Omitted optional inputs stay as "" so input positions keep their ONNX
meaning.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from fixpoint.frontend.errors import ModelCheckError, one_line, short_name
from fixpoint.ir import Graph, Node, Value

DEFAULT_DOMAINS = ("", "ai.onnx")


def tensor_data(tensor: onnx.TensorProto) -> np.ndarray:
    """The tensor's values; a ModelCheckError naming it when they cannot be decoded."""
    try:
        return numpy_helper.to_array(tensor)
    except Exception as exc:  # onnx raises KeyError / ValueError / TypeError for bad types and sizes
        raise ModelCheckError(
            f"tensor '{short_name(tensor.name)}': cannot decode its data ({one_line(exc)[:200]})"
        ) from None


def attribute_value(attribute: onnx.AttributeProto) -> Any:
    """An ONNX attribute as a plain Python value (tensors become numpy arrays)."""
    kind = attribute.type
    if kind == onnx.AttributeProto.TENSOR:
        return tensor_data(attribute.t)
    if kind == onnx.AttributeProto.TENSORS:
        return [tensor_data(t) for t in attribute.tensors]
    if kind in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
        return "<subgraph>"  # control flow is unsupported; keep a marker for messages
    if kind == onnx.AttributeProto.SPARSE_TENSOR:
        return "<sparse tensor>"
    value = onnx.helper.get_attribute_value(attribute)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, list):
        return [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in value]
    return value


_CONSTANT_KINDS = {
    "value": lambda v: v,
    "value_float": lambda v: np.array(v, dtype=np.float32),
    "value_floats": lambda v: np.array(v, dtype=np.float32),
    "value_int": lambda v: np.array(v, dtype=np.int64),
    "value_ints": lambda v: np.array(v, dtype=np.int64),
}


def constant_node_value(attrs: dict[str, Any]) -> np.ndarray | None:
    """The numeric value of a Constant node, or None (string / sparse constants)."""
    for key, make in _CONSTANT_KINDS.items():
        if key in attrs and not isinstance(attrs[key], str):
            return np.asarray(make(attrs[key]))
    return None


def _unique_node_names(nodes: list[onnx.NodeProto]) -> list[str]:
    """ONNX names, ``<op_type>_<index>`` for unnamed nodes, made unique."""
    names: list[str] = []
    seen: set[str] = set()
    for index, node in enumerate(nodes):
        name = node.name or f"{node.op_type}_{index}"
        if name in seen:
            name = f"{name}_{index}"
        seen.add(name)
        names.append(name)
    return names


def _op_key(node: onnx.NodeProto) -> str:
    return node.op_type if node.domain in DEFAULT_DOMAINS else f"{node.domain}.{node.op_type}"


def _value(
    name: str, shapes: dict[str, list[int] | None], dtypes: dict[str, str], data: np.ndarray | None = None
) -> Value:
    if data is not None:
        return Value(name, [int(d) for d in data.shape], data.dtype.name, data=data)
    return Value(name, list(shapes.get(name) or []), dtypes.get(name, "float32"))


def to_graph(
    model: onnx.ModelProto, shapes: dict[str, list[int] | None], dtypes: dict[str, str], opset: int
) -> tuple[Graph, set[str]]:
    """Build the ONNX-stage graph and the set of tensor names whose shape is unknown."""
    onnx_graph = model.graph
    values: dict[str, Value] = {}
    for init in onnx_graph.initializer:
        values[init.name] = _value(init.name, shapes, dtypes, tensor_data(init))
    inputs = [vi.name for vi in onnx_graph.input if vi.name not in values]
    for name in inputs:
        values[name] = _value(name, shapes, dtypes)

    nodes: list[Node] = []
    for proto, name in zip(onnx_graph.node, _unique_node_names(list(onnx_graph.node))):
        attrs = {a.name: attribute_value(a) for a in proto.attribute}
        op = _op_key(proto)
        constant = constant_node_value(attrs) if op == "Constant" else None
        if constant is not None:
            values[proto.output[0]] = _value(proto.output[0], shapes, dtypes, constant)
            continue
        nodes.append(Node(name, op, list(proto.input), list(proto.output), attrs))
        for out in proto.output:
            if out:
                values[out] = _value(out, shapes, dtypes)

    unknown = {name for name, value in values.items() if not value.is_const and shapes.get(name) is None}
    graph = Graph(
        name=onnx_graph.name or "model",
        nodes=nodes,
        values=values,
        inputs=inputs,
        outputs=[vi.name for vi in onnx_graph.output],
        opset=opset,
        stage="onnx",
    )
    return graph, unknown
