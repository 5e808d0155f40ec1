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
    if not isinstance(values, list) or len(values) != length or not all(isinstance(v, int) for v in values):
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
            return (
                f"kernel_shape={list(kernel)} with dilations={dilations} spans {span} along "
                f"{'HW'[axis]}, more than the padded input ({in_hw[axis]} + pads "
                f"{pads[axis]}+{pads[axis + 2]} = {padded})"
            )
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
        return (
            f"weight of shape {weight_shape} with group={group} takes "
            f"{weight_shape[1] * group} input channels, the input has {c_in}"
        )
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
            return (
                f"{role} of shape {graph.values[name].shape} for an input of shape {shape} "
                f"(expected [{channels}], one value per channel)"
            )
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


_SAME = ("SAME_UPPER", "SAME_LOWER")


def conv_transpose_pads(node: Node, graph: Graph) -> tuple[list[int], list[int]]:
    """(pads [top, left, bottom, right], output [H, W]) of a 2-D ConvTranspose.

    Explicit ``pads`` (auto_pad NOTSET / VALID) give output = full - pads, full =
    stride * (in - 1) + output_padding + (kernel - 1) * dilation + 1. With the ``output_shape``
    attribute, or auto_pad SAME_UPPER / SAME_LOWER (output = in * stride), the pads are generated
    as ONNX specifies: total = full - output, split total // 2 at the start for SAME_UPPER and
    total - total // 2 at the start otherwise (SAME_LOWER, NOTSET), the rest at the end. A negative
    total (an output larger than full) is 0 padding, the extra rows and columns at the end, as
    onnxruntime computes it."""
    in_hw = graph.values[node.inputs[0]].shape[2:4]
    k_hw = graph.values[node.inputs[1]].shape[2:4]
    strides = _attr(node, "strides", [1, 1])
    dilations = _attr(node, "dilations", [1, 1])
    out_pad = _attr(node, "output_padding", [0, 0])
    full = [s * (i - 1) + p + (k - 1) * d + 1 for i, k, s, d, p in zip(in_hw, k_hw, strides, dilations, out_pad)]
    auto_pad = _attr(node, "auto_pad", "NOTSET")
    shape = _attr(node, "output_shape")
    if shape is None and auto_pad not in _SAME:
        pads = [int(p) for p in _attr(node, "pads", [0, 0, 0, 0])] if auto_pad != "VALID" else [0, 0, 0, 0]
        return pads, [f - pads[a] - pads[a + 2] for a, f in enumerate(full)]
    out = [int(v) for v in shape[-2:]] if shape is not None else [i * s for i, s in zip(in_hw, strides)]
    totals = [max(f - o, 0) for f, o in zip(full, out)]
    heads = [t // 2 if auto_pad == "SAME_UPPER" else t - t // 2 for t in totals]
    return [*heads, *(t - h for t, h in zip(totals, heads))], out


def conv_transpose_pads_problem(node: Node, graph: Graph) -> str | None:
    """Why a ConvTranspose's padding attributes cannot be computed: auto_pad outside NOTSET / VALID /
    SAME_UPPER / SAME_LOWER, an output_shape that is not 2 (or 4) positive integers, pads given
    beside output_shape or auto_pad SAME_*, negative pads, or an empty output."""
    auto_pad = _attr(node, "auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID", *_SAME):
        return f"auto_pad={auto_pad}"
    shape = _attr(node, "output_shape")
    if shape is not None:
        if (
            not isinstance(shape, list)
            or len(shape) not in (2, 4)
            or not all(isinstance(v, int) and 1 <= v <= INT32_MAX for v in shape)
        ):
            return f"output_shape={shape!r} (expected 2 positive integers, H and W)"
    explicit = _attr(node, "pads")
    if explicit is not None and any(int(p) for p in explicit) and (shape is not None or auto_pad in _SAME):
        return f"pads {explicit} together with {'output_shape' if shape is not None else 'auto_pad=' + auto_pad}"
    if any(int(p) < 0 for p in explicit or []):
        return f"negative pads {explicit}"
    for name in ("strides", "dilations", "output_padding"):
        problem = ints_problem(node, name, 2, 0 if name == "output_padding" else 1)
        if problem:
            return problem
    pads, out = conv_transpose_pads(node, graph)
    if min(out) < 1:
        return f"output {out} is empty (pads {pads})"
    return None
