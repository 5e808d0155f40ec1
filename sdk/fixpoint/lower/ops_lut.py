"""Lowering of lut (function by table), prelu and minimum / maximum (TFLite integer semantics).

* ``lut``: the table of the node's float function over every input integer value
  (:mod:`fixpoint.lut_functions`): int8 256 entries, int16 TFLite's 513-entry
  interpolated table. Bounded functions have a fixed output quantization.
* ``prelu``: the slope quantized symmetric int8 with one scale (zero point 0,
  ``alpha_offset`` 0); ``identity_scale = s_in / s_out``, ``alpha_scale =
  s_in s_alpha / s_out`` (TFLite's two output multipliers).
* ``minimum`` / ``maximum``: each input rescaled to the output scale
  (``input_scale = s_i / s_out``). A constant operand (one value per channel or a
  scalar) is quantized with the output's quantization into ``weights``
  ([1, 1, 1, C] or [1, 1, 1, 1]) and rescaled by exactly 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fixpoint.ir import ModelError, Node
from fixpoint.lut_functions import fixed_output, function, round_half_away, table_s8, table_s16

from .context import LowerContext, QParams
from .ops_data import output_calibrated
from .ops_elementwise import _constant_operand
from .ops_weighted import Lowered


def lower_lut(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    name, params = node.attrs["function"], dict(node.attrs.get("params") or {})
    function(name, f"layer '{node.name}': ")
    qin, qout = ctx.qparams(node.inputs[0]), ctx.qparams(node.outputs[0])
    if qin.dtype != qout.dtype:
        raise ModelError(f"layer '{node.name}' (lut): input {qin.dtype} and output {qout.dtype} differ")
    if qin.dtype == "int8":
        table = table_s8(name, params, qin.scale, qin.zero_point, qout.scale, qout.zero_point)
    else:
        table = table_s16(name, params, qin.scale, qout.scale)
    ctx.layer_report(node).notes.append(f"table of {name} ({table.size} entries)")
    return Lowered({}, {"table": table})


def output_lut(ctx: LowerContext, node: Node) -> tuple[QParams, str]:
    """A bounded function's fixed output quantization (TFLite's), else the calibrated one."""
    function(node.attrs["function"], f"layer '{node.name}': ")
    fixed = fixed_output(node.attrs["function"], ctx.act_dtype)
    if fixed is None:
        return output_calibrated(ctx, node)
    return QParams(fixed[0], fixed[1], ctx.act_dtype), f"fixed_output:{node.attrs['function']}"


def quantize_slope(slope: np.ndarray) -> tuple[np.ndarray, float]:
    """(int8 values, scale): symmetric over [-127, 127], one scale for all channels."""
    peak = float(np.max(np.abs(slope))) if slope.size else 0.0
    scale = peak / 127.0 if peak > 0 else 1.0
    return np.clip(round_half_away(slope / scale), -127, 127).astype(np.int8), scale


def lower_prelu(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    qin, qout = ctx.qparams(node.inputs[0]), ctx.qparams(node.outputs[0])
    slope = np.asarray(node.attrs["slope"], dtype=np.float64).reshape(-1)
    channels = ctx.tensor(node.inputs[0]).shape[3]
    if slope.size not in (1, channels):
        raise ModelError(f"layer '{node.name}' (prelu): {slope.size} slope values for {channels} channels")
    alpha, s_alpha = quantize_slope(slope)
    identity = ctx.registers(node, "identity", qin.scale / qout.scale)
    negative = ctx.registers(node, "alpha", qin.scale * s_alpha / qout.scale)
    params: dict[str, Any] = {
        "input_offset": -qin.zero_point,
        "alpha_offset": 0,
        "output_offset": qout.zero_point,
        "identity_scale": identity.pairs()[0],
        "alpha_scale": negative.pairs()[0],
        "act_min": qout.qmin,
        "act_max": qout.qmax,
    }
    return Lowered(params, {"alpha": alpha})


def lower_minmax(ctx: LowerContext, node: Node, datapath: str) -> Lowered:
    const = _constant_operand(ctx, node)
    qa, qout = ctx.qparams(node.inputs[0]), ctx.qparams(node.outputs[0])
    in1 = ctx.registers(node, "input1", qa.scale / qout.scale)
    params: dict[str, Any] = {
        "input1_offset": -qa.zero_point,
        "output_offset": qout.zero_point,
        "input1_scale": in1.pairs()[0],
        "act_min": qout.qmin,
        "act_max": qout.qmax,
    }
    arrays: dict[str, np.ndarray] = {}
    if const is None:
        qb = ctx.qparams(node.inputs[1])
        params.update(
            input2_offset=-qb.zero_point, input2_scale=ctx.registers(node, "input2", qb.scale / qout.scale).pairs()[0]
        )
    else:
        raw = np.asarray(ctx.graph.values[node.inputs[1]].data, dtype=np.float64)
        values = const if raw.size != 1 else const[:1]
        q = np.clip(round_half_away(values / qout.scale) + qout.zero_point, qout.qmin, qout.qmax)
        arrays["weights"] = q.astype(np.int8 if qout.dtype == "int8" else np.int16).reshape(1, 1, 1, -1)
        params.update(input2_offset=-qout.zero_point, input2_scale=ctx.registers(node, "input2", 1.0).pairs()[0])
        ctx.layer_report(node).notes.append("constant operand quantized with the output's quantization")
    return Lowered(params, arrays)
