"""Argument preparation of ``fp_batch_matmul_*`` and ``fp_layer_norm_*`` (conventions:
:mod:`fixpoint.sim.kernels`).

``batch_matmul_s8(a, b, input1_offset=, input2_offset=, output_offset=, output_scale=(m, s),
act_min=, act_max=, rounding=, multiplier_bits=, transpose_a=False, transpose_b=False)``: ``a``
[..., M, K] and ``b`` [..., K, N] (rank 2 to 4; ``transpose_a`` / ``transpose_b``: given as [..., K, M]
/ [..., N, K]), batch dims broadcast as numpy / ONNX MatMul do; returns [..., M, N]. With ``rows=``
the geometry is explicit instead: ``batch=[b0, b1], rows=, depth=, cols=, input1_stride=[4],
input2_stride=[4], output_stride=[4], output_shape=`` (strides in elements over (b0, b1, row, col)).

``layer_norm_s8(x, gamma=int16 [D], beta=int64 [D], eps_term=, input_offset=, output_offset=,
output_scale=(m, s), act_min=, act_max=, axis=-1)``: normalizes over ``axis`` of ``x`` (any rank).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .kernel_args import array_arg, fail, shape_arg
from .kernel_prep import Call, kernel_mode, unary_input

__all__ = ["prep_batch_matmul", "prep_layer_norm", "dense_geometry"]


def _strides(shape: list[int]) -> list[int]:
    out, step = [], 1
    for d in reversed(shape):
        out.append(step)
        step *= d
    return out[::-1]


def dense_geometry(a_shape, b_shape, transpose_a: bool = False, transpose_b: bool = False) -> dict[str, Any]:
    """The C geometry of ONNX MatMul on C-contiguous ``a`` / ``b`` (ranks 2..4), plus ``output_shape``.
    Raises ValueError naming the mismatch."""
    a, b = [int(d) for d in a_shape], [int(d) for d in b_shape]
    if not (2 <= len(a) <= 4 and 2 <= len(b) <= 4):
        raise ValueError(f"operands of ranks {len(a)} and {len(b)}; batch_matmul takes ranks 2 to 4")
    sa, sb = _strides(a), _strides(b)
    m, k = (a[-1], a[-2]) if transpose_a else (a[-2], a[-1])
    a_m, a_k = (sa[-1], sa[-2]) if transpose_a else (sa[-2], sa[-1])
    k2, n = (b[-1], b[-2]) if transpose_b else (b[-2], b[-1])
    b_k, b_n = (sb[-1], sb[-2]) if transpose_b else (sb[-2], sb[-1])
    if k != k2:
        raise ValueError(f"inner dims differ: {a} x {b}")
    pad_a = [1] * (2 - (len(a) - 2)) + a[:-2]
    pad_b = [1] * (2 - (len(b) - 2)) + b[:-2]
    st_a = [0] * (2 - (len(a) - 2)) + sa[:-2]
    st_b = [0] * (2 - (len(b) - 2)) + sb[:-2]
    batch = []
    for i in range(2):
        if pad_a[i] != pad_b[i] and 1 not in (pad_a[i], pad_b[i]):
            raise ValueError(f"batch dims do not broadcast: {a} x {b}")
        batch.append(max(pad_a[i], pad_b[i]))
    st_a = [0 if pad_a[i] == 1 else st_a[i] for i in range(2)]
    st_b = [0 if pad_b[i] == 1 else st_b[i] for i in range(2)]
    rank = max(len(a), len(b))
    out_shape = (batch + [m, n])[4 - rank :]
    so = _strides(batch + [m, n])
    return {
        "batch": batch,
        "rows": m,
        "depth": k,
        "cols": n,
        "input1_stride": [*st_a, a_m, a_k],
        "input2_stride": [*st_b, b_k, b_n],
        "output_stride": so,
        "output_shape": tuple(out_shape),
    }


def prep_batch_matmul(where: str, spec: Any, args: tuple, kw: dict) -> Any:

    if len(args) != 2:
        raise fail(where, "takes (a, b) positionally")
    a = array_arg(where, "a", args[0], spec.in_dtype)
    b = array_arg(where, "b", args[1], spec.in_dtype)
    ta, tb = bool(kw.pop("transpose_a", False)), bool(kw.pop("transpose_b", False))
    if "rows" in kw:
        if "output_shape" not in kw:
            raise fail(where, "argument 'output_shape' is missing (explicit geometry)")
        out_arg = kw.pop("output_shape")
        out = shape_arg(where, out_arg, len(out_arg))
    else:
        try:
            geometry = dense_geometry(a.shape, b.shape, ta, tb)
        except ValueError as exc:
            raise fail(where, f"arguments 'a' and 'b': {exc}") from None
        out = geometry.pop("output_shape")
        if "output_shape" in kw:
            raise fail(where, "argument 'output_shape' is only taken with an explicit geometry (rows=)")
        kw.update(geometry)
    for name in ("input1_offset", "input2_offset"):
        value = kw.get(name, 0)
        if isinstance(value, (int, np.integer)) and not -255 <= int(value) <= 255:
            raise fail(where, f"argument '{name}' = {value} is outside [-255, 255]")
    return Call([a, b], {}, tuple(out), kw, kernel_mode(where, spec, kw))


def prep_layer_norm(where: str, spec: Any, args: tuple, kw: dict) -> Any:

    axis = kw.pop("axis", -1)
    x, mode, out = unary_input(where, spec, args, kw, None)
    if out is not None:
        raise fail(where, "argument 'output_shape' does not apply: the output has the input's shape")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < x.ndim:
        raise fail(where, f"argument 'axis' must be an axis of the {x.ndim}-D input, got {axis!r}")
    axis = int(axis) % x.ndim
    kw.setdefault("depth", int(x.shape[axis]))
    kw.setdefault("inner", int(np.prod(x.shape[axis + 1 :], dtype=np.int64)))
    consts = {}
    for name, dtype in (("gamma", np.int16), ("beta", np.int64)):
        if kw.get(name) is None:
            raise fail(where, f"argument '{name}' is missing")
        consts[name] = array_arg(where, name, kw.pop(name), dtype, 1)
    eps = kw.get("eps_term", 0)
    if isinstance(eps, np.integer):
        kw["eps_term"] = int(eps)
    return Call([x], consts, tuple(x.shape), kw, mode)
