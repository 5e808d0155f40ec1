"""Errors raised while loading calibration data and calibrating.

All are :class:`fixpoint.ir.ModelError` subclasses with a one-line ``str()``
naming the culprit (file, sample index, tensor, option), because the CLI
prints the message verbatim as ``error: <message>``.
"""

from __future__ import annotations

from fixpoint.ir import ModelError


def one_line(text: object) -> str:
    """Collapse whitespace so messages from numpy / zipfile stay on one line."""
    return " ".join(str(text).split())


class CalibrationError(ModelError):
    """Calibration failed (bad option, bad model output)."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class CalibrationDataError(CalibrationError):
    """The calibration sample set is unusable (base class of the data errors)."""


class DataFileError(CalibrationDataError):
    """A sample file cannot be read (missing, truncated, not .npy/.npz, pickled objects)."""


class EmptyDataError(CalibrationDataError):
    """No samples at all."""


class NonFiniteDataError(CalibrationDataError):
    """A sample holds NaN or Inf."""


class DataShapeError(CalibrationDataError):
    """A sample's shape differs from the model input shape."""


class DataTypeError(CalibrationDataError):
    """A sample's dtype cannot be cast to float32 without losing information."""
