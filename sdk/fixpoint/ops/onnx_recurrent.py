"""Support checks of the recurrent family (fixpoint/ops/defs/recurrent.py): ONNX LSTM and GRU.

The runtime's activations are batch first; ONNX's LSTM is time major (X [T, N, C], Y_h [1, N, H]).
So the LSTM must sit where a batch-first export puts it (PyTorch ``nn.LSTM(batch_first=True)``):
X made by a Transpose(perm [1, 0, 2]) of a batch-first [N, T, C] tensor, and Y_h read by one
Reshape / Squeeze / Flatten to [N, H]; normalization makes the lstm read and write those two.
"""

from __future__ import annotations

from fixpoint.ir import Graph, Node
from fixpoint.ops.onnx_ops import _is_static, attr, input_name

_DEFAULT_ACTS = {
    "LSTM": (["Sigmoid", "Tanh", "Tanh"], [b"Sigmoid", b"Tanh", b"Tanh"]),
    "GRU": (["Sigmoid", "Tanh"], [b"Sigmoid", b"Tanh"]),
}
# ONNX ops that turn Y_h [1, N, H] into [N, H] without moving an element
HIDDEN_READERS = ("Reshape", "Squeeze", "Flatten")


def _used(graph: Graph, name: str) -> bool:
    return bool(name) and (bool(graph.consumers(name)) or name in graph.outputs)


def batch_first_transpose(graph: Graph, node: Node) -> Node | None:
    """The Transpose(perm [1, 0, 2]) making the LSTM's X from a batch-first tensor, or None."""
    producer = graph.producer(node.inputs[0])
    if producer is None or producer.op != "Transpose" or list(attr(producer, "perm", [])) != [1, 0, 2]:
        return None
    return producer if len(graph.consumers(node.inputs[0])) == 1 else None


def hidden_reader(graph: Graph, node: Node) -> Node | None:
    """The one Reshape / Squeeze / Flatten reading Y_h into [N, H], or None."""
    name = node.outputs[1] if len(node.outputs) > 1 else ""
    readers = graph.consumers(name) if name else []
    if len(readers) != 1 or name in graph.outputs or readers[0].op not in HIDDEN_READERS:
        return None
    width = int(attr(node, "hidden_size", 0)) * (2 if _bidirectional(node) else 1)
    shape = graph.values[readers[0].outputs[0]].shape
    return readers[0] if len(shape) == 2 and shape[1] == width else None


def _bidirectional(node: Node) -> bool:
    return attr(node, "direction", "forward") in ("bidirectional", b"bidirectional")


def _layout_problem(node: Node, graph: Graph) -> str | None:
    if batch_first_transpose(graph, node) is None:
        return "X must be a Transpose(perm=[1, 0, 2]) of a batch-first [N, T, C] tensor (batch_first export)"
    if _used(graph, node.outputs[0]) or (len(node.outputs) > 2 and _used(graph, node.outputs[2])):
        return "only Y_h may be used (Y and Y_c are not supported yet)"
    if hidden_reader(graph, node) is None:
        return "Y_h must be read by exactly one Reshape / Squeeze / Flatten to [N, directions * hidden_size]"
    return None


def _common_problem(node: Node, graph: Graph, state_inputs: tuple[tuple[int, str], ...]) -> str | None:
    """What LSTM and GRU share: direction, layout, activations, constant weights, no state inputs."""
    if attr(node, "direction", "forward") not in ("forward", "reverse", b"forward", b"reverse") and not _bidirectional(
        node
    ):
        return f"direction={attr(node, 'direction')}"
    if int(attr(node, "layout", 0)) != 0:
        return "layout must be 0"
    acts = attr(node, "activations", None)
    if acts is not None and list(acts) not in _DEFAULT_ACTS[node.op]:
        return f"activations {acts} (only the defaults)"
    if attr(node, "activation_alpha", None) or attr(node, "activation_beta", None) or attr(node, "clip", None):
        return "activation_alpha, activation_beta and clip are not supported"
    for index, what in state_inputs:
        if input_name(node, index):
            return f"input {what} is not supported"
    bias = input_name(node, 3)
    if (
        _is_static(graph, node.inputs[0])
        or not all(_is_static(graph, input_name(node, i)) for i in (1, 2))
        or (bias and not _is_static(graph, bias))
    ):
        return "X must be an activation and W, R, B constants"
    shape = graph.values[node.inputs[0]].shape
    if len(shape) != 3 or shape[1] != 1:
        return f"X of shape {shape} is not [seq_length, 1, input_size]"
    return _layout_problem(node, graph)


def _lstm_check(node: Node, graph: Graph) -> str | None:
    """LSTM: direction forward, reverse or bidirectional (two passes), layout 0, batch 1. X a
    Transpose(perm=[1, 0, 2]) of a batch-first [N, T, C] tensor, Y_h (the only output used) read by
    one Reshape / Squeeze / Flatten to [N, directions * hidden_size]. W, R, B constant, no
    sequence_lens, initial_h, initial_c or P, default activations, no clip, input_forget 0."""
    if int(attr(node, "input_forget", 0)) != 0:
        return "input_forget must be 0"
    return _common_problem(node, graph, ((4, "sequence_lens"), (5, "initial_h"), (6, "initial_c"), (7, "P")))


def _gru_check(node: Node, graph: Graph) -> str | None:
    """GRU: linear_before_reset=1 (the PyTorch export), direction forward, reverse or bidirectional,
    layout 0, batch 1. X and Y_h as for LSTM, W, R, B constant, no sequence_lens or initial_h,
    default activations, no clip."""
    if int(attr(node, "linear_before_reset", 0)) != 1:
        return "linear_before_reset must be 1 (the form PyTorch exports)"
    return _common_problem(node, graph, ((4, "sequence_lens"), (5, "initial_h")))
