"""Lowering of the ops with weights: conv2d, depthwise_conv2d, fully_connected.

All three share one recipe: quantize the weights (per output channel unless
the board or the options say otherwise), put the bias in accumulator units,
turn ``s_in * s_w[c] / s_out`` into multiplier/shift registers and the fused
activation into ``act_min``/``act_max``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fixpoint.ir import ModelError, Node
from fixpoint.ops import registry

from .context import LowerContext, act_clamp
from .given import given_bias, given_weights
from .refine import refine_layer
from .lowbit_weights import LOWBIT
from .weights import QuantizedWeights, bias_dtype, clipped_scales, quantize_bias, quantize_weights

# output-channel axis of each op's runtime weight layout (registry rows' weight_channel_axis)
CHANNEL_AXIS: dict[str, int] = registry.runtime_values("weight_channel_axis")


@dataclass
class Lowered:
    """A layer's C params (by field name) and constant arrays."""

    params: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    op: str | None = None  # runtime op when it is not the node's own (add of a constant -> depthwise)


# weight bits of each datapath (s16 and s8 have int8 weights)
DATAPATH_WEIGHT_BITS = {"s8": 8, "s16": 8, "s4": 4, "s2": 2, "s1": 1}


def weight_bits(datapath: str) -> int:
    return DATAPATH_WEIGHT_BITS[datapath]


def weight_scheme(ctx: LowerContext) -> str:
    if ctx.options.weight_scheme != "auto":
        return ctx.options.weight_scheme
    # shift-only requantization is exact only if every scale is a power of two
    return "pow2" if ctx.profile.rounding == "shift_only" else "symmetric"


def _sqnr_db(w: np.ndarray, qw: QuantizedWeights) -> float | None:
    """Weight quantization SQNR in dB; None when undefined (exact or all-zero weights), keeping JSON strict."""
    noise = float(np.sum((w - qw.dequantize()) ** 2))
    signal = float(np.sum(w**2))
    if noise == 0.0 or signal == 0.0:
        return None
    return float(10.0 * np.log10(signal / noise))


def _weighted_common(ctx: LowerContext, node: Node, datapath: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Weights, bias, registers and clamp shared by the three ops."""
    w = ctx.const(node, 1, "weight")
    b = ctx.const(node, 2, "bias") if len(node.inputs) > 2 else np.zeros(w.shape[CHANNEL_AXIS[node.op]])
    return weighted_layer(ctx, node, datapath, w, b, CHANNEL_AXIS[node.op])


def weighted_layer(
    ctx: LowerContext, node: Node, datapath: str, w: np.ndarray, b: np.ndarray, axis: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Quantize float weights ``w`` (output channels on ``axis``) and bias ``b`` for ``node``."""
    qin, qout = ctx.qparams(node.inputs[0]), ctx.qparams(node.outputs[0])
    if b.shape != (w.shape[axis],):
        raise ModelError(
            f"layer '{node.name}': bias shape {list(b.shape)} does not match {w.shape[axis]} output channels"
        )
    per_channel = ctx.options.per_channel and ctx.profile.per_channel
    bits, scheme = weight_bits(datapath), weight_scheme(ctx)
    qw = given_weights(ctx, node, w, axis, bits, per_channel, scheme)
    if qw is None:
        qw, b = _own_weights(ctx, node, w, b, axis, bits, per_channel, scheme)
    bias, saturated = quantize_bias(b, qin.scale, qw.scale, datapath)
    exact = given_bias(ctx, node, b, qin.scale * qw.scale, bias_dtype(datapath))
    if exact is not None:
        bias = exact
    regs = ctx.registers(node, "output", qin.scale * qw.scale / qout.scale, acc_bits=64 if datapath == "s16" else 32)
    act_min, act_max = act_clamp(node, qout)

    report = ctx.layer_report(node)
    report.weight_bits, report.weight_sqnr_db = qw.bits, _sqnr_db(w, qw)
    report.weight_scale = [float(v) for v in np.asarray(qw.scale).reshape(-1)]
    report.bias_saturated = saturated
    if saturated:
        report.notes.append(f"{saturated} bias value(s) saturated")
    params = {"input_offset": -qin.zero_point, "output_offset": qout.zero_point, "act_min": act_min, "act_max": act_max}
    arrays = {
        "weights": qw.values,
        "bias": bias,
        "multiplier": regs.multiplier.astype(np.int32),
        "shift": regs.shift.astype(np.int32),
    }
    return params, arrays


def _spatial(node: Node) -> dict[str, int]:
    strides = node.attrs.get("strides", [1, 1])
    dilations = node.attrs.get("dilations", [1, 1])
    pads = node.attrs.get("pads", [0, 0, 0, 0])
    return {
        "stride_h": int(strides[0]),
        "stride_w": int(strides[1]),
        "dilation_h": int(dilations[0]),
        "dilation_w": int(dilations[1]),
        "pad_top": int(pads[0]),
        "pad_left": int(pads[1]),
    }


def lower_conv2d(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    w = ctx.const(node, 1, "weight")
    groups = int(node.attrs.get("groups", 1))
    c_in = ctx.tensor(node.inputs[0]).shape[3]
    if w.ndim != 4 or groups < 1 or c_in % groups or w.shape[0] % groups or w.shape[3] * groups != c_in:
        raise ModelError(
            f"layer '{node.name}': conv2d weight {list(w.shape)} (OHWI) does not fit "
            f"{c_in} input channels with groups={groups}"
        )
    params, arrays = _weighted_common(ctx, node, datapath)
    return Lowered({**_spatial(node), "groups": groups, **params}, arrays)


def lower_depthwise_conv2d(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    w = ctx.const(node, 1, "weight")
    mult = int(node.attrs.get("depth_multiplier", 1))
    c_in = ctx.tensor(node.inputs[0]).shape[3]
    if w.ndim != 4 or w.shape[0] != 1 or w.shape[3] != c_in * mult:
        raise ModelError(
            f"layer '{node.name}': depthwise weight {list(w.shape)} does not fit "
            f"{c_in} input channels with depth_multiplier={mult}"
        )
    params, arrays = _weighted_common(ctx, node, datapath)
    return Lowered({**_spatial(node), "depth_multiplier": mult, **params}, arrays)


def lower_fully_connected(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    w = ctx.const(node, 1, "weight")
    n, h, wd, c = ctx.tensor(node.inputs[0]).shape
    # a rank-3 MatMul input [N, T, depth] is T rows of depth per sample (batches = T in the C params)
    if w.ndim != 2 or not w.shape[1] or (h * wd * c) % w.shape[1]:
        raise ModelError(
            f"layer '{node.name}': fully_connected weight {list(w.shape)} does not match input depth {h * wd * c}"
        )
    params, arrays = _weighted_common(ctx, node, datapath)
    # symmetric weights: no filter zero point; batches/depth/out_channels come from the shapes
    return Lowered({"filter_offset": 0, **params}, arrays)


def _own_weights(
    ctx: LowerContext, node: Node, w: np.ndarray, b: np.ndarray, axis: int, bits: int, per_channel: bool, scheme: str
) -> tuple[QuantizedWeights, np.ndarray]:
    """Weights Fixpoint quantizes itself (not given by a QDQ model): clipped, then refined."""
    fixed = ctx.options.fixed_weights.get(node.name)
    if fixed is not None and fixed[0].shape == w.shape and fixed[3] == bits:
        return QuantizedWeights(fixed[0], fixed[1], axis, bits), fixed[2]
    if bits in LOWBIT:  # ternary / binary scales come from their own rule (lower.lowbit_weights)
        return refine_layer(ctx, node, w, b, quantize_weights(w, axis, bits, per_channel, scheme))
    clip = ctx.options.clip_for(bits)
    qw = quantize_weights(
        w, axis, bits, per_channel, scheme, scale=clipped_scales(w, axis, bits, per_channel, scheme, clip)
    )
    # automatic clipping: AdaRound (when it runs) also tries the full range and keeps what the data prefer
    unclipped = (
        (quantize_weights(w, axis, bits, per_channel, scheme),)
        if ctx.options.weight_clip is None and clip != "none"
        else ()
    )
    return refine_layer(ctx, node, w, b, qw, unclipped)
