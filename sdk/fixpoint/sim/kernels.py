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
from . import native
from .cstruct import CArrays, new_struct, status_name
from .kernel_prep import Call, fail, mode_of, scale_pair, scale_values
from .kernel_args import MODELESS_OPS, KernelArgumentError, check_offsets, check_scalar_ranges, int_values

# s16_acc32: int16 x int8 with an int32 bias (or none), TFLite's 32-bit 16x8 path
ACT = {"s8": np.int8, "s4": np.int8, "s16": np.int16, "s16_acc32": np.int16, "s2": np.int8, "s1": np.int8}
CPTR = {np.dtype(np.int8): "int8_t[]", np.dtype(np.int16): "int16_t[]"}
# zero-point fields that default to 0 in the wrappers (registry rows' offset_fields)
OFFSET_FIELDS: dict[str, tuple[str, ...]] = {
    key: row.offset_fields for key, row in RUNTIME_OPS.items() if row.offset_fields
}
SCALE_FIELDS = ("input1_scale", "input2_scale", "output_scale", "identity_scale", "alpha_scale", "scale")


@dataclass(frozen=True)
class KernelSpec:
    name: str  # Python name = C name without "fp_"
    op: str  # fixpoint.ops.runtime_ops key, selects the cparams builder
    datapath: str  # "s8" | "s4" | "s16" | "s16_acc32" | "s2" | "s1"
    family: str  # "weighted" | "binary" | "unary" | "concat"
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
    return [
        KernelSpec(cname[len("fp_") :], key, in_dp, row.sim_family, ACT[in_dp], ACT[out_dp])
        for key, row in RUNTIME_OPS.items()
        if row.sim_family
        for cname, in_dp, out_dp in row.c_kernels()
    ]


KERNEL_SPECS: dict[str, KernelSpec] = {s.name: s for s in _specs()}


# runtime op key -> argument preparation (registry rows' sim_prepare)
PREPARE: dict[str, Callable[..., Call]] = runtime_refs("sim_prepare")


# ---- building the params struct and calling C ------------------------------


def _scalar_fields(where: str, spec: KernelSpec, call: Call) -> dict[str, Any]:
    rounding = next(k for k, v in cparams.ROUNDING_ENUM.items() if v == call.mode["rounding"])
    bits = call.mode["multiplier_bits"]
    fields = dict(call.scalars)
    for name in SCALE_FIELDS:
        if name in fields:
            fields[name] = scale_pair(where, name, fields[name], rounding, bits)
    if spec.family == "concat" and "input_scale" in fields:
        scales = fields["input_scale"]
        if not isinstance(scales, (list, tuple)) or len(scales) != len(call.inputs):
            raise fail(where, f"argument 'input_scale' must be {len(call.inputs)} (multiplier, shift) pairs")
        fields["input_scale"] = [
            scale_pair(where, f"input_scale[{i}]", v, rounding, bits) for i, v in enumerate(scales)
        ]
    lo, hi = cparams.DTYPE_RANGE[np.dtype(spec.out_dtype).name]
    in16, out16 = np.dtype(spec.in_dtype) == np.int16, np.dtype(spec.out_dtype) == np.int16
    check_offsets(where, spec.op, spec.family, in16, out16, fields)
    check_scalar_ranges(where, spec.op, in16, (lo, hi), fields)
    for name in ("act_min", "act_max"):
        if name in fields and not (isinstance(fields[name], (int, np.integer)) and lo <= fields[name] <= hi):
            raise fail(where, f"argument '{name}' must be an integer in [{lo}, {hi}], got {fields[name]!r}")
    if fields.get("act_min", lo) > fields.get("act_max", hi):
        raise fail(where, f"argument 'act_min' {fields['act_min']} exceeds 'act_max' {fields['act_max']}")
    for name in OFFSET_FIELDS.get(spec.op, ()):
        fields.setdefault(name, 0)
    return fields


def _params(where: str, spec: KernelSpec, call: Call) -> tuple[Any, CArrays]:
    fields = _scalar_fields(where, spec, call)
    ctx = cparams.OpContext(
        spec.params_datapath,
        [x.shape for x in call.inputs],
        call.out_shape,
        call.consts,
        fields,
        call.mode,
        out_dtype=np.dtype(spec.out_dtype).name,
    )
    try:
        values = cparams.op_params(spec.op, ctx)
        # the bias was checked to be exactly BIAS[datapath] (int32 for s16_acc32, unlike a plan's s16 layer)
        arrays = CArrays(
            {
                name: np.ascontiguousarray(arr.reshape(-1))
                if name == "bias"
                else cparams.convert_array(name, arr, spec.params_datapath, spec.op)
                for name, arr in call.consts.items()
                if name != "state"
            }
        )
        if "state" in call.consts:  # a recurrent kernel's streaming state: the caller's buffer, in place
            arrays.set_pointer("state", native.ffi().from_buffer("uint8_t[]", call.consts["state"]))
    except cparams.CParamsError as exc:
        raise fail(where, str(exc).replace("params field", "argument")) from None
    try:
        return new_struct(spec.struct, values, arrays), arrays
    except (OverflowError, TypeError, KeyError) as exc:
        raise fail(where, f"a parameter does not fit its C field ({exc})") from None


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
        raise fail(where, f"the kernel returned {status_name(status)} (a parameter is outside its legal range)")
    return out


def _bias_variant(spec: KernelSpec, args: tuple, kw: dict) -> KernelSpec:
    """An s16 weighted wrapper given an int32 bias runs the s16_acc32 kernel, as TFLite
    picks its 16x8 path by the bias type (int64: 64-bit path; int32: 32-bit path)."""
    bias = args[2] if len(args) > 2 else kw.get("bias")
    if spec.family == "weighted" and spec.datapath == "s16" and isinstance(bias, np.ndarray) and bias.dtype == np.int32:
        return KERNEL_SPECS.get(f"{spec.op}_s16_acc32", spec)  # ops without a 32-bit 16x8 kernel: refused
    return spec


def _make(spec: KernelSpec, scratch_only: bool = False) -> Callable[..., Any]:
    def kernel(*args: Any, **kwargs: Any) -> Any:
        return _run(_bias_variant(spec, args, kwargs), args, kwargs, scratch_only)

    kernel.__name__ = kernel.__qualname__ = spec.name + ("_scratch_size" if scratch_only else "")
    kernel.__doc__ = (
        f"``{spec.cname}{'_scratch_size' if scratch_only else ''}`` "
        f"({spec.family} {spec.op}, datapath {spec.datapath}); conventions: module docstring."
    )
    return kernel


def _acc(bits: int) -> Callable[..., Any]:
    info = np.iinfo(np.int32 if bits == 32 else np.int64)

    def requantize_acc(
        acc: Any, multiplier: Any, shift: Any, rounding: str = "double", multiplier_bits: int = 32
    ) -> np.ndarray:
        where = f"requantize_acc{bits}"
        mode = mode_of(where, rounding, multiplier_bits)
        a = int_values(where, "acc", acc, int(info.min), int(info.max))
        m, s = scale_values(where, "", multiplier, shift, rounding, int(multiplier_bits), bits)
        try:
            a, m, s = np.broadcast_arrays(a, m, s)
        except ValueError:
            raise fail(where, "arguments 'acc', 'multiplier' and 'shift' do not broadcast") from None
        fn = getattr(native.lib(), f"fp_requantize_acc{bits}")
        cmode = new_struct("fp_rq_mode_t", mode)[0]
        out = [fn(int(x), int(y), int(z), cmode) for x, y, z in zip(a.reshape(-1), m.reshape(-1), s.reshape(-1))]
        return np.asarray(out, dtype=np.int32).reshape(a.shape)

    requantize_acc.__name__ = requantize_acc.__qualname__ = f"requantize_acc{bits}"
    requantize_acc.__doc__ = (
        f"``fp_requantize_acc{bits}`` elementwise over broadcast int{bits} accumulators, "
        "multipliers and shifts; returns int32."
    )
    return requantize_acc


KERNELS: dict[str, Callable[..., Any]] = {name: _make(spec) for name, spec in KERNEL_SPECS.items()}
KERNELS.update(
    {f"{name}_scratch_size": _make(spec, True) for name, spec in KERNEL_SPECS.items() if spec.family == "weighted"}
)
KERNELS.update(requantize_acc32=_acc(32), requantize_acc64=_acc(64))
globals().update(KERNELS)
__all__ = ["KernelArgumentError", "KERNELS", "KERNEL_SPECS", *KERNELS]
