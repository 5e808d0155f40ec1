"""Reference depthwise convolution (TFLite integer semantics), numpy, exact.

Output channel oc = ic * depth_multiplier + m reads input channel ic; filter
[1, KH, KW, C_out]. Same gathering, requantization and batched (leading case
axis) evaluation as :mod:`.conv`.
"""

from __future__ import annotations

import numpy as np

from .conv import add_bias, gather_windows, per_case, requantize_output


def depthwise_conv2d(
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
    depth_multiplier: int = 1,
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
    """Integer depthwise conv2d. x: [N, H, W, C_in]; w: [1, KH, KW, C_out] (or
    [KH, KW, C_out]); bias: [C_out] or None. Returns [N, out_h, out_w, C_out].

    Batched: x [B, N, H, W, C_in], w [B, 1, KH, KW, C_out] (or [B, KH, KW,
    C_out]), bias [B, C_out] (see :mod:`.conv`)."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    batched = x.ndim == 5
    xb = x if batched else x[None]
    cases, n, _, _, c_in = xb.shape
    wb = w.reshape((cases,) + w.shape[-3:])
    _, kh, kw, c_out = wb.shape
    if c_out != c_in * depth_multiplier:
        raise ValueError(f"depthwise: C_out={c_out} != C_in={c_in} * depth_multiplier={depth_multiplier}")
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
    win = np.repeat(win, depth_multiplier, axis=-1)  # channel oc reads ic = oc // depth_multiplier
    win = win.reshape(cases, n, out_h, out_w, kh, kw, c_out)
    acc = np.einsum("znabhwc,zhwc->znabc", win, wb)
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
