"""Argument preparation of the data movement and reduce kernels (``fp_transpose_*``,
``fp_slice_*``, ``fp_resize_*``, ``fp_reduce_*``): unary kernels on 4-D NHWC tensors whose output
shape follows from their parameters. Conventions: :mod:`fixpoint.sim.kernels`; the shared
helpers are in :mod:`fixpoint.sim.kernel_prep`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..reference.reduce import KINDS as REDUCE_KINDS
from .kernel_args import fail, int_values, shape_arg
from .kernel_prep import Call, unary_input


def prep_transpose(where: str, spec: Any, args: tuple, kw: dict) -> Any:
    """Output shape: input dim perm[i] at i."""
    x, mode, out = unary_input(where, spec, args, kw, 4)
    perm = int_values(where, "perm", kw.get("perm", [0, 1, 2, 3]), 0, 3)
    if perm.shape != (4,) or sorted(perm.tolist()) != [0, 1, 2, 3]:
        raise fail(where, f"argument 'perm' must be a permutation of 0..3, got {kw.get('perm')!r}")
    kw["perm"] = [int(p) for p in perm]
    expected = tuple(x.shape[p] for p in kw["perm"])
    if out is not None and tuple(shape_arg(where, out, 4)) != expected:
        raise fail(where, f"argument 'output_shape' {list(out)} is not the permuted input {list(expected)}")
    return Call([x], {}, expected, kw, mode)


def _slice_len(begin: int, end: int | None, stride: int, dim: int) -> int:
    if end is None:  # as far as the stride reaches inside the input
        return (dim - 1 - begin) // stride + 1 if stride > 0 else begin // -stride + 1
    return len(range(begin, end, stride))


def prep_slice(where: str, spec: Any, args: tuple, kw: dict) -> Any:
    """Output shape: ``output_shape``, else from ``end`` (exclusive, per dim; None: as far as
    the stride reaches)."""
    x, mode, out = unary_input(where, spec, args, kw, 4)
    begin = int_values(where, "begin", kw.get("begin", [0] * 4), 0, (1 << 31) - 1)
    stride = int_values(where, "stride", kw.get("stride", [1] * 4), -(1 << 31), (1 << 31) - 1)
    end = kw.pop("end", None)
    if begin.shape != (4,) or stride.shape != (4,) or 0 in stride.tolist():
        raise fail(where, "arguments 'begin' / 'stride' must be 4 values (N, H, W, C), strides non-zero")
    kw["begin"], kw["stride"] = [int(b) for b in begin], [int(s) for s in stride]
    if out is not None:
        return Call([x], {}, tuple(shape_arg(where, out, 4)), kw, mode)
    ends = [None] * 4 if end is None else list(end)
    if len(ends) != 4:
        raise fail(where, "argument 'end' must be 4 values (N, H, W, C)")
    shape = tuple(_slice_len(b, e, s, d) for b, e, s, d in zip(kw["begin"], ends, kw["stride"], x.shape))
    if min(shape) < 1:
        raise fail(where, f"arguments 'begin' / 'end' / 'stride' select nothing (output {list(shape)})")
    return Call([x], {}, shape, kw, mode)


def prep_resize(where: str, spec: Any, args: tuple, kw: dict) -> Any:
    """Output shape: ``output_shape`` or ``size=(H, W)``; ``ratio_num`` / ``ratio_den`` default to
    input / output per axis, ``method`` / ``coord`` / ``nearest_mode`` to 0 (fp_resize_params_t)."""
    x, mode, out = unary_input(where, spec, args, kw, 4)
    size = kw.pop("size", None)
    if out is not None:
        out = tuple(shape_arg(where, out, 4))
    elif size is not None:
        hw = int_values(where, "size", size, 1, 32767)
        if hw.shape != (2,):
            raise fail(where, "argument 'size' must be (H, W)")
        out = (x.shape[0], int(hw[0]), int(hw[1]), x.shape[3])
    else:
        raise fail(where, "argument 'size' (H, W) or 'output_shape' is missing")
    kw.setdefault("ratio_num", [x.shape[1], x.shape[2]])
    kw.setdefault("ratio_den", [out[1], out[2]])
    return Call([x], {}, out, kw, mode)


def prep_reduce(where: str, spec: Any, args: tuple, kw: dict) -> Any:
    """reduce: ``axes`` (NHWC axes to reduce) or ``output_shape``; ``kind`` "sum" / "max"
    (or the fp_reduce_kind_t value); a mean is a sum with 1/count in ``scale``."""
    x, mode, out = unary_input(where, spec, args, kw, 4)
    axes = kw.pop("axes", None)
    if axes is not None and out is not None:
        raise fail(where, "give 'axes' or 'output_shape', not both")
    if axes is not None:
        picked = int_values(where, "axes", axes, 0, 3).reshape(-1) if len(axes) else ()
        out = tuple(1 if a in picked else d for a, d in enumerate(x.shape))
    elif out is None:
        raise fail(where, "argument 'axes' (or 'output_shape') is missing")
    out = tuple(shape_arg(where, out, 4))
    if any(o not in (i, 1) for i, o in zip(x.shape, out)):
        raise fail(
            where, f"argument 'output_shape' {list(out)} is not the input {list(x.shape)} with reduced dims of 1"
        )
    kind = kw.get("kind", "sum")
    if kind in REDUCE_KINDS:
        kw["kind"] = REDUCE_KINDS[kind]
    elif not (isinstance(kind, (int, np.integer)) and not isinstance(kind, bool) and kind in REDUCE_KINDS.values()):
        raise fail(where, f"argument 'kind' must be 'sum' or 'max', got {kind!r}")
    return Call([x], {}, out, kw, mode)
