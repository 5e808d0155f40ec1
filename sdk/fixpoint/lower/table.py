"""The lowering table: one row per runtime op, derived from the op registry (fixpoint/ops/defs/).

Each row says how to compute the layer's params/arrays and how its output
tensor is quantized. The pipeline looks rows up by ``node.op``; there is no
other dispatch on op names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from fixpoint.ir import Node

from fixpoint.ops import registry
from fixpoint.ops.rows import resolve

from .context import LowerContext, QParams
from .ops_weighted import Lowered

LowerFn = Callable[[LowerContext, Node, str], Lowered]
OutputRule = Callable[[LowerContext, Node], tuple[QParams, str]]


@dataclass(frozen=True)
class OpLowering:
    lower: LowerFn
    output_qparams: OutputRule
    has_weights: bool = False  # weight bits (s4 overrides) apply


def _lowerings() -> dict[str, OpLowering]:
    return {
        key: OpLowering(resolve(row.lowering), resolve(row.output_rule), has_weights=row.has_weights)
        for key, row in registry.RUNTIME_ROWS.items()
        if row.lowering
    }


# From the registry rows' lowering / output_rule. "requantize" has no row here: tools insert
# it, a normalized graph never contains it.
LOWERINGS: dict[str, OpLowering] = _lowerings()
