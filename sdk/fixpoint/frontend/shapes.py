"""Static shapes: fix the batch dimension to 1, run ONNX shape inference, read shapes back.

Microcontroller programs have fixed tensor sizes, so every shape must be
static. Only the batch dimension (dim 0 of a graph input) may be dynamic in the
file; it becomes 1. Anything else that stays symbolic is an error naming the
tensor.
"""

from __future__ import annotations

import logging

import onnx

from fixpoint.frontend.errors import DynamicShapeError, ModelCheckError, UnsupportedInputError, one_line, short_name

log = logging.getLogger(__name__)

BATCH_SIZE = 1
SUPPORTED_INPUT_TYPES = (onnx.TensorProto.FLOAT,)


def _is_concrete(dim: onnx.TensorShapeProto.Dimension) -> bool:
    return dim.HasField("dim_value") and dim.dim_value > 0


def _check_declared_size(name: str, axis: int, dim: onnx.TensorShapeProto.Dimension) -> None:
    """A declared extent of 0 or less is an empty (or impossible) tensor, not a dynamic one."""
    if dim.HasField("dim_value") and dim.dim_value <= 0:
        raise ModelCheckError(
            f"input '{short_name(name)}' dimension {axis} has size {dim.dim_value}; every extent must be at least 1"
        )


def _dim_label(dim: onnx.TensorShapeProto.Dimension) -> str:
    return repr(dim.dim_param) if dim.HasField("dim_param") else "unknown"


def _fix_input_dims(model: onnx.ModelProto) -> None:
    initializers = {init.name for init in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name in initializers:
            continue
        if not vi.type.HasField("tensor_type"):
            raise DynamicShapeError(f"input '{vi.name}' is not a tensor")
        if not vi.type.tensor_type.HasField("shape"):
            raise DynamicShapeError(f"input '{vi.name}' has no shape")
        for axis, dim in enumerate(vi.type.tensor_type.shape.dim):
            _check_declared_size(vi.name, axis, dim)
            if _is_concrete(dim):
                continue
            if axis != 0:
                raise DynamicShapeError(
                    f"input '{vi.name}' dimension {axis} ({_dim_label(dim)}) is dynamic; "
                    "only the batch dimension (0) may be dynamic"
                )
            log.debug("input %s: dynamic batch dimension fixed to %d", vi.name, BATCH_SIZE)
            dim.Clear()
            dim.dim_value = BATCH_SIZE


def _forget_output_shapes(model: onnx.ModelProto) -> None:
    """Let inference compute output shapes from the now-static inputs.

    Declared output shapes may hold the symbolic batch or be plain wrong; with
    strict mode off, inference would keep a wrong declaration silently.
    """
    for vi in model.graph.output:
        if vi.type.HasField("tensor_type"):
            vi.type.tensor_type.ClearField("shape")


def _type_label(elem_type: int) -> str:
    if elem_type == onnx.TensorProto.UNDEFINED:
        return "undefined"
    try:
        return onnx.helper.tensor_dtype_to_np_dtype(elem_type).name
    except (KeyError, ValueError, TypeError):
        return f"{elem_type} (not an ONNX type)"


def check_element_types(model: onnx.ModelProto) -> None:
    """Graph inputs are float32 and every initializer has a numeric element type.

    Checked before shape inference, whose type errors would blame the first
    node reading such a tensor rather than the tensor itself.
    """
    initializers = {init.name for init in model.graph.initializer}
    for vi in model.graph.input:
        elem = vi.type.tensor_type.elem_type
        if vi.name not in initializers and elem not in SUPPORTED_INPUT_TYPES:
            raise UnsupportedInputError(
                f"input '{short_name(vi.name)}' has type {_type_label(elem)}; only float32 model inputs are supported"
            )
    for init in model.graph.initializer:
        _dtype_name(init.name, init.data_type)


def fix_batch(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` with the batch fixed and stale shape annotations dropped."""
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    _fix_input_dims(fixed)
    _forget_output_shapes(fixed)
    # Stale value_info may still carry the symbolic batch; inference recomputes it.
    del fixed.graph.value_info[:]
    return fixed


def infer(model: onnx.ModelProto) -> onnx.ModelProto:
    """ONNX shape inference (with data propagation, strict mode off)."""
    try:
        # check_type: an int64 or float64 weight beside float32 activations is a type error
        # onnxruntime would report later, and without naming the file.
        return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=False, data_prop=True)
    except Exception as exc:  # onnx raises several unrelated types here
        raise ModelCheckError(f"shape inference failed: {one_line(exc)}") from None


def make_static(model: onnx.ModelProto) -> onnx.ModelProto:
    """Return a copy of ``model`` with the batch fixed and shapes inferred."""
    return infer(fix_batch(model))


def unresolved_outputs(model: onnx.ModelProto, shapes: dict[str, list[int] | None]) -> list[str]:
    """Node outputs whose shape is not static."""
    return [o for node in model.graph.node for o in node.output if o and shapes.get(o) is None]


def tensor_shapes(model: onnx.ModelProto) -> dict[str, list[int] | None]:
    """Shape of every typed tensor in the (inferred) graph; None when not fully static."""
    shapes: dict[str, list[int] | None] = {}
    graph = model.graph
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        tensor_type = vi.type.tensor_type
        if not vi.type.HasField("tensor_type") or not tensor_type.HasField("shape"):
            shapes.setdefault(vi.name, None)
            continue
        dims = tensor_type.shape.dim
        # dim_value 0 is a legal (empty) extent in shape arithmetic, unlike a missing value
        static = all(d.HasField("dim_value") for d in dims)
        shapes[vi.name] = [int(d.dim_value) for d in dims] if static else None
    for init in graph.initializer:
        shapes[init.name] = [int(d) for d in init.dims]
    return shapes


def _dtype_name(name: str, elem_type: int) -> str:
    try:
        return onnx.helper.tensor_dtype_to_np_dtype(elem_type).name
    except (KeyError, ValueError, TypeError):  # onnx has no numpy type for it (or none at all)
        raise ModelCheckError(
            f"tensor '{short_name(name)}' has element type {elem_type}, which has no numeric equivalent"
        ) from None


def tensor_dtypes(model: onnx.ModelProto) -> dict[str, str]:
    """numpy dtype name of every typed tensor (``float32``, ``int64``...)."""
    dtypes: dict[str, str] = {}
    graph = model.graph
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        elem = vi.type.tensor_type.elem_type
        if elem:
            dtypes[vi.name] = _dtype_name(vi.name, elem)
    for init in graph.initializer:
        dtypes[init.name] = _dtype_name(init.name, init.data_type)
    return dtypes
