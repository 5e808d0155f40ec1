"""Shape and attribute-range checks behind the support checks of ``fixpoint.ops.onnx_ops``.

ONNX shape inference (run with strict mode off, so that exporters' quirks load)
does not reject an impossible window, group or parameter shape: it computes a
negative extent, or nothing, and the normalizer then trips over it. These
checks name the node's attribute or input instead. Each returns ``None`` when
fine, otherwise the reason, like the checks in the op table.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fixpoint.ir import Graph, Node

INT32_MAX = 2**31 - 1  # window parameters and dimensions are int32_t in the runtime


def _attr(node: Node, name: str, default: Any = None) -> Any:
    return node.attrs.get(name, default)


def axis_problem(axis: Any, rank: int, name: str = "axis", inclusive_end: bool = False) -> str | None:
    """Why ``axis`` is not an axis of a rank-``rank`` tensor (negative counts from the end)."""
    top = rank if inclusive_end else rank - 1
    if not isinstance(axis, int) or not -rank <= axis <= top:
        return f"{name}={axis} is out of range for a rank-{rank} tensor"
    return None


def ints_problem(node: Node, name: str, length: int, minimum: int) -> str | None:
    """Why attribute ``name``, when present, is not ``length`` integers in [minimum, INT32_MAX]."""
    values = _attr(node, name)
    if values is None:
        return None
    if not isinstance(values, list) or len(values) != length or \
            not all(isinstance(v, int) for v in values):
        return f"{name}={values!r} (expected {length} integers)"
    if not all(minimum <= v <= INT32_MAX for v in values):
        return f"{name}={values} (each must be from {minimum} to {INT32_MAX})"
    return None


_WINDOW_ATTRS = (("kernel_shape", 2, 1), ("strides", 2, 1), ("dilations", 2, 1), ("pads", 4, 0))


def window_problem(node: Node, graph: Graph, kernel: list[int]) -> str | None:
    """Attribute ranges of a 2-D Conv / pool window, and that the (dilated) window fits its
    padded input: ONNX shape inference would otherwise compute negative output extents."""
    for name, length, minimum in _WINDOW_ATTRS:
        problem = ints_problem(node, name, length, minimum)
        if problem:
            return problem
    auto_pad = _attr(node, "auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return None  # padding is derived so that every output position has input
    in_hw = graph.values[node.inputs[0]].shape[2:]
    pads = _attr(node, "pads", [0, 0, 0, 0]) if auto_pad == "NOTSET" else [0, 0, 0, 0]
    dilations = _attr(node, "dilations", [1, 1])
    for axis in range(2):
        span = (kernel[axis] - 1) * dilations[axis] + 1
        padded = in_hw[axis] + pads[axis] + pads[axis + 2]
        if span > padded:
            return (f"kernel_shape={list(kernel)} with dilations={dilations} spans {span} along "
                    f"{'HW'[axis]}, more than the padded input ({in_hw[axis]} + pads "
                    f"{pads[axis]}+{pads[axis + 2]} = {padded})")
    return None


def conv_shapes_problem(node: Node, graph: Graph) -> str | None:
    """Weight, bias, group and kernel_shape consistent with each other and the input channels."""
    c_in = graph.values[node.inputs[0]].shape[1]
    weight_shape = graph.values[node.inputs[1]].shape
    if len(weight_shape) != 4:
        return f"weight of shape {weight_shape} is not 4-D [C_out, C_in / group, KH, KW]"
    c_out = weight_shape[0]
    group = _attr(node, "group", 1)
    if not isinstance(group, int) or not 1 <= group <= INT32_MAX:
        return f"group={group} (must be at least 1)"
    if c_in % group or c_out % group:
        return f"group={group} does not divide C_in={c_in} and C_out={c_out}"
    if weight_shape[1] * group != c_in:
        return (f"weight of shape {weight_shape} with group={group} takes "
                f"{weight_shape[1] * group} input channels, the input has {c_in}")
    bias = node.inputs[2] if len(node.inputs) > 2 else ""
    if bias and graph.values[bias].shape != [c_out]:
        return f"bias of shape {graph.values[bias].shape}, expected [{c_out}]"
    kernel = _attr(node, "kernel_shape")
    if kernel is not None and list(kernel) != weight_shape[2:]:
        return f"kernel_shape={kernel} does not match the weight's {weight_shape[2:]}"
    return None


def batchnorm_params_problem(node: Node, graph: Graph) -> str | None:
    """scale, B, mean and var hold one value per channel, and var + epsilon is positive
    (folding divides by its square root)."""
    shape = graph.values[node.inputs[0]].shape
    channels = shape[1] if len(shape) >= 2 else None
    for role, name in zip(("scale", "B", "mean", "var"), node.inputs[1:5]):
        if graph.values[name].shape != [channels]:
            return (f"{role} of shape {graph.values[name].shape} for an input of shape {shape} "
                    f"(expected [{channels}], one value per channel)")
    var = graph.values[node.inputs[4]].data
    epsilon = _attr(node, "epsilon", 1e-5)
    if var is not None and not np.all(var.astype(np.float64) + float(epsilon) > 0):
        return f"var + epsilon (epsilon={epsilon}) is not positive for every channel"
    return None


def pool_window_problem(node: Node, graph: Graph) -> str | None:
    kernel = _attr(node, "kernel_shape")
    if not isinstance(kernel, list) or len(kernel) != 2:
        return f"kernel_shape={kernel!r} (expected 2 integers)"
    problem = window_problem(node, graph, kernel)
    if problem:
        return problem
    pads = _attr(node, "pads", [0, 0, 0, 0])
    if any(pad >= size for pad, size in zip(pads, kernel * 2)):
        return f"pads={pads} not smaller than kernel_shape={kernel}"
    if _attr(node, "ceil_mode", 0) not in (0, 1):
        return f"ceil_mode={_attr(node, 'ceil_mode')}"
    return None
