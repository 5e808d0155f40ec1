"""Lowering of add, mul and leaky_relu (TFLite integer semantics).

The runtime's add/mul read two arena tensors. A constant second operand that
is one value per channel (or a scalar) is therefore lowered as a 1x1
depthwise convolution, which is exact in the same sense as any other layer:
``x + c`` is weight 1 with bias ``c``, ``x * c`` is weight ``c`` with bias 0.
Spatially varying constants are rejected.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fixpoint.ir import ModelError, Node

from .context import LowerContext, act_clamp
from .ops_weighted import Lowered, weighted_layer

# TFLite's headroom shift for add: inputs are scaled up by 2^left_shift before
# the per-input multipliers so their rounding error stays below one output unit
ADD_LEFT_SHIFT = {"int8": 20, "int16": 15}
DEPTHWISE_AXIS = 3


def _check_broadcast(node: Node, a: list[int], b: list[int], out: list[int]) -> None:
    if len(b) != 4 or any(x != y and 1 not in (x, y) for x, y in zip(a, b)) or [max(x, y) for x, y in zip(a, b)] != out:
        raise ModelError(
            f"layer '{node.name}' ({node.op}): operand shapes {a} and {b} do not broadcast to the output {out}"
        )


def _constant_operand(ctx: LowerContext, node: Node) -> np.ndarray | None:
    """The constant second operand as one value per channel, or None for an activation."""
    if len(node.inputs) != 2:
        raise ModelError(f"layer '{node.name}' ({node.op}): expected 2 inputs, got {len(node.inputs)}")
    value = ctx.graph.values.get(node.inputs[1])
    a_shape, out_shape = ctx.tensor(node.inputs[0]).shape, ctx.tensor(node.outputs[0]).shape
    if value is None or not value.is_const:
        _check_broadcast(node, a_shape, ctx.tensor(node.inputs[1]).shape, out_shape)
        return None
    data = np.asarray(value.data, dtype=np.float64)
    data = data.reshape([1] * (4 - data.ndim) + list(data.shape))
    _check_broadcast(node, a_shape, list(data.shape), out_shape)
    if data.shape[:3] != (1, 1, 1) or out_shape != a_shape:
        raise ModelError(
            f"layer '{node.name}' ({node.op}): constant operand of shape {list(value.shape)} "
            f"varies over N/H/W; only per-channel or scalar constants are supported"
        )
    return np.broadcast_to(data.reshape(-1), (a_shape[3],)).copy()


def _as_depthwise(ctx: LowerContext, node: Node, datapath: str, w: np.ndarray, b: np.ndarray) -> Lowered:
    """A per-channel affine map ``w * x + b`` as a 1x1 depthwise convolution."""
    params, arrays = weighted_layer(ctx, node, datapath, w.reshape(1, 1, 1, -1), b, DEPTHWISE_AXIS)
    ctx.layer_report(node).notes.append("constant operand: lowered as a 1x1 depthwise_conv2d")
    spatial = {
        "stride_h": 1,
        "stride_w": 1,
        "dilation_h": 1,
        "dilation_w": 1,
        "pad_top": 0,
        "pad_left": 0,
        "depth_multiplier": 1,
    }
    return Lowered({**spatial, **params}, arrays, op="depthwise_conv2d")


def _signs(node: Node) -> tuple[int, int]:
    """The add's input signs: (1, 1) add; (1, -1) a - b (TFLite Sub); (-1, 1) c - x (constant second)."""
    s1, s2 = (int(s) for s in node.attrs.get("input_signs", (1, 1)))
    if {s1, s2} - {1, -1}:
        raise ModelError(f"layer '{node.name}' (add): input_signs {[s1, s2]} must be +1 or -1 each")
    return s1, s2


def _add_left_shift(ctx: LowerContext, dtype: str) -> int:
    """TFLite's headroom shift, cut so (x + offset) * 2^left_shift fits an engine's narrower
    accumulator (|x + offset| < 2^8 for int8): a 20-bit register takes at most 11 (on a
    shift-only engine the power-of-two rescales stay exact with any shift >= their exponents)."""
    acc_bits = int(ctx.profile.accumulator_bits)
    if acc_bits >= 32:
        return ADD_LEFT_SHIFT[dtype]
    magnitude_bits = 8 if dtype == "int8" else 16
    return max(0, min(ADD_LEFT_SHIFT[dtype], acc_bits - 1 - magnitude_bits))


def lower_add(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    const = _constant_operand(ctx, node)
    s1, s2 = _signs(node)
    if const is not None:
        return _as_depthwise(ctx, node, datapath, s1 * np.ones_like(const), s2 * const)
    if s1 != 1:
        raise ModelError(
            f"layer '{node.name}' (add): two activations with input_signs {[s1, s2]}; "
            "only the second may be negated (a - b)"
        )
    qa, qb = ctx.qparams(node.inputs[0]), ctx.qparams(node.inputs[1])
    qout = ctx.qparams(node.outputs[0])
    left_shift = _add_left_shift(ctx, qout.dtype)
    twice_max = 2.0 * max(qa.scale, qb.scale)
    in1 = ctx.registers(node, "input1", qa.scale / twice_max)
    in2 = ctx.registers(node, "input2", qb.scale / twice_max)
    out = ctx.registers(node, "output", twice_max / (2.0**left_shift * qout.scale))
    act_min, act_max = act_clamp(node, qout)
    params: dict[str, Any] = {
        "input1_offset": -qa.zero_point,
        "input2_offset": -qb.zero_point,
        "output_offset": qout.zero_point,
        "left_shift": left_shift,
        "input1_scale": in1.pairs()[0],
        "input2_scale": in2.pairs()[0],
        "output_scale": out.pairs()[0],
        "act_min": act_min,
        "act_max": act_max,
    }
    if s2 < 0:
        params["subtract"] = 1
    return Lowered(params)


def lower_mul(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    const = _constant_operand(ctx, node)
    if const is not None:
        return _as_depthwise(ctx, node, datapath, const, np.zeros_like(const))
    qa, qb = ctx.qparams(node.inputs[0]), ctx.qparams(node.inputs[1])
    qout = ctx.qparams(node.outputs[0])
    out = ctx.registers(node, "output", qa.scale * qb.scale / qout.scale)
    act_min, act_max = act_clamp(node, qout)
    params: dict[str, Any] = {
        "input1_offset": -qa.zero_point,
        "input2_offset": -qb.zero_point,
        "output_offset": qout.zero_point,
        "output_scale": out.pairs()[0],
        "act_min": act_min,
        "act_max": act_max,
    }
    return Lowered(params)


def lower_leaky_relu(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    qin, qout = ctx.qparams(node.inputs[0]), ctx.qparams(node.outputs[0])
    alpha = float(node.attrs.get("alpha", 0.01))
    if alpha < 0:
        raise ModelError(
            f"layer '{node.name}': leaky_relu alpha {alpha} < 0 cannot be represented (multipliers are non-negative)"
        )
    identity = ctx.registers(node, "identity", qin.scale / qout.scale)
    negative = ctx.registers(node, "alpha", alpha * qin.scale / qout.scale)
    act_min, act_max = act_clamp(node, qout)
    params: dict[str, Any] = {
        "input_offset": -qin.zero_point,
        "output_offset": qout.zero_point,
        "identity_scale": identity.pairs()[0],
        "alpha_scale": negative.pairs()[0],
        "act_min": act_min,
        "act_max": act_max,
    }
    return Lowered(params)
