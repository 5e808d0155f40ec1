"""The lowering table: one row per runtime op (keys of fixpoint.ops.runtime_ops.RUNTIME_OPS).

Each row says how to compute the layer's params/arrays and how its output
tensor is quantized. The pipeline looks rows up by ``node.op``; there is no
other dispatch on op names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from fixpoint.ir import Node

from .context import LowerContext, QParams
from .ops_data import (lower_avg_pool, lower_concat, lower_copy, lower_max_pool, lower_pad, lower_softmax,
                       output_calibrated, output_same_as_input, output_softmax)
from .ops_elementwise import lower_add, lower_leaky_relu, lower_mul
from .ops_weighted import Lowered, lower_conv2d, lower_depthwise_conv2d, lower_fully_connected

LowerFn = Callable[[LowerContext, Node, str], Lowered]
OutputRule = Callable[[LowerContext, Node], tuple[QParams, str]]


@dataclass(frozen=True)
class OpLowering:
    lower: LowerFn
    output_qparams: OutputRule
    has_weights: bool = False       # weight bits (s4 overrides) apply


LOWERINGS: dict[str, OpLowering] = {
    "conv2d": OpLowering(lower_conv2d, output_calibrated, has_weights=True),
    "depthwise_conv2d": OpLowering(lower_depthwise_conv2d, output_calibrated, has_weights=True),
    "fully_connected": OpLowering(lower_fully_connected, output_calibrated, has_weights=True),
    "add": OpLowering(lower_add, output_calibrated),
    "mul": OpLowering(lower_mul, output_calibrated),
    "leaky_relu": OpLowering(lower_leaky_relu, output_calibrated),
    "max_pool": OpLowering(lower_max_pool, output_same_as_input),
    "avg_pool": OpLowering(lower_avg_pool, output_same_as_input),
    "softmax": OpLowering(lower_softmax, output_softmax),
    "concat": OpLowering(lower_concat, output_calibrated),
    "pad": OpLowering(lower_pad, output_same_as_input),
    "copy": OpLowering(lower_copy, output_same_as_input),
}
# "requantize" has no row: tools insert it, a normalized graph never contains it
