"""Where the rank-2..5 test models are and how their data files are made."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

MODELS = Path(__file__).resolve().parent / "models"


def input_shapes(model: Path) -> dict[str, list[int]]:
    """Per-sample ONNX shape of each model input (the batch axis dropped)."""
    graph = onnx.load(model).graph
    return {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim][1:] for i in graph.input}


def write_data(path: Path, shapes: dict[str, list[int]], count: int, seed: int) -> Path:
    """Normal samples per input, in the users' (ONNX) layout, keyed by input name."""
    rng = np.random.default_rng(seed)
    np.savez(path, **{name: rng.normal(size=(count, *shape)).astype(np.float32) for name, shape in shapes.items()})
    return path
