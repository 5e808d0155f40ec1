"""Reference data-movement ops: concat (inputs requantized), constant pad, requantize.

Each requantized element is ``clamp(requant32(x + input_offset, scale) +
output_offset)``; ``x + input_offset`` saturates to int32 first (the runtime
forms it in int64), which only matters for out-of-range offsets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .requant import requant32, sat32


def requantize(
    x,
    *,
    input_offset,
    output_offset,
    scale: tuple,
    act_min,
    act_max,
    rounding: str = "double",
    multiplier_bits: int = 32,
) -> np.ndarray:
    """Rescale / change type: clamp(requant(x + input_offset) + output_offset, act_min, act_max)."""
    multiplier, shift = scale
    v = sat32(np.asarray(x, dtype=np.int64) + np.asarray(input_offset, dtype=np.int64))
    raw = requant32(v, multiplier, shift, rounding, multiplier_bits)
    return np.clip(raw + np.asarray(output_offset, dtype=np.int64), act_min, act_max)


def concat(
    inputs: Sequence[np.ndarray],
    *,
    outer: int,
    inner: int,
    input_offsets: Sequence[int],
    input_scales: Sequence[tuple],
    output_offset: int,
    type_min: int,
    type_max: int,
    rounding: str = "double",
    multiplier_bits: int = 32,
) -> np.ndarray:
    """Concatenate along the axis between ``outer`` and ``inner`` (each input's
    flat data is [outer, axis_i, inner]); every input is requantized to the
    output and clamped to the output type [type_min, type_max]. Returns the
    flat [outer * sum(axis_i) * inner] result."""
    blocks = [np.asarray(x).reshape(outer, -1, inner) for x in inputs]
    joined = np.concatenate(blocks, axis=1)  # [outer, sum(axis_i), inner]
    source = np.repeat(np.arange(len(blocks)), [b.shape[1] for b in blocks])  # input of each axis position

    def along_axis(values) -> np.ndarray:
        return np.asarray(values, dtype=np.int64)[source][None, :, None]

    multipliers, shifts = zip(*input_scales)
    out = requantize(
        joined,
        input_offset=along_axis(input_offsets),
        output_offset=output_offset,
        scale=(along_axis(multipliers), along_axis(shifts)),
        act_min=type_min,
        act_max=type_max,
        rounding=rounding,
        multiplier_bits=multiplier_bits,
    )
    return out.reshape(-1)


PAD_MODES = ("constant", "reflect", "edge", "wrap")


def pad(x, *, pad_before: Sequence[int], out_shape: Sequence[int], pad_value: int, mode: int = 0) -> np.ndarray:
    """Pad of an NHWC array: x placed at ``pad_before`` inside an ``out_shape`` array of
    ``pad_value`` (mode 0), or of x mirrored without repeating the edge (1 reflect), of its edge
    values (2 edge) or of x repeated periodically (3 wrap), numpy's "reflect" / "edge" / "wrap"."""
    x = np.asarray(x)
    if mode:
        widths = [(b, o - d - b) for b, o, d in zip(pad_before, out_shape, x.shape)]
        return np.pad(x, widths, mode=PAD_MODES[mode]).astype(np.int64)
    out = np.full(tuple(out_shape), pad_value, dtype=np.int64)
    window = tuple(slice(b, b + n) for b, n in zip(pad_before, x.shape))
    out[window] = x
    return out
