"""cffi structs from the plain C field values of ``fixpoint.cparams``.

Enumerator names become their values from the compiled module, ArrayRefs
become pointers into numpy buffers, None becomes NULL. The numpy arrays and
cffi buffers are kept alive by :class:`CArrays` for as long as the structs
that point at them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cparams import ArrayRef
from .native import ffi as _ffi, lib as _lib

CTYPES = {
    np.dtype(np.int8): "int8_t[]",
    np.dtype(np.int16): "int16_t[]",
    np.dtype(np.int32): "int32_t[]",
    np.dtype(np.int64): "int64_t[]",
    np.dtype(np.uint8): "uint8_t[]",
}


class CArrays:
    """Named C-contiguous numpy arrays with cffi pointers into them."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None):
        self.arrays: dict[str, np.ndarray] = {}
        self.pointers: dict[str, Any] = {}
        for name, arr in (arrays or {}).items():
            self.add(name, arr)

    def add(self, name: str, arr: np.ndarray) -> Any:
        arr = np.ascontiguousarray(arr)
        if arr.size == 0:  # from_buffer refuses empty buffers; nothing can read it anyway
            arr = np.zeros(1, dtype=arr.dtype)
        self.arrays[name] = arr
        self.pointers[name] = _ffi().from_buffer(CTYPES[arr.dtype], arr)
        return self.pointers[name]

    def set_pointer(self, name: str, cdata: Any) -> None:
        self.pointers[name] = cdata


def to_cvalue(value: Any, arrays: CArrays | None) -> Any:
    """Replace enum names, ArrayRefs and None in a cparams value tree."""
    if isinstance(value, dict):
        return {k: to_cvalue(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [to_cvalue(v, arrays) for v in value]
    if isinstance(value, ArrayRef):
        if arrays is None or value.name not in arrays.pointers:
            raise KeyError(f"no array '{value.name}' for a pointer field")
        return arrays.pointers[value.name]
    if value is None:
        return _ffi().NULL
    if isinstance(value, str):
        return int(getattr(_lib(), value))
    return int(value)


def new_struct(ctype: str, fields: dict[str, Any], arrays: CArrays | None = None) -> Any:
    """``ffi.new(ctype + ' *')`` initialised from cparams field values."""
    return _ffi().new(ctype + " *", to_cvalue(fields, arrays))


STATUS_NAMES = ("FP_OK", "FP_ERR_ARG", "FP_ERR_UNSUPPORTED", "FP_ERR_SCRATCH", "FP_ERR_UNRESOLVED")


def status_name(status: int) -> str:
    names = {int(getattr(_lib(), n)): n for n in STATUS_NAMES}
    return names.get(int(status), f"status {int(status)}")
