"""The op registry: every fact about an op, in one row ("one op, one row").

Where things are
----------------
* :mod:`fixpoint.ops.rows` -- the row types :class:`OnnxOp` and :class:`RuntimeOp` (every
  field is documented there).
* :mod:`fixpoint.ops.defs` -- the rows, one module per op family (``defs/conv.py``,
  ``defs/pooling.py``, ...). An op family shares helpers (the kernels of ``max_pool`` and
  ``avg_pool`` live in the same C header, their checks share code), so a family module is
  where a newcomer reads an op's whole story: which ONNX ops become it, its C enum and
  kernels, and a ``"module:function"`` reference for each stage (check, converter, float
  kernel, layout rewrite, lowering, params builder, reference) plus its test files. One
  module per family also keeps parallel additions of ops from colliding in one file.
* This module collects the rows into :data:`ONNX_ROWS` and :data:`RUNTIME_ROWS` and derives
  the per-stage views with :func:`onnx_refs` / :func:`runtime_refs` / :func:`runtime_values`.
  The stage modules (``ops.onnx_ops.ONNX_OPS``, ``ops.runtime_ops.RUNTIME_OPS``,
  ``normalize.canonicalize.CONVERTERS``, ``lower.table.LOWERINGS``,
  ``cparams.PARAMS_BUILDERS``, ...) keep their historical table names, computed from here.
* :mod:`fixpoint.ops.coverage` -- what a complete row must provide; ``tests/frontend/
  test_op_registry.py`` runs it over every row.

Why references are strings: the stage modules import this registry to build their tables,
so rows cannot import the stage functions (an import cycle); a reference is resolved by the
stage that uses it (:func:`fixpoint.ops.rows.resolve`). docs/adding-an-op.md walks through
adding an op.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from .defs import FAMILIES
from .rows import OnnxOp, RuntimeOp, resolve

__all__ = [
    "ONNX_ROWS",
    "RUNTIME_ROWS",
    "OnnxOp",
    "RuntimeOp",
    "onnx_refs",
    "onnx_types_normalized_by",
    "runtime_refs",
    "runtime_values",
    "keys_where",
    "resolve",
]


def _collect() -> tuple[dict[str, OnnxOp], dict[str, RuntimeOp]]:
    onnx: dict[str, OnnxOp] = {}
    runtime: dict[str, RuntimeOp] = {}
    for family in FAMILIES:
        where = family.__name__
        for row in getattr(family, "ONNX", ()):
            if row.op_type in onnx:
                raise ValueError(f"ONNX op {row.op_type} is registered twice ({onnx[row.op_type].defined_in}, {where})")
            onnx[row.op_type] = dataclasses.replace(row, defined_in=where)
        for rrow in getattr(family, "RUNTIME", ()):
            if rrow.key in runtime:
                raise ValueError(f"runtime op {rrow.key} is registered twice ({runtime[rrow.key].defined_in}, {where})")
            runtime[rrow.key] = dataclasses.replace(rrow, defined_in=where)
    return onnx, runtime


ONNX_ROWS, RUNTIME_ROWS = _collect()


def onnx_refs(field: str, normalized_by: str | None = None) -> dict[str, Callable[..., Any]]:
    """ONNX op type -> resolved ``field`` reference, for rows that have one (and whose
    ``normalized_by`` pass is ``normalized_by`` when given)."""
    return {
        op_type: resolve(getattr(row, field))
        for op_type, row in ONNX_ROWS.items()
        if getattr(row, field) and (normalized_by is None or row.normalized_by == normalized_by)
    }


def onnx_types_normalized_by(pass_name: str) -> tuple[str, ...]:
    """The ONNX op types a normalize pass consumes."""
    return tuple(op_type for op_type, row in ONNX_ROWS.items() if row.normalized_by == pass_name)


def runtime_refs(field: str) -> dict[str, Callable[..., Any]]:
    """Runtime op key -> resolved ``field`` reference, for rows that have one."""
    return {key: resolve(getattr(row, field)) for key, row in RUNTIME_ROWS.items() if getattr(row, field)}


def runtime_values(field: str) -> dict[str, Any]:
    """Runtime op key -> ``field`` value, for rows where it is not None."""
    return {key: getattr(row, field) for key, row in RUNTIME_ROWS.items() if getattr(row, field) is not None}


def keys_where(predicate: Callable[[RuntimeOp], bool]) -> tuple[str, ...]:
    """Runtime op keys whose row satisfies ``predicate``, in registry order."""
    return tuple(key for key, row in RUNTIME_ROWS.items() if predicate(row))
