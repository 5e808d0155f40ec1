"""How often a narrow engine accumulator saturates (or wraps), reported per layer.

For every weighted layer on an engine whose accumulator is narrower than 32 bits: the worst case
``max_c sum |w| * max |x + input_offset| + |bias|`` (if it fits, the register cannot overflow), and,
with samples, the measured rate: the layer's integer inputs come from the simulator (the plan's own
arithmetic), its exact accumulators from numpy, and the rate is the share outside the register.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from fixpoint.plan import Plan
from fixpoint.reference.conv import gather_windows

log = logging.getLogger(__name__)

#: ops whose exact accumulators are recomputed here (the narrow-accumulator MAC engines' ops)
MAC_OPS = ("conv2d", "fully_connected", "depthwise_conv2d")


def worst_case_log2(plan: Plan, index: int) -> float:
    """log2 of the largest |accumulator| the layer can produce with any input."""
    layer = plan.layers[index]
    w = layer.arrays["weights"].astype(np.int64)
    w = w.reshape(w.shape[0], -1) if layer.op != "depthwise_conv2d" else w.reshape(-1, w.shape[-1]).T
    off = int(layer.params.get("input_offset", 0))
    reach = max(abs(-128 + off), abs(127 + off))
    bias = np.abs(layer.arrays.get("bias", np.zeros(w.shape[0], np.int64)).astype(np.int64))
    return math.log2(max(int((np.abs(w).sum(axis=1) * reach + bias).max()), 1))


def _accumulators(plan: Plan, index: int, x: np.ndarray) -> np.ndarray:
    """Exact int64 accumulators (bias included) of a MAC layer for NHWC integer inputs ``x``."""
    layer, p = plan.layers[index], plan.layers[index].params
    w = layer.arrays["weights"].astype(np.int64)
    xo = x.astype(np.int64) + int(p.get("input_offset", 0))
    bias = layer.arrays.get("bias", np.zeros(1, np.int64)).astype(np.int64)
    if layer.op == "fully_connected":
        return (xo.reshape(-1, w.shape[1]) @ w.T + bias).reshape(len(x), -1)
    out = plan.tensors[layer.output].shape
    kh, kw = w.shape[1], w.shape[2]
    win = gather_windows(
        xo,
        out[1],
        out[2],
        kh,
        kw,
        stride_h=p.get("stride_h", 1),
        stride_w=p.get("stride_w", 1),
        dilation_h=p.get("dilation_h", 1),
        dilation_w=p.get("dilation_w", 1),
        pad_top=p.get("pad_top", 0),
        pad_left=p.get("pad_left", 0),
    )
    if layer.op == "depthwise_conv2d":
        mult = int(p.get("depth_multiplier", 1))
        return np.einsum("nabhwc,hwcm->nabcm", win, w[0].reshape(kh, kw, -1, mult)).reshape(*win.shape[:3], -1) + bias
    groups = int(p.get("groups", 1))
    if groups != 1:
        raise ValueError("grouped conv")
    return np.einsum("nabhwc,ohwc->nabo", win, w) + bias


def saturation_report(plan: Plan, layer_inputs: dict[int, np.ndarray] | None = None) -> dict[str, dict[str, Any]]:
    """Per narrow-accumulator MAC layer: bits, worst case (log2) and, given integer inputs, the rate."""
    out: dict[str, dict[str, Any]] = {}
    for i, layer in enumerate(plan.layers):
        profile = plan.layer_profile(i)
        if profile.accumulator_bits >= 32 or layer.op not in MAC_OPS or "weights" not in layer.arrays:
            continue
        bits = profile.accumulator_bits
        entry: dict[str, Any] = {
            "engine": layer.engine,
            "accumulator_bits": bits,
            "overflow": profile.accumulator_overflow,
            "worst_case_log2": round(worst_case_log2(plan, i), 2),
        }
        entry["can_overflow"] = entry["worst_case_log2"] >= bits - 1
        if entry["can_overflow"] and layer_inputs is not None and i in layer_inputs:
            try:
                acc = _accumulators(plan, i, layer_inputs[i])
            except ValueError:
                acc = None
            if acc is not None:
                lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
                entry["rate"] = float(np.mean((acc < lo) | (acc > hi)))
                entry["samples"] = int(len(layer_inputs[i]))
        out[layer.name] = entry
    return out


def measure_saturation(plan: Plan, float_inputs: list[np.ndarray]) -> dict[str, dict[str, Any]]:
    """saturation_report with every narrow layer's integer inputs simulated from float samples."""
    from fixpoint.sim.executor import quantize_input, run_plan

    narrow = [i for i, layer in enumerate(plan.layers) if plan.layer_profile(i).accumulator_bits < 32]
    if not narrow:
        return {}
    ints = [quantize_input(plan, x, k) for k, x in enumerate(float_inputs)]
    captured = run_plan(plan, ints, capture=True).intermediates or {}
    by_tensor = {plan.inputs[k]: v for k, v in enumerate(ints)}
    by_tensor.update(
        {next(t for t, pt in enumerate(plan.tensors) if pt.name == name): v for name, v in captured.items()}
    )
    layer_inputs = {i: by_tensor[plan.layers[i].inputs[0]] for i in narrow if plan.layers[i].inputs[0] in by_tensor}
    report = saturation_report(plan, layer_inputs)
    for name, entry in report.items():
        if "rate" in entry:
            log.info(
                "layer %s on %s: %d-bit accumulator %s on %.3f%% of its sums",
                name,
                entry["engine"],
                entry["accumulator_bits"],
                "saturates" if entry["overflow"] == "saturate" else "wraps",
                100 * entry["rate"],
            )
    return report
