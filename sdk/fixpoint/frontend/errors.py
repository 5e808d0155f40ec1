"""Errors raised while loading and normalizing a model.

All are :class:`fixpoint.ir.ModelError` subclasses whose ``str()`` is a single
line naming the culprit (file, tensor or node), because the CLI prints it
verbatim as ``error: <message>``.
"""
from __future__ import annotations

from fixpoint.ir import ModelError


def one_line(text: str) -> str:
    """Collapse whitespace so messages from onnx/protobuf stay on one line."""
    return " ".join(str(text).split())


class _OneLineError(ModelError):
    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class ModelFileError(_OneLineError):
    """The file cannot be read or is not a (complete) ONNX model."""


class OpsetError(_OneLineError):
    """The model's default-domain opset is outside the supported range."""


class ModelCheckError(_OneLineError):
    """onnx.checker rejected the model."""


class DynamicShapeError(_OneLineError):
    """A tensor shape cannot be made static."""


class UnsupportedInputError(_OneLineError):
    """A graph input of a type the integer runtime cannot take (only float32)."""


class UnsupportedOpError(_OneLineError):
    """One or more nodes use ops or attributes the toolchain cannot handle.

    ``problems`` keeps the per-node entries (``name (OpType): reason``).
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = [one_line(p) for p in problems]
        count = len(self.problems)
        super().__init__(f"{count} unsupported node{'s' if count != 1 else ''}: "
                         + "; ".join(self.problems))


class NormalizeError(_OneLineError):
    """A graph structure the normalizer cannot map onto the runtime ops."""
