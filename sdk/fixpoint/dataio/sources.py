"""Readers for the files a sample set can come from.

Each source knows, from the file header alone, its array shape and dtype, and
yields the samples in row chunks without ever holding the whole array:

* ``.npy``: a fresh memory map per chunk (``np.memmap`` with an offset), so
  pages already consumed are unmapped and do not pile up in the resident set
  (one long-lived map of a big file would make RSS grow with the set size);
* ``.npz`` member: the zip member is decompressed as a stream, chunk by
  chunk (``np.load`` on an npz would inflate the whole member at once);
* in-memory array: plain slices.

Nothing is opened before :func:`check_path` has seen a regular file (a FIFO
would block ``open`` forever), and files are opened non-blocking on top of
that, so a file swapped for a FIFO in between cannot hang us either. Zip
members are checked against their declared sizes before any data is read.
Validation of the values (dtype, shape, NaN/Inf) lives in
:mod:`fixpoint.dataio.samples`.
"""

from __future__ import annotations

import lzma
import math
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from fixpoint.dataio.errors import DataFileError, EmptyDataError, one_line

# A member inflating beyond this many bytes at more than ZIP_BOMB_RATIO : 1 is refused: real
# sample data (images, audio, features, even mostly-zero ones) compresses far less, while a
# zip bomb reaches about 1000 : 1 with DEFLATE.
ZIP_BOMB_MIN_BYTES = 64 << 20
ZIP_BOMB_RATIO = 100
# Rows of a Fortran-ordered npz member are spread over the whole member: such a member is
# inflated at once, so it is only accepted up to this size.
FORTRAN_NPZ_MAX_BYTES = 256 << 20
# Everything zipfile / zlib / numpy may raise on a damaged archive or member.
READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    OverflowError,
    RuntimeError,
    NotImplementedError,
    SyntaxError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
)

_NOT_REGULAR = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_path(path: Path, allow_folder: bool = False) -> os.stat_result:
    """Refuse, without opening it, anything but a regular file (or a folder when allowed)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file or folder") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({one_line(exc.strerror or exc)})") from None
    if stat.S_ISDIR(info.st_mode):
        if allow_folder:
            return info
        raise DataFileError(f"{path}: is a directory, expected an .npz or .npy file")
    for test, kind in _NOT_REGULAR:
        if test(info.st_mode):
            raise DataFileError(f"{path}: is {kind}, not a regular file")
    if not stat.S_ISREG(info.st_mode):
        raise DataFileError(f"{path}: not a regular file")
    if info.st_size == 0:
        raise DataFileError(f"{path}: empty file (0 bytes)")
    return info


def open_regular(path: Path) -> IO[bytes]:
    """Open for reading without ever blocking; refuses what is not a regular file."""
    check_path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({one_line(exc.strerror or exc)})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between the check and the open
        os.close(fd)
        raise DataFileError(f"{path}: not a regular file")
    return os.fdopen(fd, "rb")


def read_npy_header(fp: IO[bytes], label: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    """(shape, dtype, fortran_order) of the .npy stream at its start; leaves fp at the data."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        else:  # 2.0 and 3.0 share the 4-byte header length
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    except READ_ERRORS as exc:
        raise DataFileError(f"{label}: not a readable .npy array ({one_line(exc)})") from None
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise DataFileError(f"{label}: .npy header has a negative dimension {list(shape)}")
    return shape, np.dtype(dtype), bool(fortran)


def data_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    """Bytes of an array (exact integer arithmetic: a crafted header cannot overflow it)."""
    return math.prod(shape) * dtype.itemsize


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
        with open_regular(path) as fp:
            self.shape, self.dtype, self.fortran = read_npy_header(fp, self.label)
            self.offset = fp.tell()
            size = os.fstat(fp.fileno()).st_size
        if self.dtype.hasobject:
            return  # rejected with a dtype message by the validator
        expected = self.offset + data_bytes(self.shape, self.dtype)
        if size < expected:
            raise DataFileError(f"{path}: truncated .npy file ({size} bytes, header promises {expected})")

    def chunks(self, rows: int, batched: bool) -> Iterator[np.ndarray]:
        if math.prod(self.shape) == 0:
            return
        if not batched:
            yield self._map(0, self.shape)[None]
            return
        if self.fortran:
            # Rows of a Fortran-ordered array are strided across the whole file;
            # one map of the file is the only sensible way to read them.
            whole = self._map(0, self.shape)
            for start in range(0, self.shape[0], rows):
                yield whole[start : start + rows]
            return
        row_bytes = data_bytes(self.shape[1:], self.dtype)
        for start in range(0, self.shape[0], rows):
            count = min(rows, self.shape[0] - start)
            yield self._map(start * row_bytes, (count, *self.shape[1:]))

    def _map(self, byte_offset: int, shape: tuple[int, ...]) -> np.ndarray:
        order = "F" if self.fortran else "C"
        try:
            with open_regular(self.path) as fp:
                return np.memmap(
                    fp, dtype=self.dtype, mode="r", offset=self.offset + byte_offset, shape=shape, order=order
                )
        except (OSError, ValueError) as exc:  # the file shrank since its header was read
            raise DataFileError(f"{self.label}: cannot read ({one_line(exc)})") from None


class NpzMemberSource(Source):
    """One member of an .npz archive, inflated as a stream."""

    def __init__(self, path: Path, info: zipfile.ZipInfo) -> None:
        self.path = path
        self.member = info.filename
        self.key = member_key(info.filename)
        self.label = f"{path}[{self.key}]"
        _check_not_a_bomb(self.label, info)
        with self._open() as fp:
            self.shape, self.dtype, self.fortran = read_npy_header(fp, self.label)
            header_bytes = fp.tell()
        if self.dtype.hasobject:
            return  # rejected with a dtype message by the validator
        promised = header_bytes + data_bytes(self.shape, self.dtype)
        if info.file_size != promised:
            raise DataFileError(
                f"{self.label}: the archive declares {info.file_size} bytes for this array, "
                f"its header promises {promised} (shape {list(self.shape)}, {self.dtype})"
            )
        if self.fortran and promised > FORTRAN_NPZ_MAX_BYTES:
            raise DataFileError(
                f"{self.label}: a Fortran-ordered array of {promised} bytes in an .npz cannot be "
                f"streamed (limit {FORTRAN_NPZ_MAX_BYTES}); save it C-ordered or as .npy"
            )

    @contextmanager
    def _open(self) -> Iterator[IO[bytes]]:
        with open_regular(self.path) as raw:
            try:
                archive = zipfile.ZipFile(raw)
                member = archive.open(self.member)
            except READ_ERRORS as exc:
                raise DataFileError(f"{self.label}: cannot read ({one_line(exc)})") from None
            with archive, member:
                yield member

    def chunks(self, rows: int, batched: bool) -> Iterator[np.ndarray]:
        if math.prod(self.shape) == 0:
            return
        with self._open() as fp:
            read_npy_header(fp, self.label)  # already validated in __init__
            if self.fortran or not batched:
                whole = self._read_rows(fp, math.prod(self.shape), ())
                whole = whole.reshape(self.shape, order="F" if self.fortran else "C")
                if not batched:
                    yield whole[None]
                    return
                for start in range(0, self.shape[0], rows):
                    yield whole[start : start + rows]
                return
            for start in range(0, self.shape[0], rows):
                count = min(rows, self.shape[0] - start)
                yield self._read_rows(fp, count, self.shape[1:])

    def _read_rows(self, fp: IO[bytes], count: int, row_shape: tuple[int, ...]) -> np.ndarray:
        nbytes = count * data_bytes(row_shape, self.dtype)
        try:
            raw = fp.read(nbytes)
        except READ_ERRORS as exc:
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
            yield self.array[start : start + rows]


def member_key(name: str) -> str:
    """The numpy key of an npz member (``input.npy`` -> ``input``)."""
    return name.removesuffix(".npy")


def npz_members(path: Path) -> dict[str, zipfile.ZipInfo]:
    """Array members of an .npz file by key, from its central directory only."""
    with open_regular(path) as raw:
        try:
            with zipfile.ZipFile(raw) as archive:
                infos = archive.infolist()
        except READ_ERRORS as exc:
            raise DataFileError(f"{path}: not a readable .npz archive ({one_line(exc)})") from None
    members = {member_key(i.filename): i for i in infos if i.filename.endswith(".npy") and not i.is_dir()}
    if not members:
        raise EmptyDataError(f"{path}: archive holds no arrays")
    return members


def _check_not_a_bomb(label: str, info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise DataFileError(f"{label}: member is encrypted")
    size, packed = info.file_size, max(info.compress_size, 1)
    if size > ZIP_BOMB_MIN_BYTES and size > ZIP_BOMB_RATIO * packed:
        raise DataFileError(
            f"{label}: member inflates to {size} bytes from {info.compress_size} "
            f"({size // packed}:1); refusing a likely zip bomb (limit {ZIP_BOMB_RATIO}:1 "
            f"above {ZIP_BOMB_MIN_BYTES >> 20} MiB)"
        )
