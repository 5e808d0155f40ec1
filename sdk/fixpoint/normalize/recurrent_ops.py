"""Normalization of the recurrent family (fixpoint/ops/defs/recurrent.py): ONNX LSTM -> lstm.

The normalized ``lstm`` node reads ``[x, weights, bias]``: ``x`` the sequence [seq_len, 1, input]
(stored row-major, one step after the other), ``weights`` [4H, input + H] (row r: W[r] then R[r],
gates i, o, f, c as ONNX orders them), ``bias`` [8H] (Wb then Rb). Its one output is ONNX's Y
(every step's h, ``output_sequence`` 1) or Y_h (the last h, 0).
"""
from __future__ import annotations

import numpy as np

from fixpoint.ir import Graph, Node
from fixpoint.normalize.graph_edit import add_const

Array = np.ndarray


def _used_output(graph: Graph, node: Node) -> int:
    """0 (Y) or 1 (Y_h): the support check admitted exactly one used output."""
    for index, name in enumerate(node.outputs[:2]):
        if name and (graph.consumers(name) or name in graph.outputs):
            return index
    return 0


def _lstm(graph: Graph, node: Node) -> None:
    """LSTM -> lstm: W and R side by side per gate row, Wb and Rb one bias vector."""
    w = graph.values[node.inputs[1]].data[0]
    r = graph.values[node.inputs[2]].data[0]
    hidden = r.shape[1]
    bias_name = node.inputs[3] if len(node.inputs) > 3 else ""
    bias = graph.values[bias_name].data[0] if bias_name else np.zeros(8 * hidden, np.float32)
    weights = add_const(graph, f"{node.name}.weight", np.ascontiguousarray(np.concatenate([w, r], axis=1)))
    bias = add_const(graph, f"{node.name}.bias", np.asarray(bias, np.float32).reshape(-1))
    used = _used_output(graph, node)
    direction = node.attrs.get("direction", "forward")
    node.attrs = {"hidden_size": int(hidden), "output_sequence": int(used == 0),
                  "reverse": int(direction in ("reverse", b"reverse"))}
    node.op, node.inputs, node.outputs = "lstm", [node.inputs[0], weights, bias], [node.outputs[used]]


def _sigmoid(x: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-x))


def float_lstm(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    """The float LSTM (ONNX semantics, default activations) over the whole sequence."""
    data, weights, bias = (np.asarray(a, np.float64) for a in x)
    hidden = int(node.attrs["hidden_size"])
    n_in = weights.shape[1] - hidden
    seq = data.reshape(-1, n_in)
    h, c = np.zeros(hidden), np.zeros(hidden)
    out = np.zeros((seq.shape[0], hidden))
    steps = range(seq.shape[0] - 1, -1, -1) if node.attrs.get("reverse") else range(seq.shape[0])
    for t in steps:
        gates = weights[:, :n_in] @ seq[t] + weights[:, n_in:] @ h + bias[:4 * hidden] + bias[4 * hidden:]
        i, o, f, g = (gates[q * hidden:(q + 1) * hidden] for q in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        out[t] = h
    result = out if node.attrs.get("output_sequence", 1) else h
    return result.reshape(out_shape)
