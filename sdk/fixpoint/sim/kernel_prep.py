"""Argument preparation of the kernel wrappers in :mod:`fixpoint.sim.kernels` (its docstring gives the
conventions): the checks every wrapper shares and one ``prep_*`` per kernel family, which validates the
numpy arguments and returns the :class:`Call` the wrapper turns into a C params struct (registry rows'
``sim_prepare`` name these functions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .. import cparams
from ..plan import RequantProfile
from ..reference.lowbit import WEIGHT_LABEL, WEIGHT_RANGE, is_packed
from ..reference.requant import shift_range
from .kernel_args import array_arg, fail, filter_arg, int_values, requant_arg, shape_arg

if TYPE_CHECKING:
    from .kernels import KernelSpec

BIAS = {"s8": np.int32, "s4": np.int32, "s16": np.int64, "s16_acc32": np.int32, "s2": np.int32, "s1": np.int32}


# ---- argument checks ------------------------------------------------------


def no_mode(where: str, spec: KernelSpec, kw: dict) -> dict[str, Any]:
    """The (unused) default mode of a kernel whose C params have none; passing one is an error."""
    for name in ("rounding", "multiplier_bits"):
        if name in kw:
            raise fail(where, f"argument '{name}' does not apply: {spec.cname} has no rounding choice")
    return cparams.rq_mode(RequantProfile())


def kernel_mode(where: str, spec: KernelSpec, kw: dict) -> dict[str, Any]:
    if not spec.has_mode:
        return no_mode(where, spec, kw)
    return mode_of(where, kw.pop("rounding", "double"), kw.pop("multiplier_bits", 32))


def mode_of(where: str, rounding: Any, multiplier_bits: Any) -> dict[str, Any]:
    if rounding not in cparams.ROUNDING_ENUM:
        raise fail(where, f"argument 'rounding' must be one of {sorted(cparams.ROUNDING_ENUM)}, got {rounding!r}")
    if (
        isinstance(multiplier_bits, bool)
        or not isinstance(multiplier_bits, (int, np.integer))
        or not 2 <= int(multiplier_bits) <= 32
    ):
        raise fail(where, f"argument 'multiplier_bits' must be an integer in 2..32, got {multiplier_bits!r}")
    return cparams.rq_mode(RequantProfile(rounding=rounding, multiplier_bits=int(multiplier_bits)))


def scale_values(
    where: str, name: str, multiplier: Any, shift: Any, rounding: str, bits: int, acc_bits: int
) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = shift_range(rounding, bits, acc_bits)
    s = int_values(where, f"{name}shift", shift, lo, hi)
    m_hi = (1 << 31) - 1 if rounding == "shift_only" else (1 << (bits - 1)) - 1
    m = int_values(where, f"{name}multiplier", multiplier, 0 if rounding != "shift_only" else -(1 << 31), m_hi)
    return m, s


def scale_pair(where: str, name: str, value: Any, rounding: str, bits: int) -> dict[str, int]:
    if isinstance(value, dict) and set(value) == {"multiplier", "shift"}:
        value = (value["multiplier"], value["shift"])
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise fail(where, f"argument '{name}' must be a (multiplier, shift) pair, got {value!r}")
    m, s = scale_values(where, f"{name}.", value[0], value[1], rounding, bits, 32)
    return {"multiplier": int(m), "shift": int(s)}


def out_dim(where: str, size: int, pad: int, extent: int, stride: int, axis: str = "h") -> int:
    if stride < 1:
        raise fail(where, f"argument 'stride_{axis}' = {stride} must be >= 1")
    out = (size + 2 * pad - extent) // stride + 1
    if out < 1:
        raise fail(where, "the window does not fit the padded input: pass 'output_shape' or fix the pads")
    return out


# ---- per-family preparation -------------------------------------------------


@dataclass
class Call:
    inputs: list[np.ndarray]  # activation inputs, in C argument order
    consts: dict[str, np.ndarray]  # arrays for cparams (weights, bias, multiplier, shift, luts)
    out_shape: tuple[int, ...]
    scalars: dict[str, Any]  # C scalar fields
    mode: dict[str, Any]


def conv2d_filter(where: str, x: np.ndarray, w: np.ndarray, scalars: dict) -> int:
    """Validate an OHWI filter against the input; returns C_out."""
    groups = kwint(where, scalars, "groups", 1)
    if groups < 1:
        raise fail(where, f"argument 'groups' = {groups} is outside [1, {x.shape[3]}]")
    if x.shape[3] % groups or w.shape[0] % groups or w.shape[3] * groups != x.shape[3]:
        raise fail(
            where,
            f"argument 'filter' {list(w.shape)} (OHWI) does not fit input channels {x.shape[3]} with groups={groups}",
        )
    return w.shape[0]


def depthwise_filter(where: str, x: np.ndarray, w: np.ndarray, scalars: dict) -> int:
    if w.shape[0] != 1 or w.shape[3] % x.shape[3]:
        raise fail(
            where,
            f"argument 'filter' {list(w.shape)} must be [1, KH, KW, C_in * depth_multiplier] with C_in = {x.shape[3]}",
        )
    return w.shape[3]


def fully_connected_filter(where: str, x: np.ndarray, w: np.ndarray, scalars: dict) -> int:
    if w.shape[1] != x.shape[1]:
        raise fail(where, f"argument 'filter' depth {w.shape[1]} differs from the input depth {x.shape[1]}")
    return w.shape[0]


def kwint(where: str, kw: dict, name: str, default: int) -> int:
    value = kw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise fail(where, f"argument '{name}' must be an integer, got {value!r}")
    return int(value)


def prep_weighted(where, spec, args, kw, check_filter: Callable[..., int], fc: bool = False) -> Call:
    if len(args) > 3:
        raise fail(where, "takes (input, filter, bias=None) positionally, the rest by keyword")
    input, filter, bias = (*args, None, None, None)[:3]
    input, filter, bias = kw.pop("input", input), kw.pop("filter", filter), kw.pop("bias", bias)
    x = array_arg(where, "input", input, spec.in_dtype, 2 if fc else 4)
    w = filter_arg(where, spec.op, spec.datapath, filter, kw)
    if is_packed(spec.datapath):
        lo, hi = WEIGHT_RANGE[spec.datapath]
        if int(w.min()) < lo or int(w.max()) > hi or (spec.datapath == "s1" and not np.all(w != 0)):
            raise fail(
                where,
                f"argument 'filter' has values in [{int(w.min())}, {int(w.max())}], outside "
                f"{WEIGHT_LABEL[spec.datapath]} [{lo}, {hi}]",
            )
    c_out = check_filter(where, x, w, kw)
    consts = {"weights": w}
    if bias is not None:
        consts["bias"] = array_arg(where, "bias", bias, BIAS[spec.datapath], 1)
        if consts["bias"].shape[0] != c_out:
            raise fail(where, f"argument 'bias' has {consts['bias'].shape[0]} entries, C_out is {c_out}")
    rounding, bits = kw.pop("rounding", "double"), kw.pop("multiplier_bits", 32)
    mode = mode_of(where, rounding, bits)
    mult, shift, prefix = requant_arg(where, kw)
    m, s = scale_values(where, prefix, mult, shift, rounding, int(bits), spec.acc_bits)
    m, s = m.reshape(-1), s.reshape(-1)
    if m.size != s.size or m.size not in (1, c_out):
        raise fail(
            where,
            f"arguments '{prefix}multiplier' ({m.size}) and '{prefix}shift' ({s.size}) need 1 or "
            f"C_out = {c_out} values each",
        )
    consts.update(multiplier=m.astype(np.int32), shift=s.astype(np.int32))
    out_shape = kw.pop("output_shape", None)
    if fc:
        out_shape = (x.shape[0], c_out) if out_shape is None else shape_arg(where, out_shape, 2)
    elif out_shape is None:
        dh, dw = kwint(where, kw, "dilation_h", 1), kwint(where, kw, "dilation_w", 1)
        out_shape = (
            x.shape[0],
            out_dim(
                where,
                x.shape[1],
                kwint(where, kw, "pad_top", 0),
                dh * (w.shape[1] - 1) + 1,
                kwint(where, kw, "stride_h", 1),
            ),
            out_dim(
                where,
                x.shape[2],
                kwint(where, kw, "pad_left", 0),
                dw * (w.shape[2] - 1) + 1,
                kwint(where, kw, "stride_w", 1),
                "w",
            ),
            c_out,
        )
    else:
        out_shape = shape_arg(where, out_shape, 4)
    return Call([x], consts, tuple(out_shape), kw, mode)


def prep_conv2d(where, spec, args, kw) -> Call:
    return prep_weighted(where, spec, args, kw, conv2d_filter)


def prep_depthwise_conv2d(where, spec, args, kw) -> Call:
    return prep_weighted(where, spec, args, kw, depthwise_filter)


def transpose_conv_filter(where: str, x: np.ndarray, w: np.ndarray, scalars: dict) -> int:
    """OHWI [C_out, KH, KW, C_in / groups], as conv2d's."""
    return conv2d_filter(where, x, w, scalars)


def prep_transpose_conv2d(where, spec, args, kw) -> Call:
    """Output shape: ``output_shape=``, else the full output cropped by pad_top / pad_left on both
    sides ((H - 1) * stride + (KH - 1) * dilation + 1 - 2 * pad_top; ONNX output_padding: pass
    ``output_shape``)."""
    if "output_shape" not in kw and args and isinstance(args[0], np.ndarray) and args[0].ndim == 4:
        x = args[0]
        w_shape = kw.get("filter_shape", np.shape(args[1]) if len(args) > 1 else np.shape(kw.get("filter")))
        if len(w_shape) == 4:
            full = [
                (x.shape[1 + a] - 1) * kwint(where, kw, f"stride_{d}", 1)
                + (w_shape[1 + a] - 1) * kwint(where, kw, f"dilation_{d}", 1)
                + 1
                - 2 * kwint(where, kw, pad, 0)
                for a, (d, pad) in enumerate((("h", "pad_top"), ("w", "pad_left")))
            ]
            if min(full) < 1:
                raise fail(where, "the pads crop the whole output: pass 'output_shape' or fix the pads")
            kw["output_shape"] = (x.shape[0], full[0], full[1], w_shape[0])
    return prep_weighted(where, spec, args, kw, transpose_conv_filter)


def prep_fully_connected(where, spec, args, kw) -> Call:
    return prep_weighted(where, spec, args, kw, fully_connected_filter, fc=True)


def broadcast(where: str, a: tuple, b: tuple) -> tuple[int, ...]:
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        raise fail(where, f"arguments 'input1' {list(a)} and 'input2' {list(b)} do not broadcast")
    return tuple(max(x, y) for x, y in zip(a, b))


def prep_binary(where, spec, args, kw) -> Call:
    if len(args) != 2:
        raise fail(where, "takes (input1, input2) positionally")
    x1 = array_arg(where, "input1", args[0], spec.in_dtype, 4)
    x2 = array_arg(where, "input2", args[1], spec.in_dtype, 4)
    out = kw.pop("output_shape", None)
    out = broadcast(where, x1.shape, x2.shape) if out is None else shape_arg(where, out, 4)
    return Call([x1, x2], {}, out, kw, mode_of(where, kw.pop("rounding", "double"), kw.pop("multiplier_bits", 32)))


def unary_input(where, spec, args, kw, nd: int | None) -> tuple[np.ndarray, dict[str, Any], Any]:
    """(input, mode, output_shape argument or None) of a one-input kernel."""
    if len(args) != 1:
        raise fail(where, "takes (input) positionally")
    x = array_arg(where, "input", args[0], spec.in_dtype, nd)
    mode = kernel_mode(where, spec, kw)
    return x, mode, kw.pop("output_shape", None)


def prep_unary(where, spec, args, kw) -> Call:
    """Output shape = input shape unless given."""
    x, mode, out = unary_input(where, spec, args, kw, None)
    out = x.shape if out is None else shape_arg(where, out, x.ndim)
    return Call([x], {}, tuple(out), kw, mode)


def prep_pool(where, spec, args, kw) -> Call:
    x, mode, out = unary_input(where, spec, args, kw, 4)
    if out is not None:
        return Call([x], {}, tuple(shape_arg(where, out, 4)), kw, mode)
    for name in ("filter_h", "filter_w"):
        if name not in kw:
            raise fail(where, f"argument '{name}' is missing")
    out = (
        x.shape[0],
        out_dim(
            where,
            x.shape[1],
            kwint(where, kw, "pad_top", 0),
            kwint(where, kw, "filter_h", 0),
            kwint(where, kw, "stride_h", 1),
        ),
        out_dim(
            where,
            x.shape[2],
            kwint(where, kw, "pad_left", 0),
            kwint(where, kw, "filter_w", 0),
            kwint(where, kw, "stride_w", 1),
            "w",
        ),
        x.shape[3],
    )
    return Call([x], {}, out, kw, mode)


def prep_pad(where, spec, args, kw) -> Call:
    x, mode, out = unary_input(where, spec, args, kw, 4)
    before = int_values(where, "pad_before", kw.get("pad_before", [0] * 4), 0, (1 << 31) - 1)
    after = int_values(where, "pad_after", kw.pop("pad_after", [0] * 4), 0, (1 << 31) - 1)
    if before.shape != (4,) or after.shape != (4,):
        raise fail(where, "arguments 'pad_before' / 'pad_after' must be 4 values (N, H, W, C)")
    kw["pad_before"] = [int(v) for v in before]
    out = tuple(int(d) for d in np.asarray(x.shape) + before + after) if out is None else shape_arg(where, out, 4)
    return Call([x], {}, tuple(out), kw, mode)


def prep_softmax(where, spec, args, kw) -> Call:
    """``axis``: the input axis normalized over (default the last); any other axis sets the C
    fields ``depth`` and ``inner`` ([outer, depth, inner])."""
    axis = kw.pop("axis", None)
    call = prep_unary(where, spec, args, kw)
    if axis is not None:
        shape = call.inputs[0].shape
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -len(shape) <= axis < len(shape):
            raise fail(where, f"argument 'axis' must be an axis of the {len(shape)}-D input, got {axis!r}")
        axis = int(axis) % len(shape)
        if axis != len(shape) - 1:
            kw.update(depth=int(shape[axis]), inner=int(np.prod(shape[axis + 1 :], dtype=np.int64)))
    for lut in ("exp_lut", "one_over_one_plus_x_lut"):
        if spec.datapath == "s16" or kw.get(lut) is not None:
            call.consts[lut] = array_arg(where, lut, kw.pop(lut, None), np.int16, 1)
            if call.consts[lut].shape[0] != 513:
                raise fail(where, f"argument '{lut}' must have 513 entries, got {call.consts[lut].shape[0]}")
        kw.pop(lut, None)
    return call


def prep_concat(where, spec, args, kw) -> Call:
    if len(args) != 1 or not isinstance(args[0], (list, tuple)) or not 1 <= len(args[0]) <= 8:
        raise fail(where, "takes (inputs) positionally: a list of 1..8 NHWC arrays")
    xs = [array_arg(where, f"inputs[{i}]", x, spec.in_dtype, 4) for i, x in enumerate(args[0])]
    axis = kw.pop("axis", 3)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not 0 <= axis <= 3:
        raise fail(where, f"argument 'axis' must be 0..3 (NHWC), got {axis!r}")
    for i, x in enumerate(xs):
        if [d for a, d in enumerate(x.shape) if a != axis] != [d for a, d in enumerate(xs[0].shape) if a != axis]:
            raise fail(
                where,
                f"argument 'inputs[{i}]' {list(x.shape)} differs from inputs[0] "
                f"{list(xs[0].shape)} outside axis {axis}",
            )
    out = list(xs[0].shape)
    out[axis] = sum(x.shape[axis] for x in xs)
    outer, inner = int(np.prod(out[:axis], dtype=np.int64)), int(np.prod(out[axis + 1 :], dtype=np.int64))
    kw.update(outer=outer, inner=inner, axis_size=[x.shape[axis] for x in xs])
    kw.setdefault("input_offset", [0] * len(xs))
    return Call(xs, {}, tuple(out), kw, mode_of(where, kw.pop("rounding", "double"), kw.pop("multiplier_bits", 32)))
