"""cffi helpers for calling the C runtime kernels from the tests in tests/runtime.

General for every kernel of runtime/include/fp_runtime.h:

* :func:`make_rq_mode`, :func:`make_requant`, :func:`make_params` build the
  params structs with ``ffi.new`` and keep alive every ffi object a struct's
  pointer field refers to (a :class:`Params` owns them);
* :func:`as_ptr` passes a numpy buffer with ``ffi.from_buffer`` (no copy);
* :func:`run_weighted` calls a conv / depthwise / fully connected kernel with
  its scratch, on an output buffer pre-filled with a sentinel so "nothing is
  written on error" can be checked;
* :func:`random_scales` draws legal (multiplier, shift) pairs for a mode;
* :func:`assert_exact` compares integer arrays exactly and names the differing
  indices and values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fixpoint.reference.lowbit import WEIGHT_RANGE, is_packed, pack_weights
from fixpoint.reference.requant import shift_range
from fixpoint.sim import native

ffi = native.ffi()
lib = native.lib()

ROUNDING = {"double": 0, "single": 1, "shift_only": 2}
ROUNDING_NAMES = tuple(ROUNDING)
STATUS = {0: "FP_OK", -1: "FP_ERR_ARG", -2: "FP_ERR_UNSUPPORTED", -3: "FP_ERR_SCRATCH", -4: "FP_ERR_UNRESOLVED"}
FP_OK, FP_ERR_ARG, FP_ERR_UNSUPPORTED, FP_ERR_SCRATCH = 0, -1, -2, -3

_CTYPES = {
    np.dtype(t): name
    for t, name in (
        (np.int8, "int8_t"),
        (np.uint8, "uint8_t"),
        (np.int16, "int16_t"),
        (np.uint16, "uint16_t"),
        (np.int32, "int32_t"),
        (np.uint32, "uint32_t"),
        (np.int64, "int64_t"),
    )
}

# activation / bias numpy types per datapath; s16_acc32 = the int16 x int8 kernels with an
# int32 bias and 32-bit requantization (fp_*_s16_acc32)
ACT_DTYPE = {"s8": np.int8, "s4": np.int8, "s16": np.int16, "s16_acc32": np.int16}
BIAS_DTYPE = {"s8": np.int32, "s4": np.int32, "s16": np.int64, "s16_acc32": np.int32}
ACT_RANGE = {"s8": (-128, 127), "s4": (-128, 127), "s16": (-32768, 32767), "s16_acc32": (-32768, 32767)}
ACC_BITS = {"s8": 32, "s4": 32, "s16": 64, "s16_acc32": 32}
for _table in (ACT_DTYPE, BIAS_DTYPE, ACT_RANGE, ACC_BITS):  # ternary / binary weights: the s4 tensors
    _table.update(s2=_table["s4"], s1=_table["s4"])
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
# input offsets of the int8 multiply-accumulate kernels: every term (x + offset) * w fits int32
S8_INPUT_OFFSET_MIN, S8_INPUT_OFFSET_MAX = -16777087, 16777088
SENTINEL = 0x5A
# the windowed-op geometry fields shared by conv2d and depthwise params structs
GEOMETRY = ("stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left")


def as_ptr(ffi_, arr: np.ndarray | None, ctype: str | None = None):
    """A ``ctype[]`` cdata over the memory of C-contiguous ``arr`` (None -> NULL).

    The cdata keeps ``arr`` alive; ``ctype`` defaults to the array's C type.
    """
    if arr is None:
        return ffi_.NULL
    if not arr.flags.c_contiguous:
        raise ValueError("as_ptr: array must be C-contiguous")
    ctype = ctype or _CTYPES[arr.dtype]
    if ffi_.sizeof(ctype) != arr.dtype.itemsize:
        raise ValueError(f"as_ptr: {arr.dtype} items do not match C type {ctype}")
    return ffi_.from_buffer(f"{ctype}[]", arr)


def make_rq_mode(rounding: str | int = "double", bits: int = 32):
    """An ``fp_rq_mode_t`` value (pass it by value, or assign it to a ``.mode`` field)."""
    code = ROUNDING[rounding] if isinstance(rounding, str) else int(rounding)
    return ffi.new("fp_rq_mode_t *", {"rounding": code, "multiplier_bits": bits})[0]


@dataclass
class Requant:
    """An ``fp_requant_t`` and the int32 arrays its pointers refer to."""

    struct: Any  # 'fp_requant_t' cdata value
    multiplier: Any  # int32_t[] cdata
    shift: Any  # int32_t[] cdata


def make_requant(mult_array, shift_array, mode, n: int | None = None) -> Requant:
    """Per-tensor (1 entry) or per-channel requant table; ``n`` overrides the count."""
    mult = [int(v) for v in np.asarray(mult_array).reshape(-1)]
    shift = [int(v) for v in np.asarray(shift_array).reshape(-1)]
    if len(mult) != len(shift):
        raise ValueError(f"make_requant: {len(mult)} multipliers but {len(shift)} shifts")
    c_mult = ffi.new("int32_t[]", mult or [0])
    c_shift = ffi.new("int32_t[]", shift or [0])
    ptr = ffi.new("fp_requant_t *")
    ptr.multiplier = c_mult
    ptr.shift = c_shift
    ptr.n = len(mult) if n is None else n
    ptr.mode = mode
    return Requant(ptr[0], c_mult, c_shift)


@dataclass
class Params:
    """An owning ``<struct> *`` cdata plus the objects its pointer fields use."""

    ptr: Any
    keep: list = field(default_factory=list)


def dims(n: int, h: int, w: int, c: int) -> dict:
    """An ``fp_dims_t`` initializer."""
    return {"n": int(n), "h": int(h), "w": int(w), "c": int(c)}


def make_params(ctype: str, **fields) -> Params:
    """``ffi.new(ctype *)`` with ``fields`` set; a :class:`Requant` value is kept alive."""
    params = Params(ffi.new(f"{ctype} *"))
    for name, value in fields.items():
        if isinstance(value, Requant):
            params.keep.append(value)
            value = value.struct
        setattr(params.ptr, name, value)
    return params


def run_weighted(
    op: str,
    datapath: str,
    params: Params,
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None,
    out_shape,
    scratch: str = "auto",
) -> tuple[int, np.ndarray]:
    """Call ``fp_<op>_<datapath>``; returns (status, output).

    ``w`` is int8 (already packed for s4). scratch: "auto" allocates
    ``*_scratch_size()`` bytes (NULL when 0), "null" passes NULL. The output
    starts filled with a sentinel byte pattern.
    """
    fn = getattr(lib, f"fp_{op}_{datapath}")
    size = int(getattr(lib, f"fp_{op}_{datapath}_scratch_size")(params.ptr))
    scratch_buf = np.full(size, 0x3C, np.uint8) if (scratch == "auto" and size > 0) else None
    x = np.ascontiguousarray(x, dtype=ACT_DTYPE[datapath])
    w = np.ascontiguousarray(w, dtype=np.int8)
    b = None if bias is None else np.ascontiguousarray(bias, dtype=BIAS_DTYPE[datapath])
    out = sentinel_output(out_shape, ACT_DTYPE[datapath])
    status = fn(
        params.ptr,
        as_ptr(ffi, x),
        as_ptr(ffi, w),
        as_ptr(ffi, b),
        as_ptr(ffi, out),
        ffi.NULL if scratch_buf is None else ffi.cast("void *", as_ptr(ffi, scratch_buf)),
    )
    return int(status), out


def sentinel_output(shape, dtype) -> np.ndarray:
    """An output buffer every byte of which is SENTINEL."""
    out = np.empty(shape, dtype=dtype)
    out.view(np.uint8)[...] = SENTINEL
    return out


def is_untouched(out: np.ndarray) -> bool:
    return bool(np.all(out.view(np.uint8) == SENTINEL))


def random_scales(
    n: int, target_scale, rounding: str, bits: int, acc_bits: int = 32, power_of_two: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` legal (multiplier, shift) pairs near ``target_scale`` (a float or n floats).

    real scale = multiplier / 2^(bits-1) * 2^shift, multiplier normalised to
    [2^(bits-2), 2^(bits-1)); shifts are clipped into the mode's legal range.
    power_of_two=True uses multiplier 2^(bits-2) (scale 2^(shift-1)), which
    makes exact rounding ties frequent.
    """
    lo, hi = shift_range(rounding, bits, acc_bits)
    targets = [float(target_scale)] * n if np.ndim(target_scale) == 0 else [float(v) for v in target_scale]
    mult, shift = [], []
    for target in targets:
        s = min(max(math.frexp(max(target, 1e-300))[1], lo), hi)  # target = f * 2^s, f in [0.5, 1)
        m = round(math.ldexp(target, bits - 1 - s))
        mult.append(1 << (bits - 2) if power_of_two else min(max(m, 1 << (bits - 2)), (1 << (bits - 1)) - 1))
        shift.append(s)
    return np.array(mult, np.int32), np.array(shift, np.int32)


def random_mode(rng: np.random.Generator) -> tuple[str, int]:
    """A rounding mode and multiplier width: widths 32/16/8 mostly, any of 2..32 sometimes."""
    u = rng.random()
    rounding = ROUNDING_NAMES[int(u * 3)]
    v = rng.random()
    bits = (32, 16, 8)[int(v / 0.85 * 3)] if v < 0.85 else 2 + int((v - 0.85) / 0.15 * 31)
    return rounding, bits


def random_output_stage(
    rng: np.random.Generator, datapath: str, c_out: int, acc_magnitude: float, mode: tuple[str, int] | None = None
) -> dict:
    """Random legal requant + output parameters for accumulators of about ``acc_magnitude``.

    Returns the keyword arguments shared by the C params and the reference:
    multiplier, shift (1 or c_out values), rounding, multiplier_bits,
    output_offset, act_min, act_max. The scale spreads outputs over the output
    range times 2^[-4, 1.5] (so some saturate), a quarter of the cases use
    power-of-two scales (frequent exact ties), a few use the largest
    multiplier and an extreme shift (saturation, total underflow).
    ``mode`` = (rounding, multiplier_bits) fixes the mode (else random_mode).
    """
    lo, hi = ACT_RANGE[datapath]
    rounding, bits = random_mode(rng) if mode is None else mode
    u = rng.random(6)
    n = c_out if u[0] < 0.5 else 1
    base = (hi - lo) / 2.0 / max(acc_magnitude, 1.0)
    target = base * np.exp2(rng.uniform(-4.0, 1.5, n))
    mult, shift = random_scales(n, target, rounding, bits, ACC_BITS[datapath], power_of_two=u[1] < 0.25)
    if u[2] < 0.03:
        s_lo, s_hi = shift_range(rounding, bits, ACC_BITS[datapath])
        mult = np.full(n, (1 << (bits - 1)) - 1, np.int32)
        shift = np.full(n, s_hi if u[3] < 0.5 else s_lo, np.int32)
    out_offset = 0 if is_int16(datapath) else random_output_offset(rng)
    if u[5] < 0.7:
        act_min, act_max = lo, hi
    elif u[5] < 0.85:
        act_min, act_max = min(max(lo, out_offset), hi), hi  # fused ReLU
    else:
        a, b = (lo + int(v * (hi - lo + 1)) for v in rng.random(2))
        act_min, act_max = min(a, b), max(a, b)
    return dict(
        multiplier=mult,
        shift=shift,
        rounding=rounding,
        multiplier_bits=bits,
        output_offset=out_offset,
        act_min=act_min,
        act_max=act_max,
    )


def is_int16(datapath: str) -> bool:
    """int16 activations (zero point 0, offsets 0): s16 and s16_acc32."""
    return datapath.startswith("s16")


def s8_reach(offset: int) -> int:
    """max |v + offset| over int8 v."""
    return max(abs(offset + 127), abs(offset - 128))


def random_output_offset(rng) -> int:
    """An int8 output offset: a zero point (90%), else beyond int8 (any int32 is legal)."""
    if rng.random() < 0.9:
        return int(rng.integers(-128, 128))
    if rng.random() < 0.5:
        return int(rng.choice([128, -129, 255, -256, INT32_MIN, INT32_MAX]))
    return int(rng.choice([-1, 1]) * int(2.0 ** rng.uniform(7, 31)))


def random_input_offset(rng, datapath: str, other_reach: int = 128) -> int:
    """An input offset legal for a dot product whose other factor reaches ``other_reach``
    (|(x + offset) * other| <= INT32_MAX): 0 on int16, a zero point (85%), else an edge of
    the legal range or a wide value."""
    if is_int16(datapath):
        return 0
    limit = INT32_MAX // other_reach  # largest legal max |x + offset|
    lo, hi = -(limit - 128), limit - 127
    u = rng.random()
    if u < 0.85:
        return int(np.clip(rng.integers(-127, 129), lo, hi))
    if u < 0.93:
        return int(np.clip(rng.choice([-128, 129, 255, -255, lo, hi]), lo, hi))
    return int(np.clip(rng.choice([-1, 1]) * int(2.0 ** rng.uniform(7, np.log2(limit))), lo, hi))


def requant_of(stage: dict) -> Requant:
    """The :class:`Requant` of a :func:`random_output_stage` dict."""
    return make_requant(stage["multiplier"], stage["shift"], make_rq_mode(stage["rounding"], stage["multiplier_bits"]))


def c_stage_fields(stage: dict) -> dict:
    """The params-struct fields of a stage dict (requant + output offset + clamps)."""
    return dict(
        requant=requant_of(stage),
        output_offset=stage["output_offset"],
        act_min=stage["act_min"],
        act_max=stage["act_max"],
    )


def accumulator_magnitude(x_real, w_real, taps: int) -> float:
    """Typical |sum of taps products| for operands (x + input_offset) and (w + filter_offset):
    a random-walk term plus the drift of their means."""
    x = np.asarray(x_real, dtype=np.float64)
    w = np.asarray(w_real, dtype=np.float64)
    rms = np.sqrt(np.mean(x * x) * np.mean(w * w))
    return float(np.sqrt(taps) * rms + taps * abs(x.mean() * w.mean()) + 1.0)


def random_values(rng, lo: int, hi: int, shape, dtype) -> np.ndarray:
    """Uniform in a random sub-range of [lo, hi], or only the two extremes (10%)."""
    if rng.random() < 0.1:
        return np.where(rng.random(shape) < 0.5, lo, hi).astype(dtype)
    span = 1 << int(rng.integers(1, max(2, int(np.log2(hi + 1)) + 2)))
    return np.clip(rng.integers(-span, span, size=shape), lo, hi).astype(dtype)


def random_weights(rng, datapath: str, shape) -> np.ndarray:
    """Unpacked int8 weights legal for the datapath (binary s1: -1 / +1 only)."""
    lo, hi = WEIGHT_RANGE.get(datapath, (-128, 127))
    w = random_values(rng, lo, hi, shape, np.int8)
    return np.where(w == 0, 1, w).astype(np.int8) if datapath == "s1" else w


def packed_weights(datapath: str, w: np.ndarray) -> np.ndarray:
    """The filter as the kernel reads it: packed for s4 / s2 / s1."""
    return pack_weights(w, datapath) if is_packed(datapath) else w


def random_bias(rng, datapath: str, c_out: int, acc_mag: float) -> np.ndarray | None:
    """None (10%), the bias type's limits (5%), else uniform within about the accumulator size."""
    u = rng.random()
    if u < 0.1:
        return None
    info = np.iinfo(BIAS_DTYPE[datapath])
    if u < 0.15:  # the bias type's limits
        return np.where(rng.random(c_out) < 0.5, info.min, info.max).astype(BIAS_DTYPE[datapath])
    mag = int(min(acc_mag + 16, info.max))
    return rng.integers(-mag, mag + 1, size=c_out).astype(BIAS_DTYPE[datapath])


def random_out_size(rng, size: int, k: int, stride: int, dilation: int, pad_before: int) -> int:
    """TFLite/ONNX output size for a random trailing pad; sometimes an arbitrary size."""
    eff = (k - 1) * dilation + 1
    if rng.random() < 0.1:
        return int(rng.integers(1, size + 3))
    pad_after = int(rng.integers(0, eff))
    return max(1, (size + pad_before + pad_after - eff) // stride + 1)


def random_geometry(rng) -> dict:
    """Kernel size (kh, kw), the GEOMETRY fields and input/output spatial sizes
    (in_h, in_w, out_h, out_w) of a small random windowed op."""
    g = {}
    for axis in ("h", "w"):
        k = int(rng.integers(1, 4)) if rng.random() < 0.9 else int(rng.integers(4, 6))
        stride, dilation = (int(v) for v in rng.integers(1, 4, 2))
        eff = (k - 1) * dilation + 1
        size = int(rng.integers(1, 8))
        pad = int(rng.integers(0, eff)) if rng.random() < 0.9 else int(rng.integers(eff, eff + 3))
        side = "top" if axis == "h" else "left"
        g.update(
            {
                f"k{axis}": k,
                f"stride_{axis}": stride,
                f"dilation_{axis}": dilation,
                f"pad_{side}": pad,
                f"in_{axis}": size,
                f"out_{axis}": random_out_size(rng, size, k, stride, dilation, pad),
            }
        )
    return g


def stack_cases(cases: list[dict], c_out: int, per_case: tuple[str, ...]) -> dict:
    """Keyword arguments of one batched reference call (fixpoint.reference.conv) for ``cases``.

    x and w are stacked on a new leading axis, bias too (None -> zeros, so a
    NULL bias is checked against a zero one), multiplier/shift expanded to
    [B, c_out] (a per-tensor value repeated), the ``per_case`` scalars
    stacked into [B] arrays; every other key is taken from the first case
    (the cases of a batch must share it).
    """
    first = cases[0]
    out = {k: v for k, v in first.items() if k not in per_case and k not in ("x", "w", "bias", "multiplier", "shift")}
    out["x"] = np.stack([c["x"] for c in cases])
    out["w"] = np.stack([c["w"] for c in cases])
    bias_dtype = np.int64
    out["bias"] = np.stack(
        [np.zeros(c_out, bias_dtype) if c["bias"] is None else c["bias"].astype(bias_dtype) for c in cases]
    )
    for key in ("multiplier", "shift"):
        out[key] = np.stack([np.broadcast_to(np.asarray(c[key], np.int64), (c_out,)) for c in cases])
    for key in per_case:
        out[key] = np.array([c[key] for c in cases], dtype=np.int64)
    return out


def assert_exact(got: np.ndarray, want: np.ndarray, context: str = "") -> None:
    """Exact equality of integer arrays; on mismatch list differing indices and values."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise AssertionError(f"{context}: shape {got.shape} != expected {want.shape}")
    diff = np.argwhere(got.astype(np.int64) != want.astype(np.int64))
    if diff.size:
        shown = ", ".join(
            f"{tuple(int(i) for i in idx)}: got {int(got[tuple(idx)])} want {int(want[tuple(idx)])}" for idx in diff[:8]
        )
        raise AssertionError(f"{context}: {len(diff)} of {got.size} values differ: {shown}")
