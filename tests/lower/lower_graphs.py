"""Hand-built normalized graphs for lowering tests (no front end involved)."""

from __future__ import annotations

import numpy as np

from fixpoint.ir import Graph, Node, Value
from fixpoint.quant import TensorQuant


class GraphBuilder:
    """Build a normalized Graph and its calibration (TensorQuant per activation) side by side."""

    def __init__(self, name: str = "g", bits: int = 8):
        self.name = name
        self.bits = bits
        self.values: dict[str, Value] = {}
        self.nodes: list[Node] = []
        self.inputs: list[str] = []
        self.quant: dict[str, TensorQuant] = {}

    def _quant(self, name: str, scale: float, zp: int) -> None:
        qmax = (1 << (self.bits - 1)) - 1
        lo, hi = scale * (-qmax - 1 - zp), scale * (qmax - zp)
        self.quant[name] = TensorQuant(
            name, scale, zp, self.bits, "asymmetric" if zp else "symmetric", "max", lo, hi, lo, hi
        )

    def input(self, name: str, shape: list[int], scale: float, zp: int = 0, layout: str = "NHWC") -> str:
        self.values[name] = Value(name, list(shape), source_layout=layout)
        self.inputs.append(name)
        self._quant(name, scale, zp)
        return name

    def const(self, name: str, data) -> str:
        data = np.asarray(data, dtype=np.float32)
        self.values[name] = Value(name, list(data.shape), data=data)
        return name

    def node(
        self,
        op: str,
        inputs: list[str],
        output: str,
        shape: list[int],
        attrs: dict | None = None,
        scale: float | None = None,
        zp: int = 0,
        layout: str = "NHWC",
        fused=(),
    ) -> str:
        self.values[output] = Value(output, list(shape), source_layout=layout)
        self.nodes.append(Node(output + "_node", op, list(inputs), [output], dict(attrs or {}), list(fused)))
        if scale is not None:
            self._quant(output, scale, zp)
        return output

    def graph(self, outputs: list[str]) -> Graph:
        return Graph(
            self.name,
            self.nodes,
            self.values,
            list(self.inputs),
            list(outputs),
            opset=13,
            stage="normalized",
            source_sha256="ab" * 32,
        )


def conv_attrs(pads=(0, 0, 0, 0), strides=(1, 1), dilations=(1, 1), groups=1, act="none", act_range=None):
    return {
        "strides": list(strides),
        "dilations": list(dilations),
        "pads": list(pads),
        "groups": groups,
        "act": act,
        "act_range": act_range,
    }
