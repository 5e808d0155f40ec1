"""Legal ranges of the kernel wrappers' scalar arguments, each error naming its argument.

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

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT16_REACH = 1 << 15            # max |x| of an int16 activation (zero point 0)
WEIGHT_REACH = 128               # max |w| of an int8 weight

__all__ = ["KernelArgumentError", "s8_reach", "check_offsets", "check_scalar_ranges", "MODELESS_OPS"]

# ops whose C params have no fp_rq_mode_t: 'rounding' / 'multiplier_bits' are errors there
MODELESS_OPS = frozenset({"max_pool", "avg_pool", "softmax", "pad"})


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
            raise fail(where, f"argument 'input_offset' = {in_off} is outside [{-(limit - 128)}, {limit - 127}]: "
                              "(x + input_offset) * w would overflow int32")
        x_reach = s8_reach(in_off)
    if op == "fully_connected":
        f_off = _int(where, "filter_offset", fields.get("filter_offset", 0))
        if s8_reach(f_off) * x_reach > INT32_MAX:
            raise fail(where, f"argument 'filter_offset' = {f_off} (with input_offset {in_off}): "
                              "(x + input_offset) * (w + filter_offset) would overflow int32")


def check_offsets(where: str, op: str, family: str, in_int16: bool, out_int16: bool,
                  fields: dict[str, Any]) -> None:
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


def check_scalar_ranges(where: str, op: str, in_int16: bool, out_range: tuple[int, int],
                        fields: dict[str, Any]) -> None:
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
