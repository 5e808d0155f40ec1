"""Tiny ONNX models built with onnx.helper for the calibration tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CONV_OUT = "conv_out"
RELU_OUT = "relu_out"
FLAT_OUT = "flat_out"
LOGITS = "logits"


def build_conv_relu_gemm(path: Path, seed: int = 0, batch: int | str = "N") -> onnx.ModelProto:
    """input [batch,1,6,6] -> Conv(4, 3x3, pad 1) -> Relu -> Flatten -> Gemm(5) -> logits."""
    rng = np.random.default_rng(seed)
    weights = {
        "conv_w": rng.normal(0, 0.5, (4, 1, 3, 3)).astype(np.float32),
        "conv_b": rng.normal(0, 0.1, (4,)).astype(np.float32),
        "fc_w": rng.normal(0, 0.2, (5, 4 * 6 * 6)).astype(np.float32),
        "fc_b": np.zeros(5, np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["input", "conv_w", "conv_b"], [CONV_OUT], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", [CONV_OUT], [RELU_OUT], name="relu1"),
        helper.make_node("Flatten", [RELU_OUT], [FLAT_OUT], name="flatten"),
        helper.make_node("Gemm", [FLAT_OUT, "fc_w", "fc_b"], [LOGITS], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "conv_relu_gemm",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 1, 6, 6])],
        [helper.make_tensor_value_info(LOGITS, TensorProto.FLOAT, [batch, 5])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return model
