"""The op rows, one module per op family (see fixpoint.ops.registry for why and how).

Each family module defines ``ONNX`` (a tuple of :class:`~fixpoint.ops.rows.OnnxOp`) and
``RUNTIME`` (a tuple of :class:`~fixpoint.ops.rows.RuntimeOp`). A new family is a new module
here plus one line in :data:`FAMILIES`; the order of FAMILIES is the order of the runtime
table in docs/supported-ops.md.
"""

from __future__ import annotations

from types import ModuleType

from . import (
    attention,
    compute,
    conv,
    data_movement,
    elementwise,
    folded,
    fully_connected,
    lut,
    movement,
    pooling,
    recurrent,
    softmax,
)

FAMILIES: tuple[ModuleType, ...] = (
    conv,
    fully_connected,
    elementwise,
    lut,
    pooling,
    softmax,
    data_movement,
    movement,
    folded,
    compute,
    recurrent,
    attention,
)

__all__ = ["FAMILIES"]
