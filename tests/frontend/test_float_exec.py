"""fixpoint.normalize.float_exec on hand-built normalized graphs."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.ir import Graph, ModelError, Node, Value
from fixpoint.normalize import check_invariants
from fixpoint.normalize.float_exec import run_normalized


def _graph() -> Graph:
    """x [1, 2] (NC) -> leaky_relu(alpha 0.5, clip [-1, 2]) -> copy -> y."""
    values = {
        "x": Value("x", [1, 1, 1, 2], source_layout="NC"),
        "l": Value("l", [1, 1, 1, 2], source_layout="NC"),
        "y": Value("y", [1, 1, 1, 2], source_layout="NC"),
    }
    nodes = [
        Node("leaky", "leaky_relu", ["x"], ["l"], {"alpha": 0.5, "act": "clip", "act_range": [-1.0, 2.0]}),
        Node("out", "copy", ["l"], ["y"], {}),
    ]
    return Graph("g", nodes, values, ["x"], ["y"], 17, stage="normalized")


def test_runs_in_source_layout():
    graph = _graph()
    check_invariants(graph, final=True)
    out = run_normalized(graph, {"x": np.array([[-4.0, 3.0]], np.float32)})
    assert out["x"].shape == (1, 2) and out["y"].dtype == np.float32
    assert np.array_equal(out["l"], [[-1.0, 2.0]]) and np.array_equal(out["y"], out["l"])


def test_bad_inputs_are_model_errors():
    graph = _graph()
    with pytest.raises(ModelError, match="missing input 'x'"):
        run_normalized(graph, {})
    with pytest.raises(ModelError, match=r"input 'x': shape \[1, 3\]"):
        run_normalized(graph, {"x": np.zeros((1, 3), np.float32)})
