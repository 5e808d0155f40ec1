"""Argument checks of the kernel wrappers (fixpoint.sim.kernels), each error naming its argument.

Arrays (dtype, rank, layout), shapes, packed int4 filters, the weighted
kernels' (multiplier, shift) and the legal ranges of the scalar fields.

The C kernels return FP_ERR_ARG for a parameter outside its range without
saying which; :mod:`fixpoint.sim.kernels` checks the same ranges here first
(docs/kernels.md, runtime/src/internal/*.h) so the error names the culprit.

Offsets follow what the kernels can compute without overflow (TFLite's
reference kernels take int32 offsets; int8 zero points give only
[-127, 128] / [-128, 127]):

* int8 tensors, element-wise / requantize / concat kernels: any int32 offset
  (the C forms ``x + offset`` and its products in 64 bits and saturates);
* int8 output offsets of the weighted kernels: any int32 (saturating add);
* int8 input offsets of the weighted kernels: every product term
  ``(x + input_offset) * w`` (fully connected: ``* (w + filter_offset)``)
  fits int32, as in TFLite's int32 arithmetic;
* int16 tensors: zero point 0, every offset must be 0 (TFLite 16x8; the
  16x8 weighted kernels do not compute with offsets at all).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.registry import keys_where
from ..reference.lowbit import WEIGHT_LABEL, is_packed, packed_size, unpack_weights

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT16_REACH = 1 << 15  # max |x| of an int16 activation (zero point 0)
WEIGHT_REACH = 128  # max |w| of an int8 weight

__all__ = [
    "KernelArgumentError",
    "MODELESS_OPS",
    "array_arg",
    "check_offsets",
    "check_scalar_ranges",
    "filter_arg",
    "fail",
    "int_values",
    "requant_arg",
    "s8_reach",
    "shape_arg",
]

# ops whose C params have no fp_rq_mode_t: 'rounding' / 'multiplier_bits' are errors there
MODELESS_OPS = frozenset({"max_pool", "avg_pool", "softmax", "pad", *keys_where(lambda row: not row.requant_mode)})


class KernelArgumentError(ValueError):
    """A kernel wrapper argument is wrong; the message names it."""


def fail(where: str, message: str) -> KernelArgumentError:
    return KernelArgumentError(f"{where}: {message}")


def s8_reach(offset: int) -> int:
    """max |v + offset| over int8 v."""
    return max(abs(offset + 127), abs(offset - 128))


def _int(where: str, name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise fail(where, f"argument '{name}' must be an integer, got {value!r}")
    if not INT32_MIN <= int(value) <= INT32_MAX:
        raise fail(where, f"argument '{name}' = {int(value)} does not fit int32")
    return int(value)


def _zero(where: str, name: str, value: int) -> None:
    if value != 0:
        raise fail(where, f"argument '{name}' = {value} must be 0: int16 tensors have zero point 0")


def _weighted_offsets(where: str, int16: bool, op: str, fields: dict[str, Any]) -> None:
    in_off = _int(where, "input_offset", fields.get("input_offset", 0))
    out_off = _int(where, "output_offset", fields.get("output_offset", 0))
    if int16:
        _zero(where, "input_offset", in_off)
        _zero(where, "output_offset", out_off)
        x_reach = INT16_REACH
    else:
        limit = INT32_MAX // WEIGHT_REACH
        if s8_reach(in_off) > limit:
            raise fail(
                where,
                f"argument 'input_offset' = {in_off} is outside [{-(limit - 128)}, {limit - 127}]: "
                "(x + input_offset) * w would overflow int32",
            )
        x_reach = s8_reach(in_off)
    if op == "fully_connected":
        f_off = _int(where, "filter_offset", fields.get("filter_offset", 0))
        if s8_reach(f_off) * x_reach > INT32_MAX:
            raise fail(
                where,
                f"argument 'filter_offset' = {f_off} (with input_offset {in_off}): "
                "(x + input_offset) * (w + filter_offset) would overflow int32",
            )


def check_offsets(where: str, op: str, family: str, in_int16: bool, out_int16: bool, fields: dict[str, Any]) -> None:
    """Raise KernelArgumentError naming the first offset outside its legal range."""
    if family == "weighted":
        _weighted_offsets(where, in_int16, op, fields)
        return
    for name in ("input_offset", "input1_offset", "input2_offset", "output_offset"):
        if name not in fields or (op == "concat" and name == "input_offset"):
            continue
        value = _int(where, name, fields[name])
        if in_int16 if name != "output_offset" else out_int16:
            _zero(where, name, value)
    if op == "concat" and isinstance(fields.get("input_offset"), (list, tuple)):
        for i, v in enumerate(fields["input_offset"]):
            value = _int(where, f"input_offset[{i}]", v)
            if in_int16:
                _zero(where, f"input_offset[{i}]", value)


def _range(where: str, fields: dict[str, Any], name: str, lo: int, hi: int, why: str = "") -> None:
    if name not in fields:
        return
    value = _int(where, name, fields[name])
    if not lo <= value <= hi:
        raise fail(where, f"argument '{name}' = {value} is outside [{lo}, {hi}]{why}")


def check_scalar_ranges(
    where: str, op: str, in_int16: bool, out_range: tuple[int, int], fields: dict[str, Any]
) -> None:
    """Raise KernelArgumentError naming the first scalar field outside its legal range."""
    for name in ("stride_h", "stride_w", "dilation_h", "dilation_w", "groups", "filter_h", "filter_w"):
        _range(where, fields, name, 1, INT32_MAX)
    for name in ("pad_top", "pad_left"):
        _range(where, fields, name, 0, INT32_MAX)
    if op in ("max_pool", "avg_pool"):
        for pad, extent in (("pad_top", "filter_h"), ("pad_left", "filter_w")):
            if extent in fields:
                _range(where, fields, pad, 0, int(fields[extent]) - 1, f" (must be below '{extent}')")
    if op == "add":
        _range(where, fields, "left_shift", 0, 31)
    if op == "softmax":
        _range(where, fields, "input_multiplier", 0, INT32_MAX)
        _range(where, fields, "input_left_shift", -31 if in_int16 else 0, 31)
        if not in_int16:
            _range(where, fields, "diff_min", INT32_MIN, 0)
    if op == "pad":
        _range(where, fields, "pad_value", *out_range, " (the output type)")


def array_arg(where: str, name: str, value: Any, dtype, ndim: int | None = None) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise fail(where, f"argument '{name}' must be a numpy array, got {type(value).__name__}")
    if value.dtype != np.dtype(dtype):
        raise fail(where, f"argument '{name}' must be {np.dtype(dtype)}, got {value.dtype}")
    if ndim is not None and value.ndim != ndim:
        raise fail(where, f"argument '{name}' must have {ndim} dims, got shape {list(value.shape)}")
    if value.ndim == 0 or min(value.shape) < 1:
        raise fail(where, f"argument '{name}' must have dims >= 1, got shape {list(value.shape)}")
    if not value.flags.c_contiguous:
        raise fail(where, f"argument '{name}' must be C-contiguous (use np.ascontiguousarray)")
    return value


def int_values(where: str, name: str, value: Any, lo: int, hi: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" or arr.size == 0:
        raise fail(where, f"argument '{name}' must hold integers, got {value!r}")
    if int(arr.min()) < lo or int(arr.max()) > hi:
        raise fail(where, f"argument '{name}' has values in [{int(arr.min())}, {int(arr.max())}], outside [{lo}, {hi}]")
    return arr.astype(np.int64)


def shape_arg(where: str, value: Any, ndim: int, name: str = "output_shape") -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in value)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != ndim or min(shape) < 1:
        raise fail(where, f"argument '{name}' must be {ndim} positive dims, got {value!r}")
    return shape


def filter_arg(where: str, op: str, datapath: str, filter: Any, kw: dict) -> np.ndarray:
    """The unpacked int8 filter. An s4 / s2 / s1 filter may be given packed: int8 or
    uint8 bytes (fp_runtime.h layout) with ``filter_shape`` = the unpacked dims."""
    ndim = 2 if op == "fully_connected" else 4
    shape = kw.pop("filter_shape", None)
    if shape is None:
        return array_arg(where, "filter", filter, np.int8, ndim)
    if not is_packed(datapath):
        raise fail(where, "argument 'filter_shape' (a packed filter) only applies to the s4 kernels (and s2 / s1)")
    dims = shape_arg(where, shape, ndim, "filter_shape")
    if (
        not isinstance(filter, np.ndarray)
        or filter.dtype not in (np.dtype(np.int8), np.dtype(np.uint8))
        or filter.ndim != 1
    ):
        raise fail(
            where,
            f"argument 'filter' with 'filter_shape' must be packed {WEIGHT_LABEL[datapath]} bytes: "
            f"a 1-D int8 or uint8 array, got {getattr(filter, 'dtype', type(filter).__name__)} "
            f"{list(getattr(filter, 'shape', []))}",
        )
    count = int(np.prod(dims, dtype=np.int64))
    if filter.size != packed_size(count, datapath):
        raise fail(
            where,
            f"argument 'filter' has {filter.size} packed bytes, filter_shape {list(dims)} needs "
            f"{packed_size(count, datapath)}",
        )
    return unpack_weights(filter, count, datapath, dims)


def requant_arg(where: str, kw: dict) -> tuple[Any, Any, str]:
    """(multiplier, shift, name prefix) from ``requant=(m, s)`` or ``multiplier=`` / ``shift=``."""
    if "requant" in kw:
        if "multiplier" in kw or "shift" in kw:
            raise fail(where, "give argument 'requant' or 'multiplier' / 'shift', not both")
        value = kw.pop("requant")
        if isinstance(value, dict) and set(value) == {"multiplier", "shift"}:
            value = (value["multiplier"], value["shift"])
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise fail(where, f"argument 'requant' must be a (multiplier, shift) pair, got {value!r}")
        return value[0], value[1], "requant."
    for name in ("multiplier", "shift"):
        if name not in kw:
            raise fail(where, f"argument '{name}' is missing (or give 'requant' = (multiplier, shift))")
    return kw.pop("multiplier"), kw.pop("shift"), ""
