"""Sample sets for one model input: open, validate, stream in batches.

``open_samples`` accepts an ``.npz`` (member named after the model input, else
``input``, else the only member that is not the labels), an ``.npy`` or, when
allowed, a folder of ``.npy`` files (sorted by file name; each file one sample
or a batch). Everything that the file headers tell (file kind, archive
integrity, member sizes, dtype, shape) is checked up front, before a single
sample is read; bad values (NaN, Inf, float64 beyond the float32 range) are
reported with the sample index, either in a validation pass (``scan``) or as
the batches stream by (``batches(check_finite=True)``). Every defect is a
one-line :class:`fixpoint.dataio.errors.DataError` naming the file.

Memory stays flat whatever the set size: files are read in row chunks (see
:mod:`fixpoint.dataio.sources`) both for validation and for batching.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fixpoint.dataio.errors import (
    DataError,
    DataFileError,
    DataShapeError,
    DataTypeError,
    EmptyDataError,
    NonFiniteDataError,
)
from fixpoint.dataio.sources import ArraySource, NpySource, NpzMemberSource, Source, check_path, npz_members

log = logging.getLogger(__name__)

LABEL_KEY = "label"
SCAN_ROWS = 256  # rows per chunk of the validation pass

# dtypes that are not numbers at all, by numpy kind
_NOT_NUMBERS = {"U": "strings", "S": "byte strings", "V": "structured records", "M": "dates", "m": "time spans"}


@dataclass(frozen=True)
class Part:
    """The samples one source contributes."""

    source: Source
    batched: bool  # [N, *shape] (True) or one sample of exactly the input shape (False)
    count: int  # samples used: all stored ones, or fewer after ``SampleSet.head``


class SampleSet:
    """A validated sample set for one model input.

    ``len(s)`` is the number of samples; ``s.batches(n)`` yields
    ``[<=n, *input_shape]`` arrays of ``dtype`` (fresh arrays, safe to keep).
    """

    def __init__(
        self, input_name: str, input_shape: list[int], dtype: np.dtype, parts: list[Part], origin: str
    ) -> None:
        self.input_name = input_name
        self.input_shape = list(input_shape)
        self.dtype = np.dtype(dtype)
        self.origin = origin
        self.parts = parts

    def __len__(self) -> int:
        return sum(part.count for part in self.parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.origin!r}, input={self.input_name!r}, "
            f"shape={self.input_shape}, samples={len(self)})"
        )

    def head(self, limit: int) -> SampleSet:
        """The first ``limit`` samples (a view: nothing is read)."""
        parts, left = [], max(0, limit)
        for part in self.parts:
            if left == 0:
                break
            parts.append(replace(part, count=min(part.count, left)))
            left -= parts[-1].count
        return type(self)(self.input_name, self.input_shape, self.dtype, parts, self.origin)

    def scan(self) -> None:
        """Read every sample once (chunked) and raise on the first NaN/Inf, naming its index."""
        for part in self.parts:
            for _ in part_chunks(part, SCAN_ROWS, self.dtype, check_finite=True):
                pass

    def batches(self, batch_size: int, check_finite: bool = False) -> Iterator[np.ndarray]:
        """Consecutive batches across all files; only the last may be short."""
        if batch_size < 1:
            raise DataError(f"batch size must be >= 1, got {batch_size}")
        chunks = (chunk for part in self.parts for chunk in part_chunks(part, batch_size, self.dtype, check_finite))
        return rebatch(chunks, batch_size, self.input_shape, self.dtype)

    @property
    def input_names(self) -> list[str]:
        """The one input's name (the same interface as :class:`fixpoint.dataio.multi.InputSet`)."""
        return [self.input_name]

    def feeds(self, batch_size: int, check_finite: bool = False) -> Iterator[dict[str, np.ndarray]]:
        """Batches keyed by the input name (an onnxruntime feed)."""
        return ({self.input_name: batch} for batch in self.batches(batch_size, check_finite))

    def read_all(self, check_finite: bool = True) -> np.ndarray:
        """Every sample as one array (for callers that need it whole, e.g. the board check)."""
        out = np.empty((len(self), *self.input_shape), self.dtype)
        start = 0
        for batch in self.batches(max(1, min(len(self), 4096)), check_finite):
            out[start : start + len(batch)] = batch
            start += len(batch)
        return out


def rebatch(
    chunks: Iterable[np.ndarray], batch_size: int, row_shape: list[int] | tuple[int, ...], dtype: np.dtype
) -> Iterator[np.ndarray]:
    """Regroup row chunks of any sizes into fresh ``[batch_size, *row_shape]`` arrays of ``dtype``."""
    shape = (batch_size, *row_shape)
    buf, fill = np.empty(shape, dtype), 0
    for chunk in chunks:
        pos = 0
        while pos < len(chunk):
            take = min(batch_size - fill, len(chunk) - pos)
            with np.errstate(over="ignore"):  # float64 beyond float32: reported by the finite check
                buf[fill : fill + take] = chunk[pos : pos + take]  # casts to dtype
            fill += take
            pos += take
            if fill == batch_size:
                yield buf
                buf, fill = np.empty(shape, dtype), 0
    if fill:
        yield buf[:fill]


def part_chunks(part: Part, rows: int, target: np.dtype, check_finite: bool) -> Iterator[np.ndarray]:
    """The part's chunks, cut at ``part.count`` samples, optionally checked for NaN/Inf."""
    start = 0
    if part.count == 0:
        return
    with closing(part.source.chunks(rows, part.batched)) as chunks:
        for chunk in chunks:
            chunk = chunk[: part.count - start]
            if check_finite:
                _check_finite(part, chunk, start, target)
            yield chunk
            start += len(chunk)
            if start >= part.count:
                return


def open_samples(
    path: str | Path,
    input_name: str | None,
    input_shape: list[int] | None,
    dtype: str = "float32",
    allow_folder: bool = False,
    label_key: str = LABEL_KEY,
    what: str = "samples",
) -> SampleSet:
    """Open the samples of model input ``input_name`` from a file (or folder), checking every header.

    ``input_shape`` is the input shape without the batch axis (model layout); None accepts any
    ``[N, ...]`` array. ``what`` names the samples in the message of an empty set.
    """
    path = Path(path)
    target = target_dtype(dtype)
    if input_shape is not None and any(int(d) <= 0 for d in input_shape):
        raise DataShapeError(f"input '{input_name}': shape {list(input_shape)} must be static (all dims > 0)")
    sources = open_sources(path, input_name, allow_folder, label_key)
    shape = None if input_shape is None else [int(d) for d in input_shape]
    if shape is None:  # any [N, ...]: the first file decides
        shape = _batch_shape(sources[0])
    parts = [validated_part(source, shape, target) for source in sources]
    samples = SampleSet(input_name or "input", shape, target, parts, str(path))
    if len(samples) == 0:
        raise EmptyDataError(f"{path}: no {what} (every array is empty)")
    return samples


def from_array(
    samples: np.ndarray, input_name: str = "input", dtype: str = "float32", label: str = "<array>"
) -> SampleSet:
    """Wrap in-memory samples ``[N, *input_shape]`` (validated like files)."""
    samples = np.asarray(samples)
    if samples.ndim < 1:
        raise DataShapeError(f"{label}: expected an array [N, ...] of samples, got a scalar")
    target = target_dtype(dtype)
    shape = list(samples.shape[1:])
    return SampleSet(input_name, shape, target, [validated_part(ArraySource(samples, label), shape, target)], label)


def target_dtype(dtype: str | np.dtype) -> np.dtype:
    try:
        target = np.dtype(dtype)
    except TypeError:
        raise DataError(f"unknown sample dtype '{dtype}'") from None
    if target.kind != "f":
        raise DataError(f"sample dtype must be a float type, got '{dtype}'")
    return target


def open_sources(
    path: Path, input_name: str | None, allow_folder: bool = False, label_key: str = LABEL_KEY
) -> list[Source]:
    """The sources of a sample file or folder (headers read and checked, no data)."""
    if stat.S_ISDIR(check_path(path, allow_folder).st_mode):
        files = sorted(p for p in path.iterdir() if p.suffix == ".npy" and p.is_file())
        if not files:
            raise EmptyDataError(f"{path}: folder holds no .npy files")
        return [NpySource(p) for p in files]
    if path.suffix == ".npy":
        return [NpySource(path)]
    if path.suffix == ".npz":
        return [NpzMemberSource(path, pick_member(path, input_name, label_key))]
    kinds = ".npz, .npy or a folder of .npy files" if allow_folder else ".npz or .npy"
    raise DataFileError(f"{path}: unsupported sample file type '{path.suffix}' (expected {kinds})")


def pick_member(path: Path, input_name: str | None, label_key: str = LABEL_KEY):
    """The npz member of the samples: named like the input, else ``input``, else the only non-label one."""
    members = npz_members(path)
    for wanted in (input_name, "input"):
        if wanted and wanted in members:
            return members[wanted]
    candidates = [key for key in members if key != label_key and not key.startswith(label_key + "/")]
    if len(candidates) == 1:
        return members[candidates[0]]
    keys = ", ".join(sorted(members))
    if not candidates:
        raise EmptyDataError(f"{path}: archive holds no sample array, only '{label_key}' (keys: {keys})")
    names = " or ".join(f"'{n}'" for n in dict.fromkeys(n for n in (input_name, "input") if n))
    raise DataFileError(f"{path}: no array named {names} (keys: {keys})")


def validated_part(source: Source, shape: list[int], target: np.dtype) -> Part:
    """Dtype and shape of a source against the model input (header only, no data read)."""
    check_dtype(source, target)
    batched = _check_shape(source, shape)
    return Part(source, batched, source.shape[0] if batched else 1)


def check_dtype(source: Source, target: np.dtype) -> None:
    dtype = source.dtype
    if dtype.hasobject:
        raise DataTypeError(f"{source.label}: holds Python objects (dtype object); save plain numeric arrays")
    if dtype.kind in _NOT_NUMBERS:
        raise DataTypeError(
            f"{source.label}: holds {_NOT_NUMBERS[dtype.kind]} (dtype {dtype}), not numbers; "
            f"save the samples as {target}"
        )
    if dtype.kind == "f":
        return  # float64 -> float32 narrowing is what users expect; overflow shows up as Inf
    if dtype.kind in "biu" and np.can_cast(dtype, target, casting="safe"):
        return
    raise DataTypeError(
        f"{source.label}: dtype {dtype} cannot be cast to {target} without loss; convert the samples to {target}"
    )


def _batch_shape(source: Source) -> list[int]:
    if len(source.shape) < 1:
        raise DataShapeError(f"{source.label}: expected an array [N, ...] of samples, got a scalar")
    return list(source.shape[1:])


def _check_shape(source: Source, shape: list[int]) -> bool:
    """True when the array is a batch [N, *shape], False when it is one sample."""
    got = list(source.shape)
    if got == shape:
        return False
    if got[1:] == shape:
        return True
    raise DataShapeError(
        f"{source.label}: array shape {got} does not match the model input "
        f"(expected [N, {', '.join(map(str, shape))}] or {shape})"
    )


def _check_finite(part: Part, chunk: np.ndarray, start: int, target: np.dtype) -> None:
    if chunk.dtype.kind != "f":
        return  # integers cast safely: always finite
    with np.errstate(over="ignore"):  # float64 beyond float32 becomes Inf: reported below
        values = chunk.astype(target, copy=False)
    finite = np.isfinite(values).reshape(len(values), -1).all(axis=1)
    if not finite.all():
        index = int(np.argmin(finite))
        _raise_non_finite(part, chunk[index], values[index], start + index)


def _raise_non_finite(part: Part, stored: np.ndarray, cast: np.ndarray, index: int) -> None:
    label = part.source.label
    where = f"sample {index}" if part.batched else "the sample"
    if np.isnan(cast).any():
        raise NonFiniteDataError(f"{label}: {where} contains NaN")
    if np.isfinite(stored).all():
        raise NonFiniteDataError(f"{label}: {where} has values beyond the {cast.dtype} range")
    raise NonFiniteDataError(f"{label}: {where} contains Inf")


def open_labels(path: str | Path, count: int, label_key: str = LABEL_KEY) -> Source | None:
    """The labels member of an .npz (checked: integer class indices, one per sample), or None."""
    path = Path(path)
    if path.suffix != ".npz":
        return None
    members = npz_members(path)
    if label_key not in members:
        return None
    source = NpzMemberSource(path, members[label_key])
    if source.dtype.kind not in "iu":
        raise DataTypeError(f"{source.label}: labels must be integer class indices, got dtype {source.dtype}")
    if list(source.shape) not in ([count], [count, 1]):
        raise DataShapeError(
            f"{source.label}: labels of shape {list(source.shape)} for {count} samples (expected [{count}])"
        )
    return source


def scan_labels(source: Source) -> None:
    """Read the labels once (a damaged member fails here, before any work is done)."""
    for _ in source.chunks(1 << 16, batched=True):
        pass


def label_batches(source: Source, batch_size: int) -> Iterator[np.ndarray]:
    """The labels as int64 batches aligned with ``SampleSet.batches(batch_size)``."""
    chunks = (chunk.reshape(len(chunk)) for chunk in source.chunks(batch_size, batched=True))
    return rebatch(chunks, batch_size, (), np.dtype(np.int64))
