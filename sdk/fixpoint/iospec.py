"""Model inputs and outputs as users see them: ONNX names and per-sample shapes in the ONNX layout.

Graph and plan tensors are 4-D NHWC with ``source_layout`` naming the ONNX layout of the tensor
of the same name. A tensor whose ONNX rank has no NHWC mapping (rank 5, or a rank-3 tensor that
is not an (N, C, L) one) is stored in its ONNX row-major order as NHWC [N, 1, 1, size]; its layout
names its per-sample ONNX shape, ``"ND:3x2x8x8"`` (:func:`row_major_layout`). Every command that
reads samples or writes outputs asks here for the shape a user's array must have, so a new source
layout (a new input rank) is one row of :data:`SAMPLE_SHAPES`, not an edit in every command.
"""

from __future__ import annotations

from collections.abc import Callable

from .ir import Graph, ModelError

# ONNX layout -> the per-sample ONNX shape of a 4-D NHWC tensor [1, h, w, c]
SAMPLE_SHAPES: dict[str, Callable[[int, int, int], list[int]]] = {
    "NCHW": lambda h, w, c: [c, h, w],
    "NHWC": lambda h, w, c: [h, w, c],
    "NC": lambda h, w, c: [c],
    "NCL": lambda h, w, c: [c, w],  # (N, C, L) lifted to (N, C, 1, L): h == 1
}

ROW_MAJOR_PREFIX = "ND:"
# ONNX ranks of activations stored row-major (a rank-3 (N, C, L) tensor lifted at the front door is 4-D by then)
ROW_MAJOR_RANKS = (3, 5)

__all__ = [
    "ROW_MAJOR_RANKS",
    "SAMPLE_SHAPES",
    "graph_input_specs",
    "plan_input_specs",
    "plan_output_names",
    "sample_shape",
    "row_major_layout",
    "row_major_shape",
    "row_major_stored",
]


def row_major_layout(onnx_shape: list[int] | tuple[int, ...]) -> str:
    """The layout of an ONNX tensor stored in its row-major order: ``ND:`` and its per-sample shape."""
    return ROW_MAJOR_PREFIX + "x".join(str(int(d)) for d in onnx_shape[1:])


def row_major_shape(layout: str) -> list[int] | None:
    """The per-sample ONNX shape a row-major (``ND:``) layout names; None for any other layout."""
    if not layout.startswith(ROW_MAJOR_PREFIX):
        return None
    try:
        dims = [int(d) for d in layout[len(ROW_MAJOR_PREFIX) :].split("x")]
    except ValueError:
        return None
    return dims if dims and all(d > 0 for d in dims) else None


def row_major_stored(onnx_shape: list[int] | tuple[int, ...]) -> list[int]:
    """The NHWC shape holding an ONNX tensor in its row-major order: [N, 1, 1, size of a sample]."""
    size = 1
    for d in onnx_shape[1:]:
        size *= int(d)
    return [int(onnx_shape[0]), 1, 1, size]


def sample_shape(name: str, shape: list[int] | tuple[int, ...], layout: str) -> list[int]:
    """Per-sample shape (no batch axis) in the ONNX layout of the NHWC tensor ``name``."""
    dims = row_major_shape(layout)
    if dims is not None:
        if row_major_stored([1, *dims]) != [1, *[int(d) for d in shape[1:]]]:
            raise ModelError(f"tensor '{name}': layout '{layout}' does not fit NHWC {list(shape)}")
        return dims
    if layout not in SAMPLE_SHAPES:
        raise ModelError(f"tensor '{name}' has unknown source layout '{layout}'")
    _, h, w, c = shape
    return SAMPLE_SHAPES[layout](int(h), int(w), int(c))


def graph_input_specs(graph: Graph) -> list[tuple[str, list[int]]]:
    """(ONNX name, per-sample shape) of every graph input, in graph order."""
    if not graph.inputs:
        raise ModelError(f"{graph.source_path}: the model has no runtime input")
    return [
        (name, sample_shape(name, graph.values[name].shape, graph.values[name].source_layout or "NHWC"))
        for name in graph.inputs
    ]


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
