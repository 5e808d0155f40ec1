"""Front end: load an ONNX file into an ONNX-stage :class:`fixpoint.ir.Graph`."""

from fixpoint.frontend.errors import (
    DynamicShapeError,
    ModelCheckError,
    ModelFileError,
    NormalizeError,
    OpsetError,
    UnsupportedInputError,
    UnsupportedOpError,
)
from fixpoint.frontend.loader import MAX_OPSET, MIN_OPSET, load_model

__all__ = [
    "load_model",
    "MIN_OPSET",
    "MAX_OPSET",
    "ModelFileError",
    "OpsetError",
    "ModelCheckError",
    "DynamicShapeError",
    "UnsupportedInputError",
    "UnsupportedOpError",
    "NormalizeError",
]
