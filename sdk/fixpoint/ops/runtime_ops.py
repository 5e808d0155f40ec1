"""The runtime op table: one row per integer op of the C runtime.

Lowering, the host simulator and the code generator read this table to know an
op's C enum, params struct, union member and kernel per datapath. It is the
registry's runtime rows (:mod:`fixpoint.ops.registry`); the rows themselves
live in ``fixpoint/ops/defs/``.
"""

from __future__ import annotations

from .registry import RUNTIME_ROWS
from .rows import RuntimeOp

RUNTIME_OPS: dict[str, RuntimeOp] = RUNTIME_ROWS

__all__ = ["RUNTIME_OPS", "RuntimeOp"]
