"""Reference transposed 2-D convolution (TFLite's reference TransposeConv), numpy, exact integers.

Written as TFLite writes it, the opposite way round from the C kernel (which gathers per
output): every input pixel, offset into real units (x + input_offset), times every filter tap
is scattered into an exact int64 accumulator of the full output, (H-1)*stride + (KH-1)*dilation
+ 1 rows; the output is that accumulator cropped from (pad_top, pad_left), plus the bias, then
the weighted ops' requantization (:func:`fixpoint.reference.conv.requantize_output`).
"""

from __future__ import annotations

import numpy as np

from .conv import add_bias, requantize_output


def transpose_conv2d(
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
    """x: [N, H, W, C_in]; w: OHWI [C_out, KH, KW, C_in / groups] (int4 unpacked); bias [C_out] or
    None. Output channel oc of group g = oc // (C_out / groups) sums input channels g * C_in/groups
    ... (g + 1) * C_in/groups - 1. Returns [N, out_h, out_w, C_out] in the datapath's output type."""
    x = np.asarray(x, dtype=np.int64) + np.int64(input_offset)
    w = np.asarray(w, dtype=np.int64)
    n, h, wd, c_in = x.shape
    c_out, kh, kw, wc = w.shape
    if groups < 1 or c_in % groups or c_out % groups or wc * groups != c_in:
        raise ValueError(f"transpose_conv2d: C_in={c_in}, C_out={c_out}, filter C={wc} do not fit groups={groups}")
    og = c_out // groups
    full_h = max((h - 1) * stride_h + (kh - 1) * dilation_h + 1, pad_top + out_h)
    full_w = max((wd - 1) * stride_w + (kw - 1) * dilation_w + 1, pad_left + out_w)
    acc = np.zeros((n, full_h, full_w, c_out), dtype=np.int64)
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dilation_h, kx * dilation_w
            for g in range(groups):
                acc[
                    :,
                    y0 : y0 + (h - 1) * stride_h + 1 : stride_h,
                    x0 : x0 + (wd - 1) * stride_w + 1 : stride_w,
                    g * og : (g + 1) * og,
                ] += np.einsum("nhwc,oc->nhwo", x[..., g * wc : (g + 1) * wc], w[g * og : (g + 1) * og, ky, kx, :])
    acc = acc[:, pad_top : pad_top + out_h, pad_left : pad_left + out_w, :]
    return requantize_output(
        add_bias(acc, bias, False),
        multiplier,
        shift,
        rounding=rounding,
        multiplier_bits=multiplier_bits,
        output_offset=output_offset,
        act_min=act_min,
        act_max=act_max,
        datapath=datapath,
    )
