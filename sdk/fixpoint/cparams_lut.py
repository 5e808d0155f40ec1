"""C field values of the lut, prelu and minimum / maximum layers (see :mod:`fixpoint.cparams`
for the conventions; the registry rows in fixpoint/ops/defs/lut.py name these builders)."""

from __future__ import annotations

from typing import Any

from .cparams import ArrayRef, CParamsError, OpContext, _count
from .cparams_compute import binary_params

TABLE_ENTRIES = {"s8": 256, "s4": 256, "s16": 513}


def lut(c: OpContext) -> dict[str, Any]:
    entries = c.array("table", ndim=1).shape[0]
    if entries != TABLE_ENTRIES[c.datapath]:
        raise CParamsError(
            f"array 'table' has {entries} entries, the {c.datapath} table has {TABLE_ENTRIES[c.datapath]}"
        )
    return {"size": c.derived("size", _count(c.in_shapes[0])), "table": ArrayRef("table")}


def prelu(c: OpContext) -> dict[str, Any]:
    channels = int(c.array("alpha", ndim=1).shape[0])
    depth = c.in_shapes[0][-1]
    if channels not in (1, depth):
        raise CParamsError(f"array 'alpha' has {channels} entries; it needs 1 or one per channel ({depth})")
    fields = {
        "size": c.derived("size", _count(c.in_shapes[0])),
        "channels": c.derived("channels", channels),
        "input_offset": c.offset("input_offset"),
        "alpha_offset": c.scalar("alpha_offset", 0),
        "output_offset": c.offset("output_offset"),
        "identity_scale": c.scale("identity_scale"),
        "alpha_scale": c.scale("alpha_scale"),
    }
    fields.update(c.act_range())
    fields["mode"] = dict(c.mode)
    fields["alpha"] = ArrayRef("alpha")
    return fields


def minmax(c: OpContext) -> dict[str, Any]:
    return binary_params(c, ("input1_scale", "input2_scale"), ())
