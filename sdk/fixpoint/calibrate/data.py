"""Calibration sample sets: load, validate, stream in batches.

``load_samples`` accepts an ``.npz`` (member named after the model input, else
``input``, else the only member), an ``.npy`` or a folder of ``.npy`` files
(sorted by file name; each file one sample or a batch). Every defect is
reported up front as a one-line :class:`CalibrationDataError` naming the file
and, for bad values, the sample index -- before minutes of inference are spent.

Memory stays flat whatever the set size: files are read in row chunks
(see :mod:`fixpoint.calibrate.sources`) both for validation and for batching.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from fixpoint.calibrate.errors import (
    CalibrationError,
    DataFileError,
    DataShapeError,
    DataTypeError,
    EmptyDataError,
    NonFiniteDataError,
)
from fixpoint.calibrate.sources import ArraySource, NpySource, NpzMemberSource, Source, npz_members

log = logging.getLogger(__name__)

_VALIDATE_ROWS = 256   # rows per chunk while scanning for NaN/Inf


class CalibrationData:
    """A validated calibration set for one model input.

    ``len(data)`` is the number of samples; ``data.batches(n)`` yields
    ``[<=n, *input_shape]`` arrays of ``dtype`` (fresh arrays, safe to keep).
    """

    def __init__(self, input_name: str, input_shape: list[int], dtype: np.dtype,
                 parts: list[tuple[Source, bool, int]], origin: str) -> None:
        self.input_name = input_name
        self.input_shape = list(input_shape)
        self.dtype = dtype
        self.origin = origin
        self._parts = parts           # (source, batched, sample count)

    def __len__(self) -> int:
        return sum(count for _, _, count in self._parts)

    def __repr__(self) -> str:
        return (f"CalibrationData({self.origin!r}, input={self.input_name!r}, "
                f"shape={self.input_shape}, samples={len(self)})")

    @classmethod
    def from_array(cls, samples: np.ndarray, input_name: str = "input",
                   dtype: str = "float32", label: str = "<array>") -> "CalibrationData":
        """Wrap in-memory samples ``[N, *input_shape]`` (validated like files)."""
        samples = np.asarray(samples)
        if samples.ndim < 1:
            raise DataShapeError(f"{label}: expected an array [N, ...] of samples, got a scalar")
        target = _target_dtype(dtype)
        source = ArraySource(samples, label)
        part = _validated_part(source, list(samples.shape[1:]), target)
        return _build(input_name, list(samples.shape[1:]), target, [part], label)

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        """Consecutive batches across all files; only the last may be short."""
        if batch_size < 1:
            raise CalibrationError(f"batch size must be >= 1, got {batch_size}")
        shape = (batch_size, *self.input_shape)
        buf = np.empty(shape, self.dtype)
        fill = 0
        for source, batched, _ in self._parts:
            for chunk in source.chunks(batch_size, batched):
                pos = 0
                while pos < len(chunk):
                    take = min(batch_size - fill, len(chunk) - pos)
                    buf[fill:fill + take] = chunk[pos:pos + take]   # casts to dtype
                    fill += take
                    pos += take
                    if fill == batch_size:
                        yield buf
                        buf = np.empty(shape, self.dtype)
                        fill = 0
        if fill:
            yield buf[:fill]


def first_samples(samples, limit: int) -> np.ndarray:
    """Up to ``limit`` samples, as one float32 array, of an array or of a CalibrationData."""
    if hasattr(samples, "batches"):
        return np.asarray(next(iter(samples.batches(limit))), dtype=np.float32)
    return np.asarray(samples, dtype=np.float32)[:limit]


def load_samples(path: str | os.PathLike, input_name: str, input_shape: list[int],
                 dtype: str = "float32", validate: bool = True) -> CalibrationData:
    """Open a calibration set for the model input ``input_name``.

    ``input_shape`` is the input shape without the batch axis (ONNX layout).
    ``validate`` scans every value for NaN/Inf once (chunked, flat memory).
    """
    path = Path(path)
    target = _target_dtype(dtype)
    shape = [int(d) for d in input_shape]
    if any(d <= 0 for d in shape):
        raise DataShapeError(f"input '{input_name}': shape {shape} must be static (all dims > 0)")
    sources = _open_sources(path, input_name)
    parts = [_validated_part(src, shape, target, scan=validate) for src in sources]
    return _build(input_name, shape, target, parts, str(path))


def _build(input_name: str, shape: list[int], target: np.dtype,
           parts: list[tuple[Source, bool, int]], origin: str) -> CalibrationData:
    data = CalibrationData(input_name, shape, target, parts, origin)
    if len(data) == 0:
        raise EmptyDataError(f"{origin}: no calibration samples (every array is empty)")
    log.info("calibration set %s: %d samples of shape %s", origin, len(data), shape)
    return data


def _target_dtype(dtype: str) -> np.dtype:
    try:
        target = np.dtype(dtype)
    except TypeError:
        raise CalibrationError(f"unknown sample dtype '{dtype}'") from None
    if target.kind != "f":
        raise CalibrationError(f"sample dtype must be a float type, got '{dtype}'")
    return target


def _open_sources(path: Path, input_name: str) -> list[Source]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".npy" and p.is_file())
        if not files:
            raise EmptyDataError(f"{path}: folder holds no .npy files")
        return [NpySource(p) for p in files]
    if not path.exists():
        raise DataFileError(f"{path}: no such file or folder")
    if path.suffix == ".npy":
        return [NpySource(path)]
    if path.suffix == ".npz":
        return [NpzMemberSource(path, _pick_member(path, input_name))]
    raise DataFileError(f"{path}: unsupported calibration file type '{path.suffix}' "
                        "(expected .npz, .npy or a folder of .npy files)")


def _pick_member(path: Path, input_name: str) -> str:
    """The npz member for the input: its name, else ``input``, else the only one."""
    members = npz_members(path)
    keys = [m[:-4] for m in members]
    if not keys:
        raise EmptyDataError(f"{path}: archive holds no arrays")
    for wanted in (input_name, "input"):
        if wanted in keys:
            return wanted + ".npy"
    if len(keys) == 1:
        return members[0]
    raise DataFileError(f"{path}: no array named '{input_name}' or 'input' "
                        f"(keys: {', '.join(sorted(keys))})")


def _validated_part(source: Source, shape: list[int], target: np.dtype,
                    scan: bool = True) -> tuple[Source, bool, int]:
    _check_dtype(source, target)
    batched = _check_shape(source, shape)
    count = source.shape[0] if batched else 1
    if scan:
        _check_finite(source, batched, target)
    return source, batched, count


def _check_dtype(source: Source, target: np.dtype) -> None:
    dtype = source.dtype
    if dtype.hasobject:
        raise DataTypeError(f"{source.label}: holds Python objects (dtype object); "
                            "save plain numeric arrays")
    if dtype.kind == "f":
        return  # float64 -> float32 narrowing is what users expect; overflow shows up as Inf
    if dtype.kind in "biu" and np.can_cast(dtype, target, casting="safe"):
        return
    raise DataTypeError(f"{source.label}: dtype {dtype} cannot be cast to {target} without loss; "
                        f"convert the samples to {target}")


def _check_shape(source: Source, shape: list[int]) -> bool:
    """True when the array is a batch [N, *shape], False when it is one sample."""
    got = list(source.shape)
    if got == shape:
        return False
    if got[1:] == shape:
        return True
    raise DataShapeError(f"{source.label}: array shape {got} does not match the model input "
                         f"(expected [N, {', '.join(map(str, shape))}] or {shape})")


def _check_finite(source: Source, batched: bool, target: np.dtype) -> None:
    start = 0
    for chunk in source.chunks(_VALIDATE_ROWS, batched):
        with np.errstate(over="ignore"):   # float64 beyond float32 becomes Inf: reported below
            values = chunk.astype(target, copy=False) if chunk.dtype.kind == "f" else chunk
        finite = np.isfinite(values).reshape(len(values), -1).all(axis=1)
        if not finite.all():
            index = int(np.argmin(finite))
            _raise_non_finite(source, batched, chunk[index], values[index], start + index)
        start += len(chunk)


def _raise_non_finite(source: Source, batched: bool, stored: np.ndarray,
                      cast: np.ndarray, index: int) -> None:
    where = f"sample {index}" if batched else "the sample"
    if np.isnan(cast).any():
        raise NonFiniteDataError(f"{source.label}: {where} contains NaN")
    if np.isfinite(stored).all():
        raise NonFiniteDataError(f"{source.label}: {where} has values beyond the float32 range")
    raise NonFiniteDataError(f"{source.label}: {where} contains Inf")
