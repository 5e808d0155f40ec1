"""Argument preparation of the "table" kernel family (``fp_lut_*``, ``fp_prelu_*``): a unary
kernel whose params point at constant arrays, named by the row's ``table_arrays`` and passed
to the wrapper by keyword (``table=``: int8 [256] for s8, int16 [513] for s16; ``alpha=``:
int8 [channels or 1]). Conventions: :mod:`fixpoint.sim.kernels`."""

from __future__ import annotations

from typing import Any

from .. import cparams
from ..ops.runtime_ops import RUNTIME_OPS
from .kernel_args import array_arg, fail
from .kernel_prep import Call, unary_input


def prep_table(where: str, spec: Any, args: tuple, kw: dict) -> Any:
    from .kernel_args import shape_arg

    x, mode, out = unary_input(where, spec, args, kw, None)
    out = x.shape if out is None else shape_arg(where, out, x.ndim)
    consts = {}
    for name in RUNTIME_OPS[spec.op].table_arrays:
        if kw.get(name) is None:
            raise fail(where, f"argument '{name}' is missing")
        consts[name] = array_arg(where, name, kw.pop(name), cparams.ARRAY_CTYPES[name][spec.datapath], 1)
    return Call([x], consts, tuple(out), kw, mode)
