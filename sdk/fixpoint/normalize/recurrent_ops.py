"""Normalization of the recurrent family (fixpoint/ops/defs/recurrent.py): ONNX LSTM -> lstm,
ONNX GRU -> gru (same layout, gates z, r, h and 3H rows).

The normalized ``lstm`` node reads ``[x, weights, bias]``: ``x`` the batch-first sequence
[N, T, input] the ONNX Transpose(perm [1, 0, 2]) read (stored row-major: one step after the other),
``weights`` [4H, input + H] (row r: W[r] then R[r], gates i, o, f, c as ONNX orders them), ``bias``
[8H] (Wb then Rb). Its one output is the [N, H] tensor the Reshape / Squeeze / Flatten of Y_h made
(the last h, ``output_sequence`` 0); the Transpose and that reader disappear (batch 1: neither moves
an element). The support check (fixpoint.ops.onnx_recurrent) admitted only that arrangement.
"""

from __future__ import annotations

import numpy as np

from fixpoint.ir import Graph, ModelError, Node, Value
from fixpoint.normalize.graph_edit import add_const, remove_node, unique_name, unique_node_name
from fixpoint.ops.onnx_recurrent import hidden_reader

Array = np.ndarray


def _batch_first_source(graph: Graph, node: Node) -> str:
    """The [1, T, C] tensor the checked Transpose(perm [1, 0, 2]) made X [T, 1, C] from. The
    Transpose was canonicalized before this node (into copy / transpose nodes of one input each),
    so follow the producers back to the first tensor of that shape."""
    steps, _, channels = graph.values[node.inputs[0]].shape
    name = node.inputs[0]
    for _ in range(8):  # a Transpose becomes at most a few nodes
        producer = graph.producer(name)
        if producer is None:
            break
        name = producer.inputs[0]
        if graph.values[name].shape == [1, steps, channels]:
            return name
    raise ModelError(f"node '{node.name}' (LSTM): cannot find the batch-first input of X '{node.inputs[0]}'")


def _direction_consts(graph: Graph, node: Node, d: int, suffix: str) -> tuple[str, str]:
    """Direction d's weights [G * H, input + H] (W then R per row) and bias [2 G H] as constants."""
    w = graph.values[node.inputs[1]].data[d]
    r = graph.values[node.inputs[2]].data[d]
    bias_name = node.inputs[3] if len(node.inputs) > 3 else ""
    bias = graph.values[bias_name].data[d] if bias_name else np.zeros(2 * r.shape[0], np.float32)
    weights = add_const(graph, f"{node.name}.weight{suffix}", np.ascontiguousarray(np.concatenate([w, r], axis=1)))
    return weights, add_const(graph, f"{node.name}.bias{suffix}", np.asarray(bias, np.float32).reshape(-1))


def _recurrent(graph: Graph, node: Node, op: str) -> None:
    """LSTM / GRU -> lstm / gru. Bidirectional: two passes, the forward one and a reverse one, each
    writing its last h [N, H], and a concat of the two ([N, 2H]: ONNX's Y_h [2, N, H] read as
    [N, 2H] is forward then reverse for N = 1)."""
    hidden = graph.values[node.inputs[2]].shape[2]
    source = _batch_first_source(graph, node)
    reader = hidden_reader(graph, node)
    remove_node(graph, reader)  # the Transpose, now unused, is pruned after the pass
    direction = node.attrs.get("direction", "forward")
    if direction not in ("bidirectional", b"bidirectional"):
        weights, bias = _direction_consts(graph, node, 0, "")
        node.attrs = {
            "hidden_size": int(hidden),
            "output_sequence": 0,
            "reverse": int(direction in ("reverse", b"reverse")),
        }
        node.op, node.inputs, node.outputs = op, [source, weights, bias], [reader.outputs[0]]
        return
    out = reader.outputs[0]
    batch = graph.values[out].shape[0]
    halves = []
    for d, suffix in enumerate((".forward", ".reverse")):
        halves.append(unique_name(graph, out + suffix))
        graph.values[halves[-1]] = Value(halves[-1], [batch, int(hidden)])
    position = graph.nodes.index(node)
    w1, b1 = _direction_consts(graph, node, 1, ".reverse")
    w0, b0 = _direction_consts(graph, node, 0, ".forward")
    attrs = {"hidden_size": int(hidden), "output_sequence": 0}
    graph.nodes.insert(
        position + 1,
        Node(
            unique_node_name(graph, f"{node.name}.reverse"), op, [source, w1, b1], [halves[1]], {**attrs, "reverse": 1}
        ),
    )
    graph.nodes.insert(
        position + 2, Node(unique_node_name(graph, f"{node.name}.concat"), "concat", halves, [out], {"axis": 1})
    )
    node.attrs = {**attrs, "reverse": 0}
    node.op, node.inputs, node.outputs = op, [source, w0, b0], [halves[0]]


def _lstm(graph: Graph, node: Node) -> None:
    """LSTM -> lstm (gates i, o, f, c)."""
    _recurrent(graph, node, "lstm")


def _gru(graph: Graph, node: Node) -> None:
    """GRU (linear_before_reset 1) -> gru (gates z, r, h)."""
    _recurrent(graph, node, "gru")


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
        gates = weights[:, :n_in] @ seq[t] + weights[:, n_in:] @ h + bias[: 4 * hidden] + bias[4 * hidden :]
        i, o, f, g = (gates[q * hidden : (q + 1) * hidden] for q in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        out[t] = h
    result = out if node.attrs.get("output_sequence", 1) else h
    return result.reshape(out_shape)


def _steps(node: Node, data: Array, weights: Array):
    hidden = int(node.attrs["hidden_size"])
    n_in = weights.shape[1] - hidden
    seq = data.reshape(-1, n_in)
    order = range(seq.shape[0] - 1, -1, -1) if node.attrs.get("reverse") else range(seq.shape[0])
    return hidden, n_in, seq, order


def float_gru(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    """The float GRU (ONNX semantics, linear_before_reset 1, default activations)."""
    data, weights, bias = (np.asarray(a, np.float64) for a in x)
    hidden, n_in, seq, order = _steps(node, data, weights)
    h = np.zeros(hidden)
    out = np.zeros((seq.shape[0], hidden))
    for t in order:
        a = weights[:, :n_in] @ seq[t] + bias[: 3 * hidden]
        b = weights[:, n_in:] @ h + bias[3 * hidden :]
        z = _sigmoid(a[:hidden] + b[:hidden])
        r = _sigmoid(a[hidden : 2 * hidden] + b[hidden : 2 * hidden])
        n = np.tanh(a[2 * hidden :] + r * b[2 * hidden :])
        h = (1.0 - z) * n + z * h
        out[t] = h
    result = out if node.attrs.get("output_sequence", 1) else h
    return result.reshape(out_shape)
