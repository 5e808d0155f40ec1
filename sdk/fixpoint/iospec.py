"""Model inputs and outputs as users see them: ONNX names and per-sample shapes in the ONNX layout.

Graph and plan tensors are 4-D NHWC with ``source_layout`` naming the ONNX layout of the tensor
of the same name; every command that reads samples or writes outputs asks here for the shape a
user's array must have, so a new source layout (a new input rank) is one row of
:data:`SAMPLE_SHAPES`, not an edit in every command.
"""
from __future__ import annotations

from collections.abc import Callable

from .ir import Graph, ModelError

# ONNX layout -> the per-sample ONNX shape of a 4-D NHWC tensor [1, h, w, c]
SAMPLE_SHAPES: dict[str, Callable[[int, int, int], list[int]]] = {
    "NCHW": lambda h, w, c: [c, h, w],
    "NHWC": lambda h, w, c: [h, w, c],
    "NC": lambda h, w, c: [c],
    "NCL": lambda h, w, c: [c, w],   # (N, C, L) lifted to (N, C, 1, L): h == 1
}

__all__ = ["SAMPLE_SHAPES", "graph_input_specs", "plan_input_specs", "plan_output_names", "sample_shape"]


def sample_shape(name: str, shape: list[int] | tuple[int, ...], layout: str) -> list[int]:
    """Per-sample shape (no batch axis) in the ONNX layout of the NHWC tensor ``name``."""
    if layout not in SAMPLE_SHAPES:
        raise ModelError(f"tensor '{name}' has unknown source layout '{layout}'")
    _, h, w, c = shape
    return SAMPLE_SHAPES[layout](int(h), int(w), int(c))


def graph_input_specs(graph: Graph) -> list[tuple[str, list[int]]]:
    """(ONNX name, per-sample shape) of every graph input, in graph order."""
    if not graph.inputs:
        raise ModelError(f"{graph.source_path}: the model has no runtime input")
    return [(name, sample_shape(name, graph.values[name].shape, graph.values[name].source_layout or "NHWC"))
            for name in graph.inputs]


def plan_input_specs(plan) -> list[tuple[str, list[int]]]:
    """(ONNX name, per-sample shape) of every plan input, in plan order (the firmware's order)."""
    specs = []
    for index in plan.inputs:
        t = plan.tensors[index]
        specs.append((t.name, sample_shape(t.name, t.shape, t.source_layout)))
    return specs


def plan_output_names(plan) -> list[str]:
    """ONNX names of the plan outputs, in plan order."""
    return [plan.tensors[index].name for index in plan.outputs]
