"""Evaluate one ONNX node on constant inputs with onnxruntime.

Used to fold shape arithmetic at load time (when ONNX data propagation cannot
resolve a shape) and constant subgraphs in the normalizer: running the node as
a one-node model gives exact ONNX semantics for every op without a numpy
re-implementation per op.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from fixpoint.frontend.ort_options import quiet_session_options

# IR version 8 is understood by every onnxruntime this project supports.
_IR_VERSION = 8


class EvaluationError(RuntimeError):
    """onnxruntime could not evaluate the node; the caller words the user-facing error."""


def evaluate_node(node: onnx.NodeProto, inputs: dict[str, np.ndarray], opset: int) -> list[np.ndarray]:
    """Outputs of ``node`` (non-empty output names, in order) for constant ``inputs``."""
    initializers = [
        numpy_helper.from_array(np.asarray(inputs[name]), name) for name in dict.fromkeys(node.input) if name
    ]
    outputs = [helper.make_empty_tensor_value_info(name) for name in node.output if name]
    graph = helper.make_graph([node], "evaluate", [], outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=_IR_VERSION)
    options = quiet_session_options()
    try:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return [np.asarray(a) for a in session.run(None, {})]
    except Exception as exc:  # onnxruntime raises its own exception hierarchy
        raise EvaluationError(" ".join(str(exc).split())[:200]) from None
