"""Lowering of the compute family (fixpoint/ops/defs/compute.py): reduce, transpose_conv2d.

reduce "sum" / "mean": one requantization of the zero-point-corrected sum
(TFLite's QuantizedMeanOrSum), the mean's 1/count folded into the scale;
"max": the input's quantization carries over (exact, as TFLite's ReduceMax).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fixpoint.ir import ModelError, Node
from fixpoint.reference.reduce import KINDS, reduced_axes

from .context import LowerContext, QParams
from .ops_data import output_calibrated, output_same_as_input
from .ops_weighted import Lowered, _spatial, _weighted_common

# the s16 kernel sums into int32: at most this many full-scale int16 terms fit
_S16_MAX_WINDOW = 1 << 16


def _window(ctx: LowerContext, node: Node) -> int:
    shape_in, shape_out = ctx.tensor(node.inputs[0]).shape, ctx.tensor(node.outputs[0]).shape
    try:
        axes = reduced_axes(shape_in, shape_out)
    except ValueError as exc:
        raise ModelError(f"layer '{node.name}': {exc}") from None
    return int(np.prod([shape_in[a] for a in axes], dtype=np.int64))


def lower_reduce(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    kind = str(node.attrs.get("kind", ""))
    if kind not in ("sum", "mean", "max"):
        raise ModelError(f"layer '{node.name}': reduce kind '{kind}' is not one of sum, mean, max")
    qin, qout = ctx.qparams(node.inputs[0]), ctx.qparams(node.outputs[0])
    count = _window(ctx, node)
    params: dict[str, Any] = {
        "kind": KINDS["max" if kind == "max" else "sum"],
        "act_min": qout.qmin,
        "act_max": qout.qmax,
    }
    if kind == "max":
        params["scale"] = {"multiplier": 0, "shift": 0}
        return Lowered(params)
    if datapath == "s16" and count > _S16_MAX_WINDOW:
        raise ModelError(
            f"layer '{node.name}': an s16 {kind} over {count} elements may overflow the int32 "
            f"sum (at most {_S16_MAX_WINDOW})"
        )
    scale = qin.scale / qout.scale / (count if kind == "mean" else 1)
    params.update(
        input_offset=-qin.zero_point,
        output_offset=qout.zero_point,
        scale=ctx.registers(node, "output", scale).pairs()[0],
    )
    return Lowered(params)


def lower_transpose_conv2d(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    """The weighted ops' per-channel weight quantization, bias and registers (ops_weighted), with
    the transposed geometry (the kernel reads pads as the cropped start of the full output)."""
    w = ctx.const(node, 1, "weight")
    groups = int(node.attrs.get("groups", 1))
    c_in = ctx.tensor(node.inputs[0]).shape[3]
    if w.ndim != 4 or groups < 1 or c_in % groups or w.shape[0] % groups or w.shape[3] * groups != c_in:
        raise ModelError(
            f"layer '{node.name}': transpose_conv2d weight {list(w.shape)} (OHWI) does not fit "
            f"{c_in} input channels with groups={groups}"
        )
    params, arrays = _weighted_common(ctx, node, datapath)
    return Lowered({**_spatial(node), "groups": groups, **params}, arrays)


def output_reduce(ctx: LowerContext, node: Node) -> tuple[QParams, str]:
    if node.attrs.get("kind") == "max":
        return output_same_as_input(ctx, node)
    return output_calibrated(ctx, node)
