"""Reference 2-D convolution (TFLite integer semantics), numpy, exact integers.

Written from the spec, not from the C kernels: the input is offset into
"real" units (x + input_offset, so padding is a plain 0), every output's
receptive field is gathered from a zero-padded copy, and the products are
summed exactly in int64 by einsum; requantization is :mod:`.requant`.

Every reference of this family can evaluate many cases in one call (so that
tens of thousands of random cases run in seconds): give the tensors a leading
*case* axis and the per-case scalars (offsets, clamps) as scalars or [B]
arrays, multipliers/shifts as [n] or [B, n]. Geometry, rounding mode and
multiplier width are shared by the cases of one call.

Also holds the helpers the other weighted-op references share:
:func:`gather_windows`, :func:`add_bias`, :func:`requantize_output`.
"""

from __future__ import annotations

import numpy as np

from .requant import requant32, requant64, sat32

# s16_acc32: int16 x int8 with an int32 bias (or none), TFLite's 32-bit 16x8 path
OUT_DTYPE = {"s8": np.int8, "s4": np.int8, "s16": np.int16, "s16_acc32": np.int16, "s2": np.int8, "s1": np.int8}
INT64_MIN, INT64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


def per_case(value, batched: bool, ndim: int) -> np.ndarray:
    """A scalar or per-case [B] value shaped to broadcast against [B, ...] (ndim axes)."""
    v = np.asarray(value, dtype=np.int64)
    if not batched or v.ndim == 0:
        return v
    return v.reshape((v.shape[0],) + (1,) * (ndim - 1))


def per_channel(value, batched: bool, ndim: int) -> np.ndarray:
    """[n] or (batched) [B, n] per-channel values shaped to broadcast against [..., C_out]."""
    v = np.asarray(value, dtype=np.int64)
    if batched and v.ndim == 2:
        return v.reshape((v.shape[0],) + (1,) * (ndim - 2) + (v.shape[1],))
    return v.reshape(-1)


def gather_windows(
    x,
    out_h: int,
    out_w: int,
    kh: int,
    kw: int,
    *,
    stride_h: int = 1,
    stride_w: int = 1,
    dilation_h: int = 1,
    dilation_w: int = 1,
    pad_top: int = 0,
    pad_left: int = 0,
) -> np.ndarray:
    """Receptive fields [N, out_h, out_w, kh, kw, C] of an NHWC int64 tensor.

    Output (oy, ox) tap (ky, kx) reads input row oy*stride_h - pad_top + ky*dilation_h
    (columns alike); a tap outside the input reads 0.
    """
    x = np.asarray(x, dtype=np.int64)
    n, h, w, c = x.shape
    padded = np.zeros((n, h + 1, w + 1, c), dtype=np.int64)  # row h / column w: the zeros
    padded[:, :h, :w, :] = x
    rows = np.arange(out_h)[:, None] * stride_h - pad_top + np.arange(kh)[None, :] * dilation_h
    cols = np.arange(out_w)[:, None] * stride_w - pad_left + np.arange(kw)[None, :] * dilation_w
    rows = np.where((rows >= 0) & (rows < h), rows, h)
    cols = np.where((cols >= 0) & (cols < w), cols, w)
    return padded[:, rows[:, None, :, None], cols[None, :, None, :], :]


def add_bias(acc: np.ndarray, bias, batched: bool) -> np.ndarray:
    """acc + bias[oc], saturated to int64 (an int64 s16 bias can overflow the sum).

    Saturating at the int64 limits is exact for the result: any accumulator
    beyond them is far outside [-2^47, 2^47), where requant64 saturates anyway.
    """
    if bias is None:
        return acc
    b = per_channel(bias, batched, acc.ndim)
    total = acc + b  # wraps on overflow
    over = (acc > 0) & (b > 0) & (total < 0)
    under = (acc < 0) & (b < 0) & (total >= 0)
    return np.where(over, INT64_MAX, np.where(under, INT64_MIN, total))


def requantize_output(
    acc,
    multiplier,
    shift,
    *,
    rounding: str,
    multiplier_bits: int,
    output_offset,
    act_min,
    act_max,
    datapath: str,
    batched: bool = False,
) -> np.ndarray:
    """Accumulators [..., C_out] (exact int64) -> output dtype of ``datapath``.

    s8/s4/s16_acc32: acc saturated to int32, requant32; s16: requant64 (which
    saturates the accumulator to [-2^47, 2^47)). Then + output_offset, clamp to
    [act_min, act_max]. multiplier/shift hold 1 (per tensor) or C_out values.
    """
    acc = np.asarray(acc, dtype=np.int64)
    m = per_channel(multiplier, batched, acc.ndim)
    s = per_channel(shift, batched, acc.ndim)
    if datapath == "s16":
        scaled = requant64(acc, m, s, rounding, multiplier_bits)
    else:
        scaled = requant32(sat32(acc), m, s, rounding, multiplier_bits)
    out = np.asarray(scaled, dtype=np.int64) + per_case(output_offset, batched, acc.ndim)
    out = np.clip(out, per_case(act_min, batched, acc.ndim), per_case(act_max, batched, acc.ndim))
    return out.astype(OUT_DTYPE[datapath])


def conv2d(
    x,
    w,
    bias,
    *,
    out_h: int,
    out_w: int,
    stride_h: int = 1,
    stride_w: int = 1,
    dilation_h: int = 1,
    dilation_w: int = 1,
    pad_top: int = 0,
    pad_left: int = 0,
    groups: int = 1,
    input_offset=0,
    output_offset=0,
    act_min,
    act_max,
    multiplier,
    shift,
    rounding: str = "double",
    multiplier_bits: int = 32,
    datapath: str = "s8",
) -> np.ndarray:
    """Integer conv2d. x: [N, H, W, C_in]; w: OHWI [C_out, KH, KW, C_in/groups]
    (int4 weights unpacked); bias: [C_out] or None. Returns [N, out_h, out_w, C_out].

    Batched: x [B, N, H, W, C_in], w [B, C_out, KH, KW, Cg], bias [B, C_out]
    (see the module docstring)."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    batched = x.ndim == 5
    xb = x if batched else x[None]
    wb = w if batched else w[None]
    cases, n, _, _, c_in = xb.shape
    _, c_out, kh, kw, cg = wb.shape
    if c_in % groups or c_out % groups or cg * groups != c_in:
        raise ValueError(f"conv2d: C_in={c_in}, C_out={c_out}, filter C={cg} do not fit groups={groups}")
    xo = xb + per_case(input_offset, batched, 5)
    win = gather_windows(
        xo.reshape(cases * n, *xb.shape[2:]),
        out_h,
        out_w,
        kh,
        kw,
        stride_h=stride_h,
        stride_w=stride_w,
        dilation_h=dilation_h,
        dilation_w=dilation_w,
        pad_top=pad_top,
        pad_left=pad_left,
    )
    win = win.reshape(cases, n, out_h, out_w, kh, kw, groups, cg)
    wg = wb.reshape(cases, groups, c_out // groups, kh, kw, cg)
    acc = np.einsum("znabhwgc,zgohwc->znabgo", win, wg).reshape(cases, n, out_h, out_w, c_out)
    acc = acc if batched else acc[0]
    return requantize_output(
        add_bias(acc, bias, batched),
        multiplier,
        shift,
        rounding=rounding,
        multiplier_bits=multiplier_bits,
        output_offset=output_offset,
        act_min=act_min,
        act_max=act_max,
        datapath=datapath,
        batched=batched,
    )
