"""Packed 2-bit (ternary, ``s2``) and 1-bit (binary, ``s1``) weights: the one packing code.

Layout (runtime/include/fp_runtime.h, runtime/src/internal/fp_lowbit.h): the
tensor is flattened in C order and packed least significant bits first.

* ``s2``: element k occupies bits ``2*(k%4)`` and ``2*(k%4)+1`` of byte ``k//4``
  as a 2-bit two's-complement value: ``00`` = 0, ``01`` = +1, ``11`` = -1 and
  ``10`` = -2 (legal, but the ternary quantizer writes only -1, 0, +1).
* ``s1``: element k is bit ``k%8`` of byte ``k//8``: 1 means +1, 0 means -1
  (there is no zero).

Unused bits of the last byte are 0. :func:`pack_weights` also covers ``s4``
(delegating to :mod:`fixpoint.reference.int4`) so the simulator and the code
generator call one function for every packed datapath.
"""

from __future__ import annotations

import numpy as np

from .int4 import pack_int4, packed_size as int4_packed_size, unpack_int4

# packed datapath -> bits per weight
PACKED_BITS = {"s4": 4, "s2": 2, "s1": 1}
# unpacked value range each packed datapath can hold
WEIGHT_RANGE = {"s4": (-8, 7), "s2": (-2, 1), "s1": (-1, 1)}
# how messages name each packed weight type
WEIGHT_LABEL = {"s4": "int4", "s2": "int2 (ternary)", "s1": "int1 (binary, no 0)"}


def is_packed(datapath: str) -> bool:
    """True for a datapath whose filter weights are stored packed below a byte."""
    return datapath in PACKED_BITS


def packed_size(count: int, datapath: str) -> int:
    """Bytes holding ``count`` packed weights of ``datapath``."""
    per_byte = 8 // PACKED_BITS[datapath]
    return (int(count) + per_byte - 1) // per_byte


def _check(flat: np.ndarray, datapath: str) -> None:
    lo, hi = WEIGHT_RANGE[datapath]
    bad = np.flatnonzero((flat < lo) | (flat > hi) | ((flat == 0) if datapath == "s1" else False))
    if bad.size:
        legal = "-1 or +1" if datapath == "s1" else f"[{lo}, {hi}]"
        raise ValueError(
            f"pack_weights: value {int(flat[bad[0]])} at flat index {int(bad[0])} "
            f"is not a legal {datapath} weight ({legal})"
        )


def pack_weights(values, datapath: str, dtype=np.int8) -> np.ndarray:
    """Pack unpacked integer weights of a packed datapath into bytes (1-D ``dtype``, int8 or uint8)."""
    if datapath == "s4":
        return pack_int4(values, dtype=dtype)
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"pack_weights: expected integer values, got dtype {arr.dtype}")
    flat = arr.reshape(-1).astype(np.int64)
    _check(flat, datapath)
    bits = PACKED_BITS[datapath]
    codes = (flat > 0).astype(np.int64) if bits == 1 else np.mod(flat, 4)
    per_byte = 8 // bits
    codes = np.append(codes, np.zeros((-codes.size) % per_byte, dtype=np.int64)).reshape(-1, per_byte)
    packed = (codes << (bits * np.arange(per_byte, dtype=np.int64))).sum(axis=1)
    return packed.astype(np.uint8).view(np.dtype(dtype))


def unpack_weights(packed, count: int, datapath: str, shape=None) -> np.ndarray:
    """The first ``count`` weights of ``packed`` bytes as int8 (reshaped to ``shape``)."""
    if datapath == "s4":
        return unpack_int4(packed, count, shape)
    raw = np.asarray(packed).reshape(-1).view(np.uint8).astype(np.int64)
    bits = PACKED_BITS[datapath]
    per_byte = 8 // bits
    if count < 0 or count > per_byte * raw.size:
        raise ValueError(
            f"unpack_weights: {raw.size} bytes hold at most {per_byte * raw.size} {datapath} values, not {count}"
        )
    codes = ((raw[:, None] >> (bits * np.arange(per_byte, dtype=np.int64))) & ((1 << bits) - 1)).reshape(-1)[:count]
    values = 2 * codes - 1 if bits == 1 else np.where(codes >= 2, codes - 4, codes)
    values = values.astype(np.int8)
    return values if shape is None else values.reshape(shape)


__all__ = [
    "PACKED_BITS",
    "WEIGHT_RANGE",
    "WEIGHT_LABEL",
    "is_packed",
    "packed_size",
    "pack_weights",
    "unpack_weights",
    "int4_packed_size",
]
