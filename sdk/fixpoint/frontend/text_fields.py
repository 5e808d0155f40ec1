"""Names and op types that are not valid UTF-8.

protobuf parses an invalid UTF-8 ``string`` field of an ONNX file without
complaint and hands it back as ``bytes``; further on it would break dictionary
keys, the checker (``UnicodeDecodeError`` without a culprit) and the plan file.
Checked right after parsing, so the error can say which field it is.
"""

from __future__ import annotations

from collections.abc import Iterator

import onnx

from fixpoint.frontend.errors import ModelFileError, short_name


def _node_fields(index: int, node: onnx.NodeProto) -> Iterator[tuple[str, object]]:
    where = f"node {index}"
    if isinstance(node.name, str) and node.name:
        where += f" '{short_name(node.name)}'"
    yield f"name of {where}", node.name
    yield f"op type of {where}", node.op_type
    yield f"domain of {where}", node.domain
    for position, name in enumerate(node.input):
        yield f"input {position} of {where}", name
    for position, name in enumerate(node.output):
        yield f"output {position} of {where}", name
    for attribute in node.attribute:
        yield f"an attribute name of {where}", attribute.name


def _fields(model: onnx.ModelProto) -> Iterator[tuple[str, object]]:
    graph = model.graph
    yield "graph name", graph.name
    for opset in model.opset_import:
        yield "an opset domain", opset.domain
    for kind, infos in (("graph input", graph.input), ("graph output", graph.output), ("value_info", graph.value_info)):
        for index, info in enumerate(infos):
            yield f"name of {kind} {index}", info.name
    for index, tensor in enumerate(graph.initializer):
        yield f"name of initializer {index}", tensor.name
    for index, node in enumerate(graph.node):
        yield from _node_fields(index, node)


def check_text_fields(model: onnx.ModelProto, path: object) -> None:
    """Raise ModelFileError naming the first string field that is not valid UTF-8."""
    for where, value in _fields(model):
        if isinstance(value, bytes):
            raise ModelFileError(f"{path}: {where} is not valid UTF-8 ({value[:40]!r})")
