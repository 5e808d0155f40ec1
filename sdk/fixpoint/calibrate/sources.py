"""Readers for the files a calibration set can come from.

Each source knows, from the file header alone, its array shape and dtype, and
yields the samples in row chunks without ever holding the whole array:

* ``.npy``: a fresh memory map per chunk (``np.memmap`` with an offset), so
  pages already consumed are unmapped and do not pile up in the resident set
  (one long-lived map of a big file would make RSS grow with the set size);
* ``.npz`` member: the zip member is decompressed as a stream, chunk by
  chunk (``np.load`` on an npz would inflate the whole member at once);
* in-memory array (``CalibrationData.from_array``): plain slices.

Validation (dtype, shape, NaN/Inf) lives in :mod:`fixpoint.calibrate.data`.
"""
from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from fixpoint.calibrate.errors import DataFileError, one_line


def _read_npy_header(fp: IO[bytes], label: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    """(shape, dtype, fortran_order) of the .npy stream at its start; leaves fp at the data."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        else:  # 2.0 and 3.0 share the 4-byte header length
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    except (ValueError, OSError, EOFError, SyntaxError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataFileError(f"{label}: not a readable .npy array ({one_line(exc)})") from None
    return tuple(int(d) for d in shape), np.dtype(dtype), bool(fortran)


class Source:
    """One array of samples; ``shape`` is the array shape as stored."""

    label: str
    shape: tuple[int, ...]
    dtype: np.dtype

    def chunks(self, rows: int, batched: bool) -> Iterator[np.ndarray]:
        """Yield consecutive row blocks ``[k, *sample_shape]`` in the stored dtype.

        ``batched`` False means the whole array is one sample (no batch axis).
        """
        raise NotImplementedError


class NpySource(Source):
    """A .npy file read through short-lived memory maps."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = str(path)
        try:
            with open(path, "rb") as fp:
                self.shape, self.dtype, self.fortran = _read_npy_header(fp, self.label)
                self.offset = fp.tell()
            size = path.stat().st_size
        except OSError as exc:
            raise DataFileError(f"{path}: cannot read ({one_line(exc.strerror or exc)})") from None
        if self.dtype.hasobject:
            return  # rejected with a dtype message by the validator
        expected = self.offset + int(np.prod(self.shape)) * self.dtype.itemsize
        if size < expected:
            raise DataFileError(f"{path}: truncated .npy file ({size} bytes, header promises {expected})")

    def chunks(self, rows: int, batched: bool) -> Iterator[np.ndarray]:
        if int(np.prod(self.shape)) == 0:
            return
        if not batched:
            yield self._map(0, self.shape)[None]
            return
        if self.fortran:
            # Rows of a Fortran-ordered array are strided across the whole file;
            # one map of the file is the only sensible way to read them.
            whole = np.load(self.path, mmap_mode="r", allow_pickle=False)
            for start in range(0, self.shape[0], rows):
                yield whole[start:start + rows]
            return
        row_bytes = int(np.prod(self.shape[1:])) * self.dtype.itemsize
        for start in range(0, self.shape[0], rows):
            count = min(rows, self.shape[0] - start)
            yield self._map(start * row_bytes, (count, *self.shape[1:]))

    def _map(self, byte_offset: int, shape: tuple[int, ...]) -> np.ndarray:
        order = "F" if self.fortran else "C"
        return np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset + byte_offset,
                         shape=shape, order=order)


class NpzMemberSource(Source):
    """One member of an .npz archive, inflated as a stream."""

    def __init__(self, path: Path, member: str) -> None:
        self.path = path
        self.member = member
        self.label = f"{path}[{member[:-4] if member.endswith('.npy') else member}]"
        with self._open() as fp:
            self.shape, self.dtype, self.fortran = _read_npy_header(fp, self.label)

    @contextmanager
    def _open(self) -> Iterator[IO[bytes]]:
        try:
            archive = zipfile.ZipFile(self.path)
            member = archive.open(self.member)
        except (OSError, zipfile.BadZipFile, KeyError) as exc:
            raise DataFileError(f"{self.label}: cannot read ({one_line(exc)})") from None
        with archive, member:
            yield member

    def chunks(self, rows: int, batched: bool) -> Iterator[np.ndarray]:
        if int(np.prod(self.shape)) == 0:
            return
        with self._open() as fp:
            _read_npy_header(fp, self.label)
            if self.fortran or not batched:
                whole = self._read_rows(fp, int(np.prod(self.shape)), ())
                whole = whole.reshape(self.shape, order="F" if self.fortran else "C")
                if not batched:
                    yield whole[None]
                    return
                for start in range(0, self.shape[0], rows):
                    yield whole[start:start + rows]
                return
            for start in range(0, self.shape[0], rows):
                count = min(rows, self.shape[0] - start)
                yield self._read_rows(fp, count, self.shape[1:])

    def _read_rows(self, fp: IO[bytes], count: int, row_shape: tuple[int, ...]) -> np.ndarray:
        nbytes = count * int(np.prod(row_shape)) * self.dtype.itemsize
        try:
            raw = fp.read(nbytes)
        except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise DataFileError(f"{self.label}: cannot read ({one_line(exc)})") from None
        if len(raw) != nbytes:
            raise DataFileError(f"{self.label}: truncated array data")
        return np.frombuffer(raw, dtype=self.dtype).reshape((count, *row_shape))


class ArraySource(Source):
    """Samples already in memory (tests, notebooks)."""

    def __init__(self, array: np.ndarray, label: str) -> None:
        self.array = np.asarray(array)
        self.label = label
        self.shape = tuple(self.array.shape)
        self.dtype = self.array.dtype

    def chunks(self, rows: int, batched: bool) -> Iterator[np.ndarray]:
        if self.array.size == 0:
            return
        if not batched:
            yield self.array[None]
            return
        for start in range(0, self.shape[0], rows):
            yield self.array[start:start + rows]


def npz_members(path: Path) -> list[str]:
    """Array member names of an .npz file (with their ``.npy`` suffix)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return [name for name in archive.namelist() if name.endswith(".npy")]
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"{path}: not a readable .npz archive ({one_line(exc)})") from None
