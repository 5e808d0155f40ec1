"""Small ONNX models built in code, and the float-vs-onnxruntime comparison used by the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from fixpoint.frontend import load_model
from fixpoint.ir import Graph
from fixpoint.normalize import normalize
from fixpoint.normalize.float_exec import run_normalized

RNG = np.random.default_rng(1234)
ATOL = 1e-4


def rand(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def const(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def tensor(name: str, shape: list | None, elem: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    initializers: list[onnx.TensorProto] = (),
    opset: int = 17,
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "test", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def save(proto: onnx.ModelProto, directory: Path, name: str = "model.onnx") -> Path:
    path = directory / name
    onnx.save(proto, str(path))
    return path


def ort_all_values(path: Path, feeds: dict[str, np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
    """Run the ONNX file in onnxruntime, exposing ``names`` (intermediate tensors) as outputs."""
    proto = onnx.load(str(path))
    present = {o.name for o in proto.graph.output}
    proto.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in names if n not in present)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    wanted = [o.name for o in session.get_outputs()]
    return dict(zip(wanted, session.run(wanted, feeds)))


def random_feeds(graph: Graph) -> dict[str, np.ndarray]:
    return {name: rand(*graph.values[name].shape) for name in graph.inputs}


def check_against_ort(path: Path, feeds: dict[str, np.ndarray] | None = None, atol: float = ATOL) -> Graph:
    """Load + normalize ``path``; every activation must equal onnxruntime's tensor of that name."""
    loaded = load_model(path)
    feeds = feeds or random_feeds(loaded)
    normalized = normalize(loaded)
    ours = run_normalized(normalized, feeds)
    reference = ort_all_values(path, feeds, normalized.activation_names())
    for name in normalized.activation_names():
        assert name in reference, f"'{name}' is not an ONNX tensor name"
        np.testing.assert_allclose(ours[name], reference[name], atol=atol, rtol=1e-4, err_msg=f"value '{name}'")
    return normalized
