"""Every kernel of the reference C runtime, callable with numpy arrays.

One wrapper per C function of ``runtime/include/fp_runtime.h``, named without
the ``fp_`` prefix (``conv2d_s8``, ``add_s16``, ``requantize_s8_s16``, ...),
plus ``<kernel>_scratch_size`` for the kernels that take scratch. The
wrappers are generated from one table (:data:`KERNEL_SPECS`); the C params
struct is filled by ``fixpoint.cparams``, the same code that serves the
simulator and the code generator. Use them to check any kernel against
external conformance vectors (TFLite / CMSIS-NN use the same conventions).

Conventions
-----------
* Arrays are numpy arrays of the exact dtype, C-contiguous, every dim >= 1.
  Activations NHWC: int8 for ``*_s8`` / ``*_s4``, int16 for ``*_s16`` /
  ``*_s16_acc32`` (zero point 0); ``softmax_s8_s16`` and ``requantize_a_b``
  go from type a to type b. Filters int8: conv2d OHWI
  ``[C_out, KH, KW, C_in/groups]``; depthwise ``[1, KH, KW, C_out]``
  (``C_out = C_in * depth_multiplier``); fully connected ``[C_out, depth]``
  with input ``[batches, depth]``. The ``*_s4`` kernels take the *unpacked*
  int4 values (int8 in [-8, 7]) and pack them (element 2k in the low nibble of
  byte k), or the packed bytes (1-D int8 / uint8, ceil(n/2) bytes) with
  ``filter_shape=`` giving the unpacked dims. Bias: int32 ``[C_out]`` (s8, s4,
  s16_acc32), int64 (s16), or None. The s16 wrappers given an int32 bias run
  the ``*_s16_acc32`` kernel: TFLite picks its 16x8 path by the bias type
  (int64: 64-bit accumulator, Q15 multiplier; int32 or none: int32
  accumulator, Q31 multiplier), so TFLite's bias-less 16x8 layer is
  ``*_s16_acc32(x, w, None, ...)``.
* Keyword parameters are the C field names of the params struct
  (``stride_h``, ``pad_top``, ``input_offset``, ``act_min``, ...); dims come
  from the arrays. Offsets follow TFLite: ``input_offset = -input_zero_point``,
  ``output_offset = +output_zero_point``, ``filter_offset = -filter_zero_point``,
  accepted over every value the kernel computes exactly (int8 tensors: any
  int32, except the weighted kernels' input / filter offsets, whose products
  must fit int32; int16 tensors: 0), see ``fixpoint.sim.kernel_args``.
  Omitted: strides/dilations 1, pads 0, groups 1, offsets 0, act range = the
  output type's full range.
* Requantization: ``multiplier`` is Q(multiplier_bits - 1) with
  ``0 <= m < 2^(multiplier_bits-1)`` (ignored by ``shift_only``); ``shift > 0``
  shifts left; ``rounding`` is ``"double"`` (TFLite default), ``"single"`` or
  ``"shift_only"``; the shift must lie in
  ``fixpoint.reference.requant.shift_range(rounding, multiplier_bits, acc_bits)``,
  ``acc_bits`` 64 for the s16 conv / depthwise / fully connected kernels, else
  32. ``rounding`` / ``multiplier_bits`` given to a kernel without a mode
  (pools, softmax, pad) is an error.
* One spelling for a (multiplier, shift) pair: ``(multiplier, shift)`` under
  the C field's name, i.e. the ``fp_scale_t`` fields (``input1_scale``,
  ``output_scale``, ``scale``, concat's ``input_scale`` list, ...) and the
  weighted kernels' ``requant=(multiplier, shift)``, each member 1 or C_out
  values. The weighted kernels also take ``multiplier=`` / ``shift=``
  (the ``fp_requant_t`` array names; not together with ``requant``); a dict
  ``{"multiplier": m, "shift": s}`` is accepted wherever a pair is.
* Output shape: ``output_shape=`` when given; otherwise conv2d / depthwise /
  pools assume symmetric padding (bottom = top, right = left), pad uses
  ``pad_after``, add / mul broadcast (a dim of 1 broadcasts), the rest keep
  the input's shape.

Every wrong argument (dtype, shape, layout, range, size mismatch) raises
:class:`KernelArgumentError`, one line naming the argument; a kernel status
other than FP_OK raises it too. Nothing here can crash the interpreter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .. import cparams
from ..ops.registry import runtime_refs
from ..ops.runtime_ops import RUNTIME_OPS
from ..plan import RequantProfile
from ..reference.lowbit import WEIGHT_LABEL, WEIGHT_RANGE, is_packed
from ..reference.requant import shift_range
from . import native
from .cstruct import CArrays, new_struct, status_name
from .kernel_args import (MODELESS_OPS, KernelArgumentError, array_arg, check_offsets, check_scalar_ranges,
                          filter_arg, int_values, requant_arg, shape_arg)

# s16_acc32: int16 x int8 with an int32 bias (or none), TFLite's 32-bit 16x8 path
ACT = {"s8": np.int8, "s4": np.int8, "s16": np.int16, "s16_acc32": np.int16, "s2": np.int8, "s1": np.int8}
BIAS = {"s8": np.int32, "s4": np.int32, "s16": np.int64, "s16_acc32": np.int32, "s2": np.int32, "s1": np.int32}
CPTR = {np.dtype(np.int8): "int8_t[]", np.dtype(np.int16): "int16_t[]"}
# zero-point fields that default to 0 in the wrappers (registry rows' offset_fields)
OFFSET_FIELDS: dict[str, tuple[str, ...]] = {key: row.offset_fields for key, row in RUNTIME_OPS.items()
                                             if row.offset_fields}
SCALE_FIELDS = ("input1_scale", "input2_scale", "output_scale", "identity_scale", "alpha_scale", "scale")


@dataclass(frozen=True)
class KernelSpec:
    name: str           # Python name = C name without "fp_"
    op: str             # fixpoint.ops.runtime_ops key, selects the cparams builder
    datapath: str       # "s8" | "s4" | "s16" | "s16_acc32" | "s2" | "s1"
    family: str         # "weighted" | "binary" | "unary" | "concat"
    in_dtype: type
    out_dtype: type

    @property
    def params_datapath(self) -> str:
        """The fp_datapath_t whose params rules the C struct follows (s16_acc32: s16)."""
        return "s16" if self.datapath == "s16_acc32" else self.datapath

    @property
    def has_mode(self) -> bool:
        """Whether the C params carry an fp_rq_mode_t (rounding / multiplier_bits)."""
        return self.op not in MODELESS_OPS

    @property
    def cname(self) -> str:
        return "fp_" + self.name

    @property
    def struct(self) -> str:
        return cparams.RUNTIME_OPS[self.op].params_struct

    @property
    def acc_bits(self) -> int:
        return 64 if self.family == "weighted" and self.datapath == "s16" else 32


def _specs() -> list[KernelSpec]:
    """One wrapper per distinct C kernel of every registry row with a sim_family."""
    return [KernelSpec(cname[len("fp_"):], key, in_dp, row.sim_family, ACT[in_dp], ACT[out_dp])
            for key, row in RUNTIME_OPS.items() if row.sim_family
            for cname, in_dp, out_dp in row.c_kernels()]


KERNEL_SPECS: dict[str, KernelSpec] = {s.name: s for s in _specs()}


# ---- argument checks ------------------------------------------------------

def _fail(where: str, message: str) -> KernelArgumentError:
    return KernelArgumentError(f"{where}: {message}")


def _no_mode(where: str, spec: KernelSpec, kw: dict) -> dict[str, Any]:
    """The (unused) default mode of a kernel whose C params have none; passing one is an error."""
    for name in ("rounding", "multiplier_bits"):
        if name in kw:
            raise _fail(where, f"argument '{name}' does not apply: {spec.cname} has no rounding choice")
    return cparams.rq_mode(RequantProfile())


def _kernel_mode(where: str, spec: KernelSpec, kw: dict) -> dict[str, Any]:
    if not spec.has_mode:
        return _no_mode(where, spec, kw)
    return _mode(where, kw.pop("rounding", "double"), kw.pop("multiplier_bits", 32))


def _mode(where: str, rounding: Any, multiplier_bits: Any) -> dict[str, Any]:
    if rounding not in cparams.ROUNDING_ENUM:
        raise _fail(where, f"argument 'rounding' must be one of {sorted(cparams.ROUNDING_ENUM)}, got {rounding!r}")
    if isinstance(multiplier_bits, bool) or not isinstance(multiplier_bits, (int, np.integer)) \
            or not 2 <= int(multiplier_bits) <= 32:
        raise _fail(where, f"argument 'multiplier_bits' must be an integer in 2..32, got {multiplier_bits!r}")
    return cparams.rq_mode(RequantProfile(rounding=rounding, multiplier_bits=int(multiplier_bits)))


def _scale_values(where: str, name: str, multiplier: Any, shift: Any, rounding: str, bits: int,
                  acc_bits: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = shift_range(rounding, bits, acc_bits)
    s = int_values(where, f"{name}shift", shift, lo, hi)
    m_hi = (1 << 31) - 1 if rounding == "shift_only" else (1 << (bits - 1)) - 1
    m = int_values(where, f"{name}multiplier", multiplier, 0 if rounding != "shift_only" else -(1 << 31), m_hi)
    return m, s


def _scale_pair(where: str, name: str, value: Any, rounding: str, bits: int) -> dict[str, int]:
    if isinstance(value, dict) and set(value) == {"multiplier", "shift"}:
        value = (value["multiplier"], value["shift"])
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise _fail(where, f"argument '{name}' must be a (multiplier, shift) pair, got {value!r}")
    m, s = _scale_values(where, f"{name}.", value[0], value[1], rounding, bits, 32)
    return {"multiplier": int(m), "shift": int(s)}


def _out_dim(where: str, size: int, pad: int, extent: int, stride: int, axis: str = "h") -> int:
    if stride < 1:
        raise _fail(where, f"argument 'stride_{axis}' = {stride} must be >= 1")
    out = (size + 2 * pad - extent) // stride + 1
    if out < 1:
        raise _fail(where, "the window does not fit the padded input: pass 'output_shape' or fix the pads")
    return out


# ---- per-family preparation -------------------------------------------------

@dataclass
class _Call:
    inputs: list[np.ndarray]           # activation inputs, in C argument order
    consts: dict[str, np.ndarray]      # arrays for cparams (weights, bias, multiplier, shift, luts)
    out_shape: tuple[int, ...]
    scalars: dict[str, Any]            # C scalar fields
    mode: dict[str, Any]


def _conv2d_filter(where: str, x: np.ndarray, w: np.ndarray, scalars: dict) -> int:
    """Validate an OHWI filter against the input; returns C_out."""
    groups = _kwint(where, scalars, "groups", 1)
    if groups < 1:
        raise _fail(where, f"argument 'groups' = {groups} is outside [1, {x.shape[3]}]")
    if x.shape[3] % groups or w.shape[0] % groups or w.shape[3] * groups != x.shape[3]:
        raise _fail(where, f"argument 'filter' {list(w.shape)} (OHWI) does not fit input channels "
                           f"{x.shape[3]} with groups={groups}")
    return w.shape[0]


def _depthwise_filter(where: str, x: np.ndarray, w: np.ndarray, scalars: dict) -> int:
    if w.shape[0] != 1 or w.shape[3] % x.shape[3]:
        raise _fail(where, f"argument 'filter' {list(w.shape)} must be [1, KH, KW, C_in * depth_multiplier] "
                           f"with C_in = {x.shape[3]}")
    return w.shape[3]


def _fully_connected_filter(where: str, x: np.ndarray, w: np.ndarray, scalars: dict) -> int:
    if w.shape[1] != x.shape[1]:
        raise _fail(where, f"argument 'filter' depth {w.shape[1]} differs from the input depth {x.shape[1]}")
    return w.shape[0]


def _kwint(where: str, kw: dict, name: str, default: int) -> int:
    value = kw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise _fail(where, f"argument '{name}' must be an integer, got {value!r}")
    return int(value)


def _prep_weighted(where, spec, args, kw, check_filter: Callable[..., int], fc: bool = False) -> _Call:
    if len(args) > 3:
        raise _fail(where, "takes (input, filter, bias=None) positionally, the rest by keyword")
    input, filter, bias = (*args, None, None, None)[:3]
    input, filter, bias = kw.pop("input", input), kw.pop("filter", filter), kw.pop("bias", bias)
    x = array_arg(where, "input", input, spec.in_dtype, 2 if fc else 4)
    w = filter_arg(where, spec.op, spec.datapath, filter, kw)
    if is_packed(spec.datapath):
        lo, hi = WEIGHT_RANGE[spec.datapath]
        if int(w.min()) < lo or int(w.max()) > hi or (spec.datapath == "s1" and not np.all(w != 0)):
            raise _fail(where, f"argument 'filter' has values in [{int(w.min())}, {int(w.max())}], outside "
                               f"{WEIGHT_LABEL[spec.datapath]} [{lo}, {hi}]")
    c_out = check_filter(where, x, w, kw)
    consts = {"weights": w}
    if bias is not None:
        consts["bias"] = array_arg(where, "bias", bias, BIAS[spec.datapath], 1)
        if consts["bias"].shape[0] != c_out:
            raise _fail(where, f"argument 'bias' has {consts['bias'].shape[0]} entries, C_out is {c_out}")
    rounding, bits = kw.pop("rounding", "double"), kw.pop("multiplier_bits", 32)
    mode = _mode(where, rounding, bits)
    mult, shift, prefix = requant_arg(where, kw)
    m, s = _scale_values(where, prefix, mult, shift, rounding, int(bits), spec.acc_bits)
    m, s = m.reshape(-1), s.reshape(-1)
    if m.size != s.size or m.size not in (1, c_out):
        raise _fail(where, f"arguments '{prefix}multiplier' ({m.size}) and '{prefix}shift' ({s.size}) need 1 or "
                           f"C_out = {c_out} values each")
    consts.update(multiplier=m.astype(np.int32), shift=s.astype(np.int32))
    out_shape = kw.pop("output_shape", None)
    if fc:
        out_shape = (x.shape[0], c_out) if out_shape is None else shape_arg(where, out_shape, 2)
    elif out_shape is None:
        dh, dw = _kwint(where, kw, "dilation_h", 1), _kwint(where, kw, "dilation_w", 1)
        out_shape = (x.shape[0],
                     _out_dim(where, x.shape[1], _kwint(where, kw, "pad_top", 0), dh * (w.shape[1] - 1) + 1,
                              _kwint(where, kw, "stride_h", 1)),
                     _out_dim(where, x.shape[2], _kwint(where, kw, "pad_left", 0), dw * (w.shape[2] - 1) + 1,
                              _kwint(where, kw, "stride_w", 1), "w"), c_out)
    else:
        out_shape = shape_arg(where, out_shape, 4)
    return _Call([x], consts, tuple(out_shape), kw, mode)


def _prep_conv2d(where, spec, args, kw) -> _Call:
    return _prep_weighted(where, spec, args, kw, _conv2d_filter)


def _prep_depthwise_conv2d(where, spec, args, kw) -> _Call:
    return _prep_weighted(where, spec, args, kw, _depthwise_filter)


def _transpose_conv_filter(where: str, x: np.ndarray, w: np.ndarray, scalars: dict) -> int:
    """OHWI [C_out, KH, KW, C_in / groups], as conv2d's."""
    return _conv2d_filter(where, x, w, scalars)


def _prep_transpose_conv2d(where, spec, args, kw) -> _Call:
    """Output shape: ``output_shape=``, else the full output cropped by pad_top / pad_left on both
    sides ((H - 1) * stride + (KH - 1) * dilation + 1 - 2 * pad_top; ONNX output_padding: pass
    ``output_shape``)."""
    if "output_shape" not in kw and args and isinstance(args[0], np.ndarray) and args[0].ndim == 4:
        x = args[0]
        w_shape = kw.get("filter_shape", np.shape(args[1]) if len(args) > 1 else np.shape(kw.get("filter")))
        if len(w_shape) == 4:
            full = [(x.shape[1 + a] - 1) * _kwint(where, kw, f"stride_{d}", 1)
                    + (w_shape[1 + a] - 1) * _kwint(where, kw, f"dilation_{d}", 1) + 1
                    - 2 * _kwint(where, kw, pad, 0) for a, (d, pad) in enumerate((("h", "pad_top"), ("w", "pad_left")))]
            if min(full) < 1:
                raise _fail(where, "the pads crop the whole output: pass 'output_shape' or fix the pads")
            kw["output_shape"] = (x.shape[0], full[0], full[1], w_shape[0])
    return _prep_weighted(where, spec, args, kw, _transpose_conv_filter)


def _prep_fully_connected(where, spec, args, kw) -> _Call:
    return _prep_weighted(where, spec, args, kw, _fully_connected_filter, fc=True)


def _broadcast(where: str, a: tuple, b: tuple) -> tuple[int, ...]:
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        raise _fail(where, f"arguments 'input1' {list(a)} and 'input2' {list(b)} do not broadcast")
    return tuple(max(x, y) for x, y in zip(a, b))


def _prep_binary(where, spec, args, kw) -> _Call:
    if len(args) != 2:
        raise _fail(where, "takes (input1, input2) positionally")
    x1 = array_arg(where, "input1", args[0], spec.in_dtype, 4)
    x2 = array_arg(where, "input2", args[1], spec.in_dtype, 4)
    out = kw.pop("output_shape", None)
    out = _broadcast(where, x1.shape, x2.shape) if out is None else shape_arg(where, out, 4)
    return _Call([x1, x2], {}, out, kw, _mode(where, kw.pop("rounding", "double"), kw.pop("multiplier_bits", 32)))


def _unary_input(where, spec, args, kw, nd: int | None) -> tuple[np.ndarray, dict[str, Any], Any]:
    """(input, mode, output_shape argument or None) of a one-input kernel."""
    if len(args) != 1:
        raise _fail(where, "takes (input) positionally")
    x = array_arg(where, "input", args[0], spec.in_dtype, nd)
    mode = _kernel_mode(where, spec, kw)
    return x, mode, kw.pop("output_shape", None)


def _prep_unary(where, spec, args, kw) -> _Call:
    """Output shape = input shape unless given."""
    x, mode, out = _unary_input(where, spec, args, kw, None)
    out = x.shape if out is None else shape_arg(where, out, x.ndim)
    return _Call([x], {}, tuple(out), kw, mode)


def _prep_pool(where, spec, args, kw) -> _Call:
    x, mode, out = _unary_input(where, spec, args, kw, 4)
    if out is not None:
        return _Call([x], {}, tuple(shape_arg(where, out, 4)), kw, mode)
    for name in ("filter_h", "filter_w"):
        if name not in kw:
            raise _fail(where, f"argument '{name}' is missing")
    out = (x.shape[0],
           _out_dim(where, x.shape[1], _kwint(where, kw, "pad_top", 0), _kwint(where, kw, "filter_h", 0),
                    _kwint(where, kw, "stride_h", 1)),
           _out_dim(where, x.shape[2], _kwint(where, kw, "pad_left", 0), _kwint(where, kw, "filter_w", 0),
                    _kwint(where, kw, "stride_w", 1), "w"),
           x.shape[3])
    return _Call([x], {}, out, kw, mode)


def _prep_pad(where, spec, args, kw) -> _Call:
    x, mode, out = _unary_input(where, spec, args, kw, 4)
    before = int_values(where, "pad_before", kw.get("pad_before", [0] * 4), 0, (1 << 31) - 1)
    after = int_values(where, "pad_after", kw.pop("pad_after", [0] * 4), 0, (1 << 31) - 1)
    if before.shape != (4,) or after.shape != (4,):
        raise _fail(where, "arguments 'pad_before' / 'pad_after' must be 4 values (N, H, W, C)")
    kw["pad_before"] = [int(v) for v in before]
    out = tuple(int(d) for d in np.asarray(x.shape) + before + after) if out is None \
        else shape_arg(where, out, 4)
    return _Call([x], {}, tuple(out), kw, mode)


def _prep_softmax(where, spec, args, kw) -> _Call:
    """``axis``: the input axis normalized over (default the last); any other axis sets the C
    fields ``depth`` and ``inner`` ([outer, depth, inner])."""
    axis = kw.pop("axis", None)
    call = _prep_unary(where, spec, args, kw)
    if axis is not None:
        shape = call.inputs[0].shape
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -len(shape) <= axis < len(shape):
            raise _fail(where, f"argument 'axis' must be an axis of the {len(shape)}-D input, got {axis!r}")
        axis = int(axis) % len(shape)
        if axis != len(shape) - 1:
            kw.update(depth=int(shape[axis]), inner=int(np.prod(shape[axis + 1:], dtype=np.int64)))
    for lut in ("exp_lut", "one_over_one_plus_x_lut"):
        if spec.datapath == "s16" or kw.get(lut) is not None:
            call.consts[lut] = array_arg(where, lut, kw.pop(lut, None), np.int16, 1)
            if call.consts[lut].shape[0] != 513:
                raise _fail(where, f"argument '{lut}' must have 513 entries, got {call.consts[lut].shape[0]}")
        kw.pop(lut, None)
    return call


def _prep_concat(where, spec, args, kw) -> _Call:
    if len(args) != 1 or not isinstance(args[0], (list, tuple)) or not 1 <= len(args[0]) <= 8:
        raise _fail(where, "takes (inputs) positionally: a list of 1..8 NHWC arrays")
    xs = [array_arg(where, f"inputs[{i}]", x, spec.in_dtype, 4) for i, x in enumerate(args[0])]
    axis = kw.pop("axis", 3)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not 0 <= axis <= 3:
        raise _fail(where, f"argument 'axis' must be 0..3 (NHWC), got {axis!r}")
    for i, x in enumerate(xs):
        if [d for a, d in enumerate(x.shape) if a != axis] != [d for a, d in enumerate(xs[0].shape) if a != axis]:
            raise _fail(where, f"argument 'inputs[{i}]' {list(x.shape)} differs from inputs[0] "
                               f"{list(xs[0].shape)} outside axis {axis}")
    out = list(xs[0].shape)
    out[axis] = sum(x.shape[axis] for x in xs)
    outer, inner = int(np.prod(out[:axis], dtype=np.int64)), int(np.prod(out[axis + 1:], dtype=np.int64))
    kw.update(outer=outer, inner=inner, axis_size=[x.shape[axis] for x in xs])
    kw.setdefault("input_offset", [0] * len(xs))
    return _Call(xs, {}, tuple(out), kw,
                 _mode(where, kw.pop("rounding", "double"), kw.pop("multiplier_bits", 32)))


# runtime op key -> argument preparation (registry rows' sim_prepare)
PREPARE: dict[str, Callable[..., _Call]] = runtime_refs("sim_prepare")


# ---- building the params struct and calling C ------------------------------

def _scalar_fields(where: str, spec: KernelSpec, call: _Call) -> dict[str, Any]:
    rounding = next(k for k, v in cparams.ROUNDING_ENUM.items() if v == call.mode["rounding"])
    bits = call.mode["multiplier_bits"]
    fields = dict(call.scalars)
    for name in SCALE_FIELDS:
        if name in fields:
            fields[name] = _scale_pair(where, name, fields[name], rounding, bits)
    if spec.family == "concat" and "input_scale" in fields:
        scales = fields["input_scale"]
        if not isinstance(scales, (list, tuple)) or len(scales) != len(call.inputs):
            raise _fail(where, f"argument 'input_scale' must be {len(call.inputs)} (multiplier, shift) pairs")
        fields["input_scale"] = [_scale_pair(where, f"input_scale[{i}]", v, rounding, bits)
                                 for i, v in enumerate(scales)]
    lo, hi = cparams.DTYPE_RANGE[np.dtype(spec.out_dtype).name]
    in16, out16 = np.dtype(spec.in_dtype) == np.int16, np.dtype(spec.out_dtype) == np.int16
    check_offsets(where, spec.op, spec.family, in16, out16, fields)
    check_scalar_ranges(where, spec.op, in16, (lo, hi), fields)
    for name in ("act_min", "act_max"):
        if name in fields and not (isinstance(fields[name], (int, np.integer)) and lo <= fields[name] <= hi):
            raise _fail(where, f"argument '{name}' must be an integer in [{lo}, {hi}], got {fields[name]!r}")
    if fields.get("act_min", lo) > fields.get("act_max", hi):
        raise _fail(where, f"argument 'act_min' {fields['act_min']} exceeds 'act_max' {fields['act_max']}")
    for name in OFFSET_FIELDS.get(spec.op, ()):
        fields.setdefault(name, 0)
    return fields


def _params(where: str, spec: KernelSpec, call: _Call) -> tuple[Any, CArrays]:
    fields = _scalar_fields(where, spec, call)
    ctx = cparams.OpContext(spec.params_datapath, [x.shape for x in call.inputs], call.out_shape, call.consts,
                            fields, call.mode, out_dtype=np.dtype(spec.out_dtype).name)
    try:
        values = cparams.op_params(spec.op, ctx)
        # the bias was checked to be exactly BIAS[datapath] (int32 for s16_acc32, unlike a plan's s16 layer)
        arrays = CArrays({name: np.ascontiguousarray(arr.reshape(-1)) if name == "bias"
                          else cparams.convert_array(name, arr, spec.params_datapath, spec.op)
                          for name, arr in call.consts.items() if name != "state"})
        if "state" in call.consts:   # a recurrent kernel's streaming state: the caller's buffer, in place
            arrays.set_pointer("state", native.ffi().from_buffer("uint8_t[]", call.consts["state"]))
    except cparams.CParamsError as exc:
        raise _fail(where, str(exc).replace("params field", "argument")) from None
    try:
        return new_struct(spec.struct, values, arrays), arrays
    except (OverflowError, TypeError, KeyError) as exc:
        raise _fail(where, f"a parameter does not fit its C field ({exc})") from None


def _pointer(arr: np.ndarray) -> Any:
    return native.ffi().from_buffer(CPTR[arr.dtype], arr)


def _run(spec: KernelSpec, args: tuple, kw: dict, scratch_only: bool = False) -> Any:
    where = spec.name + ("_scratch_size" if scratch_only else "")
    call = PREPARE[spec.op](where, spec, args, dict(kw))
    params, arrays = _params(where, spec, call)
    ffi, lib = native.ffi(), native.lib()
    fn = getattr(lib, spec.cname)
    out = np.zeros(call.out_shape, dtype=spec.out_dtype)
    ins = [_pointer(x) for x in call.inputs]
    if spec.family == "weighted":
        size = int(getattr(lib, spec.cname + "_scratch_size")(params))
        if scratch_only:
            return size
        scratch = ffi.new("uint8_t[]", size) if size else ffi.NULL
        bias = arrays.pointers.get("bias", ffi.NULL)
        status = fn(params, ins[0], arrays.pointers["weights"], bias, _pointer(out), scratch)
    elif spec.family == "concat":
        table = ffi.new(f"const {CPTR[np.dtype(spec.in_dtype)][:-2]} *[]", ins)
        status = fn(params, table, _pointer(out))
    else:
        status = fn(params, *ins, _pointer(out))
    if status != lib.FP_OK:
        raise _fail(where, f"the kernel returned {status_name(status)} (a parameter is outside its legal range)")
    return out


def _bias_variant(spec: KernelSpec, args: tuple, kw: dict) -> KernelSpec:
    """An s16 weighted wrapper given an int32 bias runs the s16_acc32 kernel, as TFLite
    picks its 16x8 path by the bias type (int64: 64-bit path; int32: 32-bit path)."""
    bias = args[2] if len(args) > 2 else kw.get("bias")
    if spec.family == "weighted" and spec.datapath == "s16" and isinstance(bias, np.ndarray) \
            and bias.dtype == np.int32:
        return KERNEL_SPECS.get(f"{spec.op}_s16_acc32", spec)  # ops without a 32-bit 16x8 kernel: refused
    return spec


def _make(spec: KernelSpec, scratch_only: bool = False) -> Callable[..., Any]:
    def kernel(*args: Any, **kwargs: Any) -> Any:
        return _run(_bias_variant(spec, args, kwargs), args, kwargs, scratch_only)

    kernel.__name__ = kernel.__qualname__ = spec.name + ("_scratch_size" if scratch_only else "")
    kernel.__doc__ = (f"``{spec.cname}{'_scratch_size' if scratch_only else ''}`` "
                      f"({spec.family} {spec.op}, datapath {spec.datapath}); conventions: module docstring.")
    return kernel


def _acc(bits: int) -> Callable[..., Any]:
    info = np.iinfo(np.int32 if bits == 32 else np.int64)

    def requantize_acc(acc: Any, multiplier: Any, shift: Any, rounding: str = "double",
                       multiplier_bits: int = 32) -> np.ndarray:
        where = f"requantize_acc{bits}"
        mode = _mode(where, rounding, multiplier_bits)
        a = int_values(where, "acc", acc, int(info.min), int(info.max))
        m, s = _scale_values(where, "", multiplier, shift, rounding, int(multiplier_bits), bits)
        try:
            a, m, s = np.broadcast_arrays(a, m, s)
        except ValueError:
            raise _fail(where, "arguments 'acc', 'multiplier' and 'shift' do not broadcast") from None
        fn = getattr(native.lib(), f"fp_requantize_acc{bits}")
        cmode = new_struct("fp_rq_mode_t", mode)[0]
        out = [fn(int(x), int(y), int(z), cmode) for x, y, z in zip(a.reshape(-1), m.reshape(-1), s.reshape(-1))]
        return np.asarray(out, dtype=np.int32).reshape(a.shape)

    requantize_acc.__name__ = requantize_acc.__qualname__ = f"requantize_acc{bits}"
    requantize_acc.__doc__ = (f"``fp_requantize_acc{bits}`` elementwise over broadcast int{bits} accumulators, "
                              "multipliers and shifts; returns int32.")
    return requantize_acc


KERNELS: dict[str, Callable[..., Any]] = {name: _make(spec) for name, spec in KERNEL_SPECS.items()}
KERNELS.update({f"{name}_scratch_size": _make(spec, True)
                for name, spec in KERNEL_SPECS.items() if spec.family == "weighted"})
KERNELS.update(requantize_acc32=_acc(32), requantize_acc64=_acc(64))
globals().update(KERNELS)
__all__ = ["KernelArgumentError", "KERNELS", "KERNEL_SPECS", *KERNELS]
