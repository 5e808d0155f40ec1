"""Lowering of batch_matmul and layer_norm (docs/kernels.md "batch_matmul", "layer_norm").

batch_matmul: the strides of each operand come from where its stored layout keeps each ONNX axis
(:func:`fixpoint.normalize.attention_ops.onnx_strides`); broadcast batch dims get stride 0.
layer_norm: gamma becomes int16 with one per-tensor scale, beta int64 in the accumulator's units
(s_gamma * 2^-15), epsilon an integer term in the squared input units times depth^2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fixpoint.ir import ModelError, Node
from fixpoint.normalize.attention_ops import layer_norm_geometry, matmul_out_shape, onnx_strides, operand_strides

from .context import LowerContext, act_clamp
from .ops_weighted import Lowered
from .weights import round_half_away

__all__ = ["lower_batch_matmul", "lower_layer_norm", "matmul_geometry"]

LN_FRAC_BITS = 15
LN_MAX_BETA = 1 << 46
LN_MAX_EPS = 1 << 60
GAMMA_MAX = 32767


def _row_major(shape: list[int]) -> list[int]:
    steps = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        steps[i] = steps[i + 1] * int(shape[i + 1])
    return steps


def _batch_part(shape: list[int], strides: list[int]) -> tuple[list[int], list[int]]:
    """The (up to two) batch dims of an operand padded in front to two, broadcast dims stride 0."""
    dims = [1] * (2 - (len(shape) - 2)) + [int(d) for d in shape[:-2]]
    steps = [0] * (2 - (len(shape) - 2)) + [int(s) for s in strides[:-2]]
    return dims, [0 if d == 1 else s for d, s in zip(dims, steps)]


def matmul_geometry(
    a_shape: list[int],
    b_shape: list[int],
    a_stored,
    b_stored,
    out_stored,
    a_perm: list[int] | None = None,
    b_perm: list[int] | None = None,
) -> dict[str, Any]:
    """C geometry (batch, rows, depth, cols, the three stride lists) of ONNX MatMul on stored tensors
    (an operand given by a perm is read from the stored tensor it transposes)."""
    sa = operand_strides(a_stored, a_shape, a_perm)
    sb = _row_major(b_shape) if b_stored is None else operand_strides(b_stored, b_shape, b_perm)
    out_shape = matmul_out_shape(a_shape, b_shape)
    so = onnx_strides(out_stored, out_shape)
    a_batch, a_steps = _batch_part(a_shape, sa)
    b_batch, b_steps = _batch_part(b_shape, sb)
    o_batch, o_steps = _batch_part(out_shape, so)
    return {
        "batch": o_batch,
        "rows": int(a_shape[-2]),
        "depth": int(a_shape[-1]),
        "cols": int(b_shape[-1]),
        "input1_stride": [*a_steps, sa[-2], sa[-1]],
        "input2_stride": [*b_steps, sb[-2], sb[-1]],
        "output_stride": [*o_steps, so[-2], so[-1]],
    }


def _constant_b(ctx: LowerContext, node: Node) -> tuple[np.ndarray, float] | None:
    """A constant B as the activation type, symmetric per tensor: (values, scale); None for an activation."""
    value = ctx.graph.values.get(node.inputs[1])
    if value is None or not value.is_const:
        return None
    data = ctx.const(node, 1, "B")
    qmax = 32767 if ctx.act_dtype == "int16" else 127
    peak = float(np.max(np.abs(data))) if data.size else 0.0
    scale = peak / qmax if peak > 0 else 1.0
    dtype = np.int16 if qmax == 32767 else np.int8
    return np.clip(round_half_away(data / scale), -qmax, qmax).astype(dtype), scale


def lower_batch_matmul(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    a_name, b_name = node.inputs[0], node.inputs[1]
    qa, qout = ctx.qparams(a_name), ctx.qparams(node.outputs[0])
    const = _constant_b(ctx, node)
    if const is None:
        qb = ctx.qparams(b_name)
        b_scale, b_zero, b_stored = qb.scale, qb.zero_point, ctx.tensor(b_name).shape
    else:  # a constant [K, N]: row-major, the layer's 'weights' array
        b_scale, b_zero, b_stored = const[1], 0, None
    try:
        params = matmul_geometry(
            node.attrs["a_shape"],
            node.attrs["b_shape"],
            ctx.tensor(a_name).shape,
            b_stored,
            ctx.tensor(node.outputs[0]).shape,
            node.attrs.get("a_perm"),
            node.attrs.get("b_perm"),
        )
    except (KeyError, ValueError) as exc:
        raise ModelError(f"layer '{node.name}' (batch_matmul): {exc}") from None
    acc_bits = 64 if datapath == "s16" else 32
    out = ctx.registers(node, "output", qa.scale * b_scale / qout.scale, acc_bits=acc_bits)
    act_min, act_max = act_clamp(node, qout)
    params.update(
        input1_offset=-qa.zero_point,
        input2_offset=-b_zero,
        output_offset=qout.zero_point,
        output_scale=out.pairs()[0],
        act_min=act_min,
        act_max=act_max,
    )
    return Lowered(params, {} if const is None else {"weights": const[0]})


def layer_norm_constants(gamma: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(int16 gamma, int64 beta, s_gamma): gamma = round(g / s_gamma) with s_gamma = max|g| / 32767;
    beta = round(b / (s_gamma * 2^-15)), the accumulator's unit."""
    peak = float(np.max(np.abs(gamma))) if gamma.size else 0.0
    s_gamma = peak / GAMMA_MAX if peak > 0 else 1.0
    gamma_q = np.clip(round_half_away(gamma / s_gamma), -GAMMA_MAX, GAMMA_MAX).astype(np.int16)
    beta_q = round_half_away(np.asarray(beta, dtype=np.float64) / (s_gamma * 2.0**-LN_FRAC_BITS))
    return gamma_q, beta_q, s_gamma


def lower_layer_norm(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    qin, qout = ctx.qparams(node.inputs[0]), ctx.qparams(node.outputs[0])
    stored = ctx.tensor(node.inputs[0]).shape
    try:
        _, depth, inner = layer_norm_geometry(stored, int(node.attrs["onnx_rank"]), int(node.attrs["axis_size"]))
    except (KeyError, ValueError) as exc:
        raise ModelError(f"layer '{node.name}' (layer_norm): {exc}") from None
    gamma_q, beta_q, s_gamma = layer_norm_constants(ctx.const(node, 1, "gamma"), ctx.const(node, 2, "beta"))
    if np.any(np.abs(beta_q) > LN_MAX_BETA):
        raise ModelError(
            f"layer '{node.name}' (layer_norm): beta is more than 2^31 times the largest gamma; "
            "it does not fit the 64-bit accumulator"
        )
    eps = float(node.attrs.get("epsilon", 1e-5))
    eps_term = int(min(max(round_half_away(depth * depth * eps / (qin.scale * qin.scale)), 0), LN_MAX_EPS))
    out = ctx.registers(node, "output", s_gamma * 2.0**-LN_FRAC_BITS / qout.scale, acc_bits=64)
    act_min, act_max = act_clamp(node, qout)
    params: dict[str, Any] = {
        "depth": depth,
        "inner": inner,
        "input_offset": -qin.zero_point,
        "output_offset": qout.zero_point,
        "eps_term": eps_term,
        "output_scale": out.pairs()[0],
        "act_min": act_min,
        "act_max": act_max,
    }
    return Lowered(params, {"gamma": gamma_q, "beta": beta_q.astype(np.int64)})
