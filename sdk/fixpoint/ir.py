"""The float graph IR that the front end builds and the normalizer rewrites.

Stages (each a module reading and returning plain data):
    load (fixpoint.frontend)  -> Graph(stage="onnx")        ONNX ops, ONNX layouts
    normalize (fixpoint.normalize) -> Graph(stage="normalized")  canonical ops, NHWC
    calibrate (fixpoint.calibrate) -> ranges per value name
    lower (fixpoint.lower)    -> fixpoint.plan.Plan

In a normalized graph (see docs/normalized-ir.md):
* ``Node.op`` is a runtime op key from ``fixpoint.ops.runtime_ops.RUNTIME_OPS``;
* every activation ``Value`` is 4-D NHWC (rank-2 [N, C] becomes [N, 1, 1, C]),
  with ``source_layout`` telling how the ONNX tensor of the same name is laid
  out ("NCHW", "NC" or "NHWC"), so statistics gathered from onnxruntime under
  that name apply unchanged;
* each node's output keeps the name of the ONNX tensor whose float value it
  equals (after fusing a Relu into a Conv, the Relu's output name);
* constant inputs (weights, biases) are ``Value``s with ``data`` set, already
  in runtime layout (conv OHWI, depthwise [1, KH, KW, C_out], fully connected
  [C_out, depth] with any Flatten permutation applied).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Value:
    """A tensor: a graph input, an intermediate activation or a constant."""

    name: str
    shape: list[int]
    dtype: str = "float32"
    data: np.ndarray | None = None
    source_layout: str = ""  # set in normalized graphs: "NCHW" | "NC" | "NCL" | "NHWC"

    @property
    def is_const(self) -> bool:
        return self.data is not None


@dataclass
class Node:
    """One operation. ``fused`` lists ONNX node names folded into it."""

    name: str
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    fused: list[str] = field(default_factory=list)


@dataclass
class Graph:
    """A whole model in topological node order."""

    name: str
    nodes: list[Node]
    values: dict[str, Value]
    inputs: list[str]
    outputs: list[str]
    opset: int
    stage: str = "onnx"  # "onnx" | "normalized"
    source_path: str = ""
    source_sha256: str = ""

    def producer(self, value_name: str) -> Node | None:
        for node in self.nodes:
            if value_name in node.outputs:
                return node
        return None

    def consumers(self, value_name: str) -> list[Node]:
        return [n for n in self.nodes if value_name in n.inputs]

    def activation_names(self) -> list[str]:
        """Graph inputs and every node output, in execution order."""
        names = list(self.inputs)
        for node in self.nodes:
            names.extend(o for o in node.outputs if o not in names)
        return names


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped (``\\n``, ``\\x1b``, ``\\u202e``...).

    Names come from the user's file: a newline, a line separator or an ANSI
    escape inside one must neither split an error line nor drive the terminal.
    """
    return "".join(ch if ch.isprintable() else _ESCAPES.get(ch) or _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class ModelError(ValueError):
    """Bad user input (model, data, option). str() is the one-line message shown.

    The message is escaped with :func:`printable` when read, so every subclass
    stays one safe line whatever names it quotes.
    """

    def __str__(self) -> str:
        return printable(super().__str__())

    def located(self, origin: str) -> ModelError:
        """Prefix the message with ``origin`` (the model file) unless it already names it."""
        message = super().__str__()
        if origin and origin not in message:
            self.args = (f"{origin}: {message}", *self.args[1:])
        return self
