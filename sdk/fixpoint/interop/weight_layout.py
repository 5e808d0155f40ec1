"""Where each element of an ONNX weight lands in the plan's runtime weight layout.

A plan's integer weights sit in the runtime layout the normalizer gives them (OHWI, transposed Gemm /
MatMul, [1, kh, kw, C] depthwise, lifted 1-D kernels ...). Rather than inverting each of those
transforms by hand, the model is normalized once more with every exported weight replaced by its own
element indices: the normalized constant then names, element by element, the ONNX element it came from.
When normalization did arithmetic on a weight (a folded BatchNormalization, Gemm's ``alpha``) the
indices stop being a permutation and that weight has no layout map (the exporter refuses the layer).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from fixpoint.frontend import load_model
from fixpoint.normalize import normalize

__all__ = ["LayoutMap", "index_model", "layout_maps"]

log = logging.getLogger(__name__)

# float32 holds every integer up to 2**24 exactly; a weight with more elements cannot carry its indices
MAX_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class LayoutMap:
    """``positions[i]``: flat index in the ONNX weight (shape ``onnx_shape``) of runtime element ``i``
    (runtime shape ``positions.shape``)."""

    onnx_shape: tuple[int, ...]
    positions: np.ndarray

    def to_onnx(self, runtime: np.ndarray) -> np.ndarray:
        """Runtime-layout values (e.g. the plan's integers) in the ONNX layout."""
        out = np.empty(int(np.prod(self.onnx_shape)), dtype=runtime.dtype)
        out[self.positions.reshape(-1)] = np.asarray(runtime).reshape(-1)
        return out.reshape(self.onnx_shape)

    def to_runtime(self, onnx_values: np.ndarray) -> np.ndarray:
        """ONNX-layout values (e.g. the model's float weights) in the runtime layout."""
        return np.asarray(onnx_values).reshape(-1)[self.positions]

    def channel_map(self, runtime_axis: int, onnx_axis: int) -> np.ndarray | None:
        """``m[c]``: the ONNX output channel of runtime channel ``c``; None when a runtime channel mixes
        elements of several ONNX channels (then per-channel scales have no ONNX axis)."""
        onnx_channel = np.unravel_index(self.positions, self.onnx_shape)[onnx_axis]
        rows = np.moveaxis(onnx_channel, runtime_axis, 0).reshape(self.positions.shape[runtime_axis], -1)
        if not np.all(rows == rows[:, :1]):
            return None
        mapping = rows[:, 0]
        return mapping if np.array_equal(np.sort(mapping), np.arange(self.onnx_shape[onnx_axis])) else None


def index_model(model: onnx.ModelProto, weights: list[str]) -> onnx.ModelProto:
    """A copy of ``model`` whose initializers ``weights`` hold their element indices (float32)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    wanted = set(weights)
    for i, init in enumerate(copy.graph.initializer):
        if init.name not in wanted:
            continue
        shape = tuple(init.dims)
        size = int(np.prod(shape)) if shape else 1
        if size > MAX_ELEMENTS:
            continue  # left as it is: its layer gets no map
        copy.graph.initializer[i].CopyFrom(
            numpy_helper.from_array(np.arange(size, dtype=np.float32).reshape(shape), init.name)
        )
    return copy


def layout_maps(model: onnx.ModelProto, wanted: dict[tuple[str, int], str]) -> dict[tuple[str, int], LayoutMap]:
    """``wanted``: (IR node / plan layer name, input position) -> the ONNX initializer that input comes
    from (position 1 the weight, 2 the bias). Returns the layout map of every one whose normalized
    constant is a permutation of its initializer's elements."""
    indexed = index_model(model, sorted(set(wanted.values())))
    with tempfile.TemporaryDirectory(prefix="fixpoint-layout-") as tmp:
        path = Path(tmp) / "indexed.onnx"
        onnx.save(indexed, str(path))
        graph = normalize(load_model(path))
    shapes = {t.name: tuple(t.dims) for t in model.graph.initializer}
    nodes = {n.name: n for n in graph.nodes}
    maps: dict[tuple[str, int], LayoutMap] = {}
    for (layer, position), init in wanted.items():
        node = nodes.get(layer)
        value = graph.values.get(node.inputs[position]) if node is not None and len(node.inputs) > position else None
        if value is None or value.data is None:
            log.info("layer '%s': input %d is no constant after normalization; no layout map", layer, position)
            continue
        found = _permutation(np.asarray(value.data, np.float64), shapes[init])
        if found is not None:
            maps[layer, position] = LayoutMap(shapes[init], found)
    return maps


def _permutation(indexed: np.ndarray, onnx_shape: tuple[int, ...]) -> np.ndarray | None:
    """The indices in ``indexed`` when they are exactly the ONNX elements, each once, else None."""
    size = int(np.prod(onnx_shape)) if onnx_shape else 1
    if indexed.size != size or not np.all(np.isfinite(indexed)):
        return None
    positions = np.rint(indexed)
    if not np.array_equal(positions, indexed):
        return None
    positions = positions.astype(np.int64)
    if not np.array_equal(np.sort(positions.reshape(-1)), np.arange(size)):
        return None
    return positions
