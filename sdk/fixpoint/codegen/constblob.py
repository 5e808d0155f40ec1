"""The model's constant blob: every layer array in one C struct.

All weight, bias, multiplier, shift and LUT tables live in one ``const``
struct, one member per (layer, array), in layer order. A struct rather than
loose arrays because accelerator registers hold *byte offsets into one
constant blob* (``w_addr``, ``mult_addr``, ...): separate C objects have no
defined relative placement, struct members do, and their offsets can be
checked at compile time with ``offsetof``. Each member is typed with its exact
C element type (no aliasing casts) and starts at a multiple of
:data:`CONST_ALIGN`; explicit ``uint8_t`` padding members make the layout the
same on every target, so the offsets computed here are the compiler's.

The blob starts with an 8-byte header (magic, size), so offset 0 never
names a table and a register value of 0 unambiguously means "no table".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cparams import layer_arrays_for_c
from ..plan import Plan
from ..memory import align_up

CONST_ALIGN = 8
HEADER_BYTES = 8
BLOB_MAGIC = 0x43505846  # "FXPC" as a little-endian uint32

C_ELEMENT_TYPES = {
    np.dtype(np.int8): "int8_t",
    np.dtype(np.int16): "int16_t",
    np.dtype(np.int32): "int32_t",
    np.dtype(np.int64): "int64_t",
}


@dataclass(frozen=True)
class BlobMember:
    """One struct member: a layer's constant array, or padding (``layer`` = -1)."""

    layer: int
    array: str  # cparams array name ("weights", "bias", ...); "" for padding
    field: str  # C member name
    ctype: str  # C element type
    count: int  # declared elements (>= 1: C has no empty arrays)
    offset: int  # byte offset inside the blob
    values: np.ndarray  # flat values in the C element type ("" padding: empty)

    @property
    def nbytes(self) -> int:
        return self.count * self.values.dtype.itemsize if self.array else self.count

    @property
    def is_padding(self) -> bool:
        return not self.array


@dataclass(frozen=True)
class ConstBlob:
    members: tuple[BlobMember, ...]
    size: int  # bytes, a multiple of CONST_ALIGN

    @property
    def tables(self) -> tuple[BlobMember, ...]:
        return tuple(m for m in self.members if not m.is_padding)

    def member(self, layer: int, array: str) -> BlobMember:
        for m in self.members:
            if m.layer == layer and m.array == array:
                return m
        raise KeyError(f"layer {layer} has no constant array '{array}'")

    def layer_bytes(self, layer: int) -> int:
        """Bytes of the layer's own tables (padding excluded)."""
        return sum(m.nbytes for m in self.tables if m.layer == layer)


def member_name(layer: int, array: str) -> str:
    return f"l{layer}_{array}"


def build_blob(plan: Plan) -> ConstBlob:
    """Lay out every layer's C-typed arrays (``cparams.layer_arrays_for_c``)."""
    members: list[BlobMember] = []
    offset = HEADER_BYTES
    n_pads = 0
    for index, layer in enumerate(plan.layers):
        for name, arr in layer_arrays_for_c(layer).items():
            aligned = align_up(offset, CONST_ALIGN)
            if aligned > offset:
                members.append(_padding(n_pads, offset, aligned - offset))
                n_pads += 1
            values = arr if arr.size else np.zeros(1, dtype=arr.dtype)
            members.append(
                BlobMember(
                    index,
                    name,
                    member_name(index, name),
                    C_ELEMENT_TYPES[values.dtype],
                    int(values.size),
                    aligned,
                    values,
                )
            )
            offset = aligned + values.nbytes
    size = align_up(offset, CONST_ALIGN)
    if size > offset:  # tail padding spelled out: sizeof(blob) is then the same everywhere
        members.append(_padding(n_pads, offset, size - offset))
    return ConstBlob(tuple(members), size)


def _padding(index: int, offset: int, nbytes: int) -> BlobMember:
    return BlobMember(-1, "", f"pad{index}", "uint8_t", nbytes, offset, np.zeros(0, dtype=np.uint8))
