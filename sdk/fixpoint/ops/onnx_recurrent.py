"""Support check of the recurrent family (fixpoint/ops/defs/recurrent.py): ONNX LSTM."""
from __future__ import annotations

from fixpoint.ir import Graph, Node
from fixpoint.ops.onnx_ops import _is_static, attr, input_name

_DEFAULT_ACTS = (["Sigmoid", "Tanh", "Tanh"], [b"Sigmoid", b"Tanh", b"Tanh"])


def _lstm_output_problem(node: Node, graph: Graph) -> str | None:
    used = [i for i, name in enumerate(node.outputs) if name and (graph.consumers(name) or name in graph.outputs)]
    if len(used) != 1 or used[0] == 2:
        return "exactly one of the outputs Y or Y_h must be used (Y_c may only be observed)"
    return None


def _lstm_check(node: Node, graph: Graph) -> str | None:
    """LSTM: direction forward or reverse, layout 0, batch 1; W, R, B constant; no sequence_lens,
    initial_h, initial_c or P; default activations, no clip, input_forget 0; one of Y or Y_h used."""
    if attr(node, "direction", "forward") not in ("forward", "reverse", b"forward", b"reverse"):
        return f"direction={attr(node, 'direction')} (bidirectional: not yet supported)"
    if int(attr(node, "layout", 0)) != 0 or int(attr(node, "input_forget", 0)) != 0:
        return "layout and input_forget must be 0"
    acts = attr(node, "activations", None)
    if acts is not None and list(acts) not in _DEFAULT_ACTS:
        return f"activations {acts} (only Sigmoid, Tanh, Tanh)"
    if attr(node, "activation_alpha", None) or attr(node, "activation_beta", None) or attr(node, "clip", None):
        return "activation_alpha, activation_beta and clip are not supported"
    for index, what in ((4, "sequence_lens"), (5, "initial_h"), (6, "initial_c"), (7, "P")):
        if input_name(node, index):
            return f"input {what} is not supported"
    bias = input_name(node, 3)
    if _is_static(graph, node.inputs[0]) or not all(_is_static(graph, input_name(node, i)) for i in (1, 2)) \
            or (bias and not _is_static(graph, bias)):
        return "X must be an activation and W, R, B constants"
    shape = graph.values[node.inputs[0]].shape
    if len(shape) != 3 or shape[1] != 1:
        return f"X of shape {shape} is not [seq_length, 1, input_size]"
    return _lstm_output_problem(node, graph)
