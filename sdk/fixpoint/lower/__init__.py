"""Lowering: normalized float graph + calibration -> integer plan (``fixpoint.plan.Plan``).

Public API::

    lower(graph, quant, profile, options=None) -> Plan
    lower_with_report(graph, quant, profile, options=None) -> (Plan, LowerReport)
    lower_with_widths(graph, quant8, quant16, profile, options, widths) -> Plan   (per-layer int8 / int16)
    LowerOptions, EngineSpec, LowerReport, LayerReport
    quantize_scale(scale, profile, acc_bits=32) -> ScaleRegisters       (fixpoint.lower.scales)
    quantize_weights(w, axis, bits=8, per_channel=True, scheme="symmetric")   (fixpoint.lower.weights)
"""

from .context import LayerReport, LowerReport
from .options import EngineSpec, LowerOptions
from .pipeline import lower, lower_with_report, lower_with_widths
from .scales import ScaleRegisters, quantize_scale
from .weights import QuantizedWeights, quantize_bias, quantize_weights

__all__ = [
    "lower",
    "lower_with_report",
    "lower_with_widths",
    "LowerOptions",
    "EngineSpec",
    "LowerReport",
    "LayerReport",
    "ScaleRegisters",
    "quantize_scale",
    "QuantizedWeights",
    "quantize_weights",
    "quantize_bias",
]
