"""Small real ONNX LSTM / GRU models for the recurrent tests (built with onnx.helper, random weights).

Each takes ``x`` [batch, T, input] (batch first, as PyTorch's ``batch_first`` export: a Transpose to
ONNX's [T, batch, input] layout in front of the LSTM) and returns ``y``: a Gemm over the last h
(``last``), or every step's h (``sequence``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build_lstm_model(
    path: Path,
    steps: int,
    n_in: int,
    hidden: int,
    classes: int = 0,
    direction: str = "forward",
    seed: int = 0,
    weight_scale: float = 0.6,
    cell: str = "LSTM",
) -> Path:
    """LSTM (or GRU, linear_before_reset 1) over ``x`` [1, steps, n_in]; y = Gemm(Y_h) [1, classes] when
    ``classes``, else Y [steps, 1, 1, hidden]."""
    rng = np.random.default_rng(seed)
    gates = 4 if cell == "LSTM" else 3
    dirs = 2 if direction == "bidirectional" else 1
    w = (rng.normal(size=(dirs, gates * hidden, n_in)) * weight_scale / np.sqrt(n_in)).astype(np.float32)
    r = (rng.normal(size=(dirs, gates * hidden, hidden)) * weight_scale / np.sqrt(hidden)).astype(np.float32)
    b = (rng.normal(size=(dirs, 2 * gates * hidden)) * 0.2).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w, "W"), (r, "R"), (b, "B"))]
    extra = {"linear_before_reset": 1} if cell == "GRU" else {}
    outputs = ["Y", "Y_h", "Y_c"] if cell == "LSTM" else ["Y", "Y_h"]
    nodes = [
        helper.make_node("Transpose", ["x"], ["x_tbi"], perm=[1, 0, 2], name="to_time_major"),
        helper.make_node(
            cell, ["x_tbi", "W", "R", "B"], outputs, hidden_size=hidden, direction=direction, name=cell.lower(), **extra
        ),
    ]
    if classes:
        fc = (rng.normal(size=(dirs * hidden, classes)) / np.sqrt(hidden)).astype(np.float32)
        inits += [
            numpy_helper.from_array(fc, "fc_w"),
            numpy_helper.from_array(np.zeros(classes, np.float32), "fc_b"),
            numpy_helper.from_array(np.array([1, dirs * hidden], np.int64), "flat"),
        ]
        nodes += [
            helper.make_node("Reshape", ["Y_h", "flat"], ["h_last"], name="flatten"),
            helper.make_node("Gemm", ["h_last", "fc_w", "fc_b"], ["y"], name="classifier"),
        ]
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])
    else:
        nodes.append(helper.make_node("Identity", ["Y"], ["y"], name="out"))
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [steps, 1, 1, hidden])
    graph = helper.make_graph(
        nodes, "lstm_model", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, steps, n_in])], [out], inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def sequences(n: int, steps: int, n_in: int, seed: int) -> np.ndarray:
    """[n, 1, steps, n_in] smooth random sequences in about [-2, 2] (one sample = one batch-1 input)."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[None, :, None]
    freq, phase = rng.uniform(0.05, 0.4, (n, 1, n_in)), rng.uniform(0, 6.3, (n, 1, n_in))
    x = 1.5 * np.sin(freq * t + phase) + 0.3 * rng.normal(size=(n, steps, n_in))
    return x.astype(np.float32)
