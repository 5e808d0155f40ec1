"""Reference fully connected layer (TFLite integer semantics), numpy, exact.

acc[b, oc] = bias[oc] + sum_d (x[b, d] + input_offset) * (w[oc, d] + filter_offset),
then the shared requantization of :mod:`.conv` (also its batched evaluation).
"""

from __future__ import annotations

import numpy as np

from .conv import add_bias, per_case, requantize_output


def fully_connected(
    x,
    w,
    bias,
    *,
    input_offset=0,
    filter_offset=0,
    output_offset=0,
    act_min,
    act_max,
    multiplier,
    shift,
    rounding: str = "double",
    multiplier_bits: int = 32,
    datapath: str = "s8",
) -> np.ndarray:
    """Integer fully connected. x: [batches, depth]; w: [C_out, depth] (int4
    weights unpacked); bias: [C_out] or None. Returns [batches, C_out].

    Batched: x [B, batches, depth], w [B, C_out, depth], bias [B, C_out];
    offsets and clamps scalars or [B] (see :mod:`.conv`)."""
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    batched = x.ndim == 3
    if w.ndim != x.ndim or x.ndim not in (2, 3) or x.shape[-1] != w.shape[-1]:
        raise ValueError(f"fully_connected: input {x.shape} and filter {w.shape} do not match")
    xo = x + per_case(input_offset, batched, x.ndim)
    wo = w + per_case(filter_offset, batched, w.ndim)
    acc = np.einsum("...bd,...od->...bo", xo, wo)
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
