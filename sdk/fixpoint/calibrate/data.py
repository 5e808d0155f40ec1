"""Calibration sample sets: load, validate, stream in batches.

``load_samples`` accepts an ``.npz`` (member named after the model input, else
``input``, else the only member that is not ``label``), an ``.npy`` or a folder
of ``.npy`` files (sorted by file name; each file one sample or a batch). The
reading and checking is :mod:`fixpoint.dataio`'s, shared with ``simulate`` and
``eval``; here every defect becomes the matching :class:`CalibrationDataError`
subclass (one line naming the file and, for bad values, the sample index),
reported up front -- before minutes of inference are spent.

Only the first ``max_samples`` samples are used (default
:data:`DEFAULT_MAX_SAMPLES`, see docs/calibration.md): the statistics of a
range converge long before, and reading a multi-gigabyte set in full would
only cost time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from fixpoint import dataio
from fixpoint.calibrate.errors import (
    CalibrationDataError,
    DataFileError,
    DataShapeError,
    DataTypeError,
    EmptyDataError,
    NonFiniteDataError,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_SAMPLES = 1000

_ERRORS: dict[type, type] = {
    dataio.DataFileError: DataFileError,
    dataio.EmptyDataError: EmptyDataError,
    dataio.NonFiniteDataError: NonFiniteDataError,
    dataio.DataShapeError: DataShapeError,
    dataio.DataTypeError: DataTypeError,
}


@contextmanager
def _calibration_errors() -> Iterator[None]:
    """Data errors as the calibration error classes (the API calibration users catch)."""
    try:
        yield
    except dataio.DataError as exc:
        raise _ERRORS.get(type(exc), CalibrationDataError)(str(exc)) from None


class CalibrationData(dataio.SampleSet):
    """A validated calibration set for one model input.

    ``len(data)`` is the number of samples; ``data.batches(n)`` yields
    ``[<=n, *input_shape]`` arrays of ``dtype`` (fresh arrays, safe to keep).
    """

    @classmethod
    def from_array(
        cls, samples: np.ndarray, input_name: str = "input", dtype: str = "float32", label: str = "<array>"
    ) -> CalibrationData:
        """Wrap in-memory samples ``[N, *input_shape]`` (validated like files)."""
        with _calibration_errors():
            wrapped = dataio.from_array(samples, input_name, dtype, label)
            data = cls(input_name, wrapped.input_shape, wrapped.dtype, wrapped.parts, label)
            data.scan()
        return _non_empty(data)

    def batches(self, batch_size: int, check_finite: bool = False) -> Iterator[np.ndarray]:
        """Consecutive batches across all files; only the last may be short."""
        with _calibration_errors():
            yield from super().batches(batch_size, check_finite)


class CalibrationInputs(dataio.InputSet):
    """A validated calibration set for a model with several inputs (one sample set per input)."""

    def batches(self, batch_size: int, check_finite: bool = False) -> Iterator[list[np.ndarray]]:
        with _calibration_errors():
            yield from super().batches(batch_size, check_finite)

    def scan(self) -> None:
        with _calibration_errors():
            super().scan()


def first_inputs(samples, limit: int) -> list[np.ndarray]:
    """Up to ``limit`` samples of every input (float32, one array per input in model order).

    ``samples``: a CalibrationData / CalibrationInputs, an array (one input) or a list of arrays.
    """
    if isinstance(samples, dataio.InputSet):
        return [np.asarray(a, dtype=np.float32) for a in next(iter(samples.batches(limit)))]
    if isinstance(samples, (list, tuple)):
        return [np.asarray(a, dtype=np.float32)[:limit] for a in samples]
    return [first_samples(samples, limit)]


def first_samples(samples, limit: int) -> np.ndarray:
    """Up to ``limit`` samples, as one float32 array, of an array or of a CalibrationData."""
    if hasattr(samples, "batches"):
        return np.asarray(next(iter(samples.batches(limit))), dtype=np.float32)
    return np.asarray(samples, dtype=np.float32)[:limit]


def load_samples(
    path: str | os.PathLike,
    input_name: str,
    input_shape: list[int],
    dtype: str = "float32",
    validate: bool = True,
    max_samples: int | None = DEFAULT_MAX_SAMPLES,
) -> CalibrationData:
    """Open a calibration set for the model input ``input_name``.

    ``input_shape`` is the input shape without the batch axis (ONNX layout).
    Only the first ``max_samples`` samples are used (None: all; the rest are
    never read). ``validate`` scans them for NaN/Inf once (chunked, flat memory).
    """
    if max_samples is not None and max_samples < 1:
        raise CalibrationDataError(f"--max-samples must be >= 1, got {max_samples}")
    with _calibration_errors():
        opened = dataio.open_samples(
            path, input_name, input_shape, dtype, allow_folder=True, what="calibration samples"
        )
        data = CalibrationData(opened.input_name, opened.input_shape, opened.dtype, opened.parts, opened.origin)
        data = _limited(data, max_samples)
        if validate:
            data.scan()
    log.info("calibration set %s: %d samples of shape %s", data.origin, len(data), data.input_shape)
    return data


def load_inputs(
    path: str | os.PathLike,
    specs: list[tuple[str, list[int]]],
    dtype: str = "float32",
    validate: bool = True,
    max_samples: int | None = DEFAULT_MAX_SAMPLES,
):
    """:func:`load_samples` for every model input: a CalibrationData for one input (every format
    accepted before), a CalibrationInputs for several (an .npz keyed by input name)."""
    if len(specs) == 1:
        return load_samples(path, specs[0][0], specs[0][1], dtype, validate, max_samples)
    if max_samples is not None and max_samples < 1:
        raise CalibrationDataError(f"--max-samples must be >= 1, got {max_samples}")
    with _calibration_errors():
        opened = dataio.open_inputs(path, specs, dtype, what="calibration samples")
        data = CalibrationInputs(opened.sets, opened.origin)
        data = _limited(data, max_samples)
        if validate:
            data.scan()
    log.info(
        "calibration set %s: %d samples of inputs %s",
        data.origin,
        len(data),
        ", ".join(f"{n} {s}" for n, s in zip(data.input_names, data.input_shapes)),
    )
    return data


def _limited(data: CalibrationData, max_samples: int | None) -> CalibrationData:
    if max_samples is None or len(data) <= max_samples:
        return data
    log.info(
        "calibration set %s: using the first %d of %d samples, the other %d are ignored (--max-samples)",
        data.origin,
        max_samples,
        len(data),
        len(data) - max_samples,
    )
    return data.head(max_samples)


def _non_empty(data: CalibrationData) -> CalibrationData:
    if len(data) == 0:
        raise EmptyDataError(f"{data.origin}: no calibration samples (every array is empty)")
    log.info("calibration set %s: %d samples of shape %s", data.origin, len(data), data.input_shape)
    return data
