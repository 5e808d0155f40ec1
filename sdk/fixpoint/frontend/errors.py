"""Errors raised while loading and normalizing a model.

All are :class:`fixpoint.ir.ModelError` subclasses whose ``str()`` is a single
line naming the culprit (file, tensor or node), because the CLI prints it
verbatim as ``error: <message>``. Text from onnx / protobuf goes through
:func:`one_line`; names from the file are escaped by ``ModelError.__str__``
(not collapsed, so a hostile name stays recognisable) and shortened by
:func:`short_name` when absurdly long.
"""

from __future__ import annotations

from fixpoint.ir import ModelError


MAX_NAME_CHARS = 120


def one_line(text: object) -> str:
    """Collapse whitespace so messages from onnx/protobuf stay on one line."""
    return " ".join(str(text).split())


def short_name(name: str) -> str:
    """A name from the model, cut to a readable length (an error line, not a dump)."""
    if len(name) <= MAX_NAME_CHARS:
        return name
    return f"{name[: MAX_NAME_CHARS - 20]}...({len(name)} characters)"


class _OneLineError(ModelError):
    """Common base of the front-end errors (``ModelError.__str__`` keeps each on one line)."""


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
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"{count} unsupported node{'s' if count != 1 else ''}: " + "; ".join(self.problems))


class NormalizeError(_OneLineError):
    """A graph structure the normalizer cannot map onto the runtime ops."""
