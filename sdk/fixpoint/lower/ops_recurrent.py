"""Lowering of the recurrent family (fixpoint/ops/defs/recurrent.py): lstm and gru.

TFLite's integer LSTM (docs/kernels.md "lstm"): the input x and the hidden state h keep their
calibrated int8 quantization (h is the layer's output, so Y / Y_h and the recurrent input share
one scale and zero point); each gate's W and R rows get their own symmetric int8 scale, and the
gate sums are requantized per gate to Q3.12. The cell state is int16 with a power-of-two scale
chosen from a bound on |c| (below); sigmoid and tanh are TFLite's interpolated int16 tables.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fixpoint.ir import Node
from fixpoint.lut_functions import table_s16

from .context import LowerContext, QParams
from .ops_weighted import Lowered
from .weights import round_half_away

GATE_NAMES = ("i", "o", "f", "c")  # ONNX order
GRU_GATE_NAMES = ("z", "r", "h")
GATE_SCALE = 2.0**-12
ACT_SCALE = 2.0**-15


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def cell_bound(w: np.ndarray, b: np.ndarray, x_absmax: float, hidden: int, steps: int) -> float:
    """An upper bound of |c| over any input within the calibrated range: each gate's pre-activation
    is at most |W| x_absmax + |R| 1 + |b| (|h| < 1), so f <= sigmoid(f_max) < 1 and |i g| <= i_max,
    and |c_t| <= i_max (1 + f_max + ... + f_max^(t-1)), also at most the number of steps."""
    n_in = w.shape[1] - hidden
    reach = (
        np.abs(w[:, :n_in]).sum(1) * x_absmax + np.abs(w[:, n_in:]).sum(1) + np.abs(b[: 4 * hidden] + b[4 * hidden :])
    )
    i_max = _sigmoid(reach[:hidden]) * np.tanh(reach[3 * hidden :])
    f_max = _sigmoid(reach[2 * hidden : 3 * hidden])
    series = np.where(f_max < 1.0, i_max * (1.0 - f_max**steps) / np.maximum(1.0 - f_max, 1e-12), i_max * steps)
    return float(min(np.max(series), steps))


def _cell_frac_bits(bound: float) -> int:
    """The most fractional bits that keep the bound inside int16."""
    return int(np.clip(15 - math.ceil(math.log2(max(bound, 2.0**-15))), 0, 15))


def _per_gate(
    ctx: LowerContext, node: Node, w: np.ndarray, in_scale: float, what: str, names: tuple[str, ...] = GATE_NAMES
):
    """Symmetric int8 weights with one scale per gate; each gate's requantization registers
    (scale errors reported per gate: ``input_i``, ``input_o``, ...)."""
    hidden = w.shape[0] // len(names)
    gates = w.reshape(len(names), hidden, -1)
    scales = np.maximum(np.abs(gates).reshape(len(names), -1).max(1), 1e-12) / 127.0
    q = np.clip(round_half_away(gates / scales[:, None, None]), -127, 127).astype(np.int8)
    pairs = [
        ctx.registers(node, f"{what}_{gate}", in_scale * scales[g] / GATE_SCALE).pairs()[0]
        for g, gate in enumerate(names)
    ]
    return q.reshape(w.shape), scales, pairs


def _bias(b: np.ndarray, in_scale: float, scales: np.ndarray, hidden: int) -> np.ndarray:
    real = round_half_away(b / (in_scale * np.repeat(scales, hidden)))
    return np.clip(real, -(2.0**31) + 1, 2.0**31 - 1).astype(np.int64)


def lower_lstm(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    qx, qh = ctx.qparams(node.inputs[0]), ctx.qparams(node.outputs[0])
    w, b = ctx.const(node, 1, "weights"), ctx.const(node, 2, "bias")
    hidden = int(node.attrs["hidden_size"])
    n_in = w.shape[1] - hidden
    wq, ws, in_regs = _per_gate(ctx, node, w[:, :n_in], qx.scale, "input")
    rq, rs, rec_regs = _per_gate(ctx, node, w[:, n_in:], qh.scale, "recurrent")
    steps = int(np.prod(ctx.tensor(node.inputs[0]).shape)) // n_in
    x_absmax = qx.scale * max(abs(qx.qmin - qx.zero_point), abs(qx.qmax - qx.zero_point))
    bound = cell_bound(w, b, x_absmax, hidden, steps)
    frac = _cell_frac_bits(bound)
    ctx.layer_report(node).notes.append(f"cell state int16 at 2^-{frac} (|c| bound {bound:.3g})")
    ctx.layer_report(node).recurrent = {
        "gates": list(GATE_NAMES),
        "input_weight_scales": [float(s) for s in ws],
        "recurrent_weight_scales": [float(s) for s in rs],
        "gate_scale": GATE_SCALE,
        "cell_scale": 2.0**-frac,
        "cell_frac_bits": frac,
        "cell_bound": bound,
    }
    params: dict[str, Any] = {
        "input_offset": -qx.zero_point,
        "hidden_offset": -qh.zero_point,
        "output_offset": qh.zero_point,
        "input_scale": in_regs,
        "recurrent_scale": rec_regs,
        "hidden_scale": ctx.registers(node, "hidden", ACT_SCALE * ACT_SCALE / qh.scale).pairs()[0],
        "cell_frac_bits": frac,
        "cell_clip": 0,
        "output_sequence": int(node.attrs.get("output_sequence", 1)),
        "reverse": int(node.attrs.get("reverse", 0)),
    }
    arrays = {
        "weights": np.concatenate([wq, rq], axis=1),
        "bias": np.concatenate(
            [_bias(b[: 4 * hidden], qx.scale, ws, hidden), _bias(b[4 * hidden :], qh.scale, rs, hidden)]
        ).astype(np.int32),
        "sigmoid_lut": table_s16("sigmoid", {}, GATE_SCALE, ACT_SCALE),
        "tanh_lut": table_s16("tanh", {}, GATE_SCALE, ACT_SCALE),
        "cell_tanh_lut": table_s16("tanh", {}, 2.0**-frac, ACT_SCALE),
    }
    return Lowered(params, arrays)


def lower_gru(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    """GRU: x and h as the LSTM's, one weight scale per gate z, r, h; no cell."""
    qx, qh = ctx.qparams(node.inputs[0]), ctx.qparams(node.outputs[0])
    w, b = ctx.const(node, 1, "weights"), ctx.const(node, 2, "bias")
    hidden = int(node.attrs["hidden_size"])
    n_in = w.shape[1] - hidden
    wq, ws, in_regs = _per_gate(ctx, node, w[:, :n_in], qx.scale, "input", GRU_GATE_NAMES)
    rq, rs, rec_regs = _per_gate(ctx, node, w[:, n_in:], qh.scale, "recurrent", GRU_GATE_NAMES)
    ctx.layer_report(node).recurrent = {
        "gates": list(GRU_GATE_NAMES),
        "input_weight_scales": [float(s) for s in ws],
        "recurrent_weight_scales": [float(s) for s in rs],
        "gate_scale": GATE_SCALE,
    }
    params: dict[str, Any] = {
        "input_offset": -qx.zero_point,
        "hidden_offset": -qh.zero_point,
        "output_offset": qh.zero_point,
        "input_scale": in_regs,
        "recurrent_scale": rec_regs,
        "hidden_scale": ctx.registers(node, "hidden", ACT_SCALE * ACT_SCALE / qh.scale).pairs()[0],
        "output_sequence": int(node.attrs.get("output_sequence", 1)),
        "reverse": int(node.attrs.get("reverse", 0)),
    }
    arrays = {
        "weights": np.concatenate([wq, rq], axis=1),
        "bias": np.concatenate(
            [_bias(b[: 3 * hidden], qx.scale, ws, hidden), _bias(b[3 * hidden :], qh.scale, rs, hidden)]
        ).astype(np.int32),
        "sigmoid_lut": table_s16("sigmoid", {}, GATE_SCALE, ACT_SCALE),
        "tanh_lut": table_s16("tanh", {}, GATE_SCALE, ACT_SCALE),
    }
    return Lowered(params, arrays)


def output_recurrent(ctx: LowerContext, node: Node) -> tuple[QParams, str]:
    """The calibrated h; one direction of a bidirectional layer (a tensor the ONNX model lacks) takes
    the calibration of the concat it feeds, so that concat is an exact copy."""
    name = node.outputs[0]
    if name in ctx.quant:
        return ctx.calibrated_qparams(name, node.name), "calibrated"
    consumers = ctx.graph.consumers(name)
    if len(consumers) != 1:
        return ctx.calibrated_qparams(name, node.name), "calibrated"  # raises: no calibration entry
    joined = consumers[0].outputs[0]
    return ctx.calibrated_qparams(joined, node.name), f"same_as_output:{joined}"
