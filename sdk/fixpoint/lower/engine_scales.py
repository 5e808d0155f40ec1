"""Calibration that honours a shift-only engine: power-of-two scales around the layers it should run.

A shift-only engine (``rounding = "shift_only"``) requantizes by shifts alone, so it can run a layer
only when every scale ratio of the layer is a power of two. Calibrated scales rarely are, and the
engine assignment then falls back to a dearer engine or the CPU. This pass decides the assignment
first and then constrains the scales: it lowers once, takes the layers whose cheapest capable engine
is a shift-only one that refused only because of the scales, rounds the activation ranges of the
tensors around them up to a power of two (``calibrate.qparams`` ``pow2``: the scale rounded up, the
range kept), and lowers again -- a few rounds, since a tensor's scale can move other layers' needs.
Weights follow the engine's own rule when the layer is lowered for it (``ops_weighted``: pow2 on a
shift-only requantizer).

The cost is reported per tensor (``plan.meta["engine_scales"]``): the scale grows by ``ratio`` (the
rounding up to a power of two, < 2x; a signed range also gives up its asymmetric zero point, up to
2x more), quantization noise with it, so the SQNR falls by ``20 log10(ratio)`` dB; the accuracy drop
is measured by evaluation (bench/engines_board.py, docs/accelerators.md).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from ..calibrate.qparams import quant_from_range
from ..ir import Graph
from ..quant import TensorQuant
from ..target import RequantProfile
from .options import LowerOptions

log = logging.getLogger(__name__)
__all__ = ["constrain_for_engines", "shift_only_engines"]
ROUNDS = 3


def shift_only_engines(profile: RequantProfile, options: LowerOptions) -> list[str]:
    """Names of the shift-only engines among ``options.engines``."""
    return [e.name for e in options.engines or () if e.profile(profile).rounding == "shift_only"]


def _wanted_layers(plan, engines: list[str]) -> list[int]:
    """Layers a shift-only engine was the cheapest for but refused because of their scales."""
    reasons = plan.meta.get("lowering", {}).get("layers", {})
    return [
        i
        for i, layer in enumerate(plan.layers)
        if layer.engine not in engines
        and any(
            f"{e} cannot represent the scales" in str(reasons.get(layer.name, {}).get("engine_reason", ""))
            for e in engines
        )
    ]


def _pow2(tq: TensorQuant) -> TensorQuant:
    return quant_from_range(tq.name, tq.lo, tq.hi, tq.bits, "pow2", tq.policy, (tq.observed_min, tq.observed_max))


def constrain_for_engines(
    graph: Graph, quant: dict[str, TensorQuant], profile: RequantProfile, options: LowerOptions
) -> tuple[dict[str, TensorQuant], dict[str, Any]]:
    """(quant with power-of-two scales around the layers a shift-only engine should run, report).
    Without a shift-only engine: ``quant`` unchanged and an empty report (no extra lowering)."""
    from .pipeline import lower_with_report

    engines = shift_only_engines(profile, options)
    if not engines:
        return quant, {}
    quant = dict(quant)
    tensors: dict[str, dict[str, float]] = {}
    layers: list[str] = []
    for _ in range(ROUNDS):
        plan, _report = lower_with_report(graph, quant, profile, options)
        wanted = _wanted_layers(plan, engines)
        names = {plan.tensors[t].name for i in wanted for t in [*plan.layers[i].inputs, plan.layers[i].output]}
        todo = sorted(n for n in names if n in quant and quant[n].scheme != "pow2")
        if not todo:
            break
        layers += [plan.layers[i].name for i in wanted if plan.layers[i].name not in layers]
        for name in todo:
            old, new = quant[name], _pow2(quant[name])
            quant[name] = new
            ratio = new.scale / old.scale
            tensors[name] = {
                "scale": old.scale,
                "pow2_scale": new.scale,
                "sqnr_cost_db": round(20.0 * math.log10(ratio), 3) if ratio > 0 else 0.0,
            }
    if tensors:
        log.info(
            "power-of-two scales for %d tensor(s) around %d layer(s) a shift-only engine runs (%s): "
            "SQNR cost up to %.2f dB",
            len(tensors),
            len(layers),
            ", ".join(engines),
            max(t["sqnr_cost_db"] for t in tensors.values()),
        )
    return quant, {"engines": engines, "layers": layers, "tensors": tensors}
