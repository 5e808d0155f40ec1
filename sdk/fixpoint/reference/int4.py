"""Packed signed 4-bit weights (s4 datapath): the one packing function.

Layout (runtime/include/fp_runtime.h): the tensor is flattened in C order;
element 2k goes to the low nibble of byte k, element 2k+1 to the high nibble;
an odd final element leaves the high nibble 0. Each nibble is the value's
4-bit two's complement, so the legal values are [-8, 7].

The simulator and the code generator both call :func:`pack_int4` on the
plan's unpacked int8 weights; nothing else packs int4 data.
"""

from __future__ import annotations

import numpy as np

INT4_MIN = -8
INT4_MAX = 7


def pack_int4(values, dtype=np.int8) -> np.ndarray:
    """Pack int4 ``values`` (any shape, integers in [-8, 7]) into ceil(n/2) bytes.

    Returns a 1-D array of ``dtype`` (int8 by default, the C parameter type
    ``const int8_t *packed_filter``; pass ``np.uint8`` for raw byte values).
    Raises ValueError for non-integer input or a value outside [-8, 7].
    """
    out_dtype = _byte_dtype(dtype)
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"pack_int4: expected integer values, got dtype {arr.dtype}")
    flat = arr.reshape(-1).astype(np.int64)
    bad = np.flatnonzero((flat < INT4_MIN) | (flat > INT4_MAX))
    if bad.size:
        raise ValueError(
            f"pack_int4: value {int(flat[bad[0]])} at flat index {int(bad[0])} "
            f"is outside the int4 range [{INT4_MIN}, {INT4_MAX}]"
        )
    nibbles = np.mod(flat, 16)  # 4-bit two's complement
    if nibbles.size % 2:
        nibbles = np.append(nibbles, 0)
    packed = nibbles[0::2] + 16 * nibbles[1::2]  # 0..255
    return packed.astype(np.uint8).view(out_dtype)


def unpack_int4(packed, count: int, shape=None) -> np.ndarray:
    """The first ``count`` int4 values of ``packed`` bytes, as int8 (reshaped to ``shape``)."""
    arr = np.asarray(packed)
    _byte_dtype(arr.dtype)
    raw = arr.reshape(-1).view(np.uint8)
    if count < 0 or count > 2 * raw.size:
        raise ValueError(f"unpack_int4: {raw.size} bytes hold at most {2 * raw.size} values, not {count}")
    pairs = np.stack([raw.astype(np.int64) % 16, raw.astype(np.int64) // 16], axis=1).reshape(-1)[:count]
    values = np.where(pairs >= 8, pairs - 16, pairs).astype(np.int8)
    return values if shape is None else values.reshape(shape)


def packed_size(count: int) -> int:
    """Bytes holding ``count`` packed int4 values."""
    return (int(count) + 1) // 2


def _byte_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.int8), np.dtype(np.uint8)):
        raise ValueError(f"int4 packed bytes must be int8 or uint8, not {dt}")
    return dt
