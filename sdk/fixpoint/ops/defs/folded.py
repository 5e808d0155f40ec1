"""ONNX ops that normalization removes or folds away; no runtime op of their own."""

from __future__ import annotations

from fixpoint.ops.rows import OnnxOp

_CHECKS = "fixpoint.ops.onnx_ops"
_LIFT_NONE = "fixpoint.frontend.lift_1d:lift_none"

ONNX = (
    OnnxOp(
        "BatchNormalization",
        check=f"{_CHECKS}:_batchnorm_check",
        becomes="folded into conv2d / fully_connected",
        normalized_by="fold_batchnorm",
        lift_1d=_LIFT_NONE,
    ),
    OnnxOp(
        "Identity",
        check=f"{_CHECKS}:_identity_check",
        becomes="removed",
        normalized_by="drop_identity",
        lift_1d=_LIFT_NONE,
    ),
    OnnxOp(
        "Dropout",
        check=f"{_CHECKS}:_dropout_check",
        becomes="removed",
        normalized_by="drop_identity",
        lift_1d=_LIFT_NONE,
    ),
    OnnxOp("Constant", check=f"{_CHECKS}:_constant_check", becomes="constant Value", normalized_by="fold_constants"),
    OnnxOp("Shape", check=f"{_CHECKS}:_shape_check", becomes="constant Value", normalized_by="fold_constants"),
)

RUNTIME = ()
