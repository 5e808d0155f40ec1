"""Lowering of pools, softmax, concat, pad, copy, transpose, slice and resize.

Pools, pad, copy, transpose and slice move values without rescaling them, so their output
shares the input's scale and zero point (TFLite semantics); softmax has a
fixed output quantization. Concat requantizes every input to the output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fixpoint.ir import ModelError, Node

from .context import LowerContext, QParams
from .ops_weighted import Lowered
from .softmax import softmax_registers
from .weights import round_half_away
from ..reference.data_movement import PAD_MODES

MAX_CONCAT_INPUTS = 8


def _pool(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    kernel = node.attrs.get("kernel")
    if not kernel or len(kernel) != 2:
        raise ModelError(f"layer '{node.name}' ({node.op}): attribute 'kernel' [kh, kw] is missing")
    strides = node.attrs.get("strides", [1, 1])
    pads = node.attrs.get("pads", [0, 0, 0, 0])
    qp = ctx.qparams(node.outputs[0])
    params: dict[str, Any] = {
        "filter_h": int(kernel[0]),
        "filter_w": int(kernel[1]),
        "stride_h": int(strides[0]),
        "stride_w": int(strides[1]),
        "pad_top": int(pads[0]),
        "pad_left": int(pads[1]),
        "act_min": qp.qmin,
        "act_max": qp.qmax,
    }
    return Lowered(params)


lower_max_pool = _pool
lower_avg_pool = _pool


def softmax_axes(node: Node) -> list[int]:
    """The NHWC axes a softmax normalizes over (attribute ``axis``: an int or consecutive axes)."""
    axis = node.attrs.get("axis", 3)
    axes = sorted(int(a) for a in (axis if isinstance(axis, (list, tuple)) else [axis]))
    if not axes or axes != list(range(axes[0], axes[-1] + 1)) or axes[0] < 0 or axes[-1] > 3:
        raise ModelError(f"layer '{node.name}': softmax axes {axis} are not consecutive NHWC axes")
    return axes


def lower_softmax(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    # rows and depth come from the tensor shape; another axis than C adds depth and inner
    qin = ctx.qparams(node.inputs[0])
    params, arrays = softmax_registers(node.name, qin.dtype, qin.scale, beta=1.0)
    axes, shape = softmax_axes(node), ctx.tensor(node.inputs[0]).shape
    inner = int(np.prod(shape[axes[-1] + 1 :], dtype=np.int64))
    if inner != 1:
        params = {**params, "depth": int(np.prod([shape[a] for a in axes], dtype=np.int64)), "inner": inner}
    return Lowered(params, arrays)


def lower_concat(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    if not 1 <= len(node.inputs) <= MAX_CONCAT_INPUTS:
        raise ModelError(f"layer '{node.name}': concat takes 1 to {MAX_CONCAT_INPUTS} inputs, got {len(node.inputs)}")
    axis = int(node.attrs.get("axis", 3))
    out_shape = ctx.tensor(node.outputs[0]).shape
    shapes = [ctx.tensor(name).shape for name in node.inputs]
    for name, shape in zip(node.inputs, shapes):
        if [d for i, d in enumerate(shape) if i != axis] != [d for i, d in enumerate(out_shape) if i != axis]:
            raise ModelError(
                f"layer '{node.name}': concat input '{name}' shape {shape} does not match "
                f"output {out_shape} outside axis {axis}"
            )
    if sum(s[axis] for s in shapes) != out_shape[axis]:
        raise ModelError(f"layer '{node.name}': concat inputs do not add up to output axis size {out_shape[axis]}")
    qout = ctx.qparams(node.outputs[0])
    scales = [ctx.qparams(name).scale / qout.scale for name in node.inputs]
    regs = ctx.registers(node, "input", scales)
    # n_inputs, outer, inner and axis_size come from the shapes
    params: dict[str, Any] = {
        "input_offset": [-ctx.qparams(name).zero_point for name in node.inputs],
        "input_scale": regs.pairs(),
        "output_offset": qout.zero_point,
    }
    return Lowered(params)


def lower_pad(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    before = [int(p) for p in node.attrs.get("pads_before", [0, 0, 0, 0])]
    after = [int(p) for p in node.attrs.get("pads_after", [0, 0, 0, 0])]
    in_shape, out_shape = ctx.tensor(node.inputs[0]).shape, ctx.tensor(node.outputs[0]).shape
    if (
        len(before) != 4
        or len(after) != 4
        or min(before + after) < 0
        or [i + b + a for i, b, a in zip(in_shape, before, after)] != out_shape
    ):
        raise ModelError(f"layer '{node.name}': pad {before}/{after} does not map {in_shape} to {out_shape}")
    qp = ctx.qparams(node.outputs[0])
    value = float(node.attrs.get("value", 0.0))
    # the zero point represents real 0.0 exactly; other values round to the nearest level
    pad_value = int(np.clip(qp.zero_point + round_half_away(value / qp.scale), qp.qmin, qp.qmax))
    params = {"pad_before": before, "pad_value": pad_value}
    mode = PAD_MODES.index(node.attrs.get("mode", "constant"))
    if mode:  # reflect / edge copy input values; constant pads keep their params (and plan hashes)
        params["mode"] = mode
    return Lowered(params)


def lower_copy(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    src, dst = ctx.tensor(node.inputs[0]), ctx.tensor(node.outputs[0])
    if src.nbytes != dst.nbytes:
        raise ModelError(f"layer '{node.name}': copy from {src.shape} to {dst.shape} changes the element count")
    return Lowered({})  # the byte count comes from the shapes


def lower_transpose(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    perm = [int(p) for p in node.attrs["perm"]]
    in_shape, out_shape = ctx.tensor(node.inputs[0]).shape, ctx.tensor(node.outputs[0]).shape
    if sorted(perm) != [0, 1, 2, 3] or [in_shape[p] for p in perm] != list(out_shape):
        raise ModelError(f"layer '{node.name}': transpose perm {perm} does not map {in_shape} to {out_shape}")
    return Lowered({"perm": perm})  # values move unchanged: the output keeps the input's qparams


def lower_slice(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    begin, stride = [int(b) for b in node.attrs["begin"]], [int(s) for s in node.attrs["stride"]]
    in_shape, out_shape = ctx.tensor(node.inputs[0]).shape, ctx.tensor(node.outputs[0]).shape
    for b, s, n, d in zip(begin, stride, out_shape, in_shape):
        if s == 0 or not (0 <= b < d and 0 <= b + (n - 1) * s < d):
            raise ModelError(
                f"layer '{node.name}': slice begin {begin} stride {stride} does not map {in_shape} to {out_shape}"
            )
    return Lowered({"begin": begin, "stride": stride})  # output dims come from the shapes


def lower_resize(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    from fixpoint.reference.movement import NEAREST_ROUNDINGS, RESIZE_COORDS, RESIZE_METHODS

    a = node.attrs
    in_shape, out_shape = ctx.tensor(node.inputs[0]).shape, ctx.tensor(node.outputs[0]).shape
    if in_shape[0] != out_shape[0] or in_shape[3] != out_shape[3]:
        raise ModelError(f"layer '{node.name}': resize {in_shape} -> {out_shape} changes N or C")
    # values move (nearest) or are interpolated convexly (bilinear, TFLite): the input's qparams fit
    return Lowered(
        {
            "method": RESIZE_METHODS.index(a["method"]),
            "coord": RESIZE_COORDS.index(a["coord"]),
            "nearest_mode": NEAREST_ROUNDINGS.index(a["nearest_mode"]),
            "ratio_num": [int(v) for v in a["ratio_num"]],
            "ratio_den": [int(v) for v in a["ratio_den"]],
        }
    )


# ---- output quantization rules ---------------------------------------------


def output_calibrated(ctx: LowerContext, node: Node) -> tuple[QParams, str]:
    rule = "equalized" if node.outputs[0] in ctx.equalized else "calibrated"
    return ctx.calibrated_qparams(node.outputs[0], node.name), rule


def output_same_as_input(ctx: LowerContext, node: Node) -> tuple[QParams, str]:
    return ctx.qparams(node.inputs[0]), f"same_as_input:{node.inputs[0]}"


def output_softmax(ctx: LowerContext, node: Node) -> tuple[QParams, str]:
    # TFLite's fixed softmax output: [0, 1) over the whole integer range
    if ctx.act_dtype == "int8":
        return QParams(1.0 / 256.0, -128, "int8"), "softmax_output"
    return QParams(1.0 / 32768.0, 0, "int16"), "softmax_output"
