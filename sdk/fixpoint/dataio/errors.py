"""Errors of sample files (.npy, .npz, folders of .npy).

All are :class:`fixpoint.ir.ModelError` subclasses with a one-line ``str()``
naming the file (and the npz key, the field, the sample index), because the
CLI prints the message verbatim as ``error: <message>`` and exits 2.
"""

from __future__ import annotations

from fixpoint.ir import ModelError


def one_line(text: object) -> str:
    """Collapse whitespace so messages from numpy / zipfile stay on one line."""
    return " ".join(str(text).split())


class DataError(ModelError):
    """A sample file is unusable (base class)."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class DataFileError(DataError):
    """The file cannot be read: missing, not a regular file, truncated, corrupt, a zip bomb."""


class EmptyDataError(DataError):
    """No samples at all."""


class NonFiniteDataError(DataError):
    """A sample holds NaN or Inf."""


class DataShapeError(DataError):
    """The array shape does not fit the model input (or the labels do not fit the samples)."""


class DataTypeError(DataError):
    """The dtype cannot be cast to the sample dtype without loss (strings, objects, complex, int64)."""
