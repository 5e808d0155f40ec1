"""A plan layer as C field values: the one place a plan becomes C struct contents.

The code generator renders C initializers from these values and the host
simulator builds cffi structs from them, so the firmware and the simulator
can never disagree on a register value. Everything is plain Python data keyed
by the C field names of ``runtime/include/fp_types.h``:

* ``int`` for integer fields; ``str`` for C enumerator names
  (``"FP_OP_CONV2D"``, ``"FP_DP_S8"``, ``"FP_DTYPE_S16"``, ``"FP_ROUND_DOUBLE"``);
* ``dict`` for nested structs and for the ``params`` union (one key: the
  union member, e.g. ``{"conv2d": {...}}``); ``list`` for C arrays, padded to
  the C array length;
* :class:`ArrayRef` for pointer fields: it names an entry of
  :func:`layer_arrays_for_c` (or, in :func:`graph_struct`, the ``tensors`` /
  ``layers`` tables); ``None`` is NULL.

Where the values come from (see ``fixpoint.plan``): dims from the plan
tensors (NHWC) and the weight array shapes; scalar fields from
``layer.params`` by C field name; requantization from ``layer.arrays``
``multiplier`` / ``shift`` and ``plan.profile`` (rounding, multiplier_bits).
``fp_scale_t`` fields (``output_scale``, ``identity_scale``, ...) are given in
``layer.params`` as ``{"multiplier": m, "shift": s}``; concat's per-input
``input_offset`` and ``input_scale`` are lists with one entry per input.

Fields that may be omitted take the neutral value: strides and dilations 1,
pads 0, groups 1, ``filter_offset`` 0, ``act_min`` / ``act_max`` the full
range of the output type, and for the s16 datapath the offsets (zero points
are 0) and softmax ``diff_min``. Dims-derived fields (depthwise
``depth_multiplier``, fully connected ``batches``/``depth``/``out_channels``,
softmax ``rows``/``depth``, concat ``outer``/``inner``/``axis_size``, element
counts) are computed here; a given ``depth_multiplier`` overrides the derived
one. Any other key in ``layer.params`` is an error, as is a missing field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .ops.registry import runtime_refs
from .ops.runtime_ops import RUNTIME_OPS
from .reference.lowbit import WEIGHT_RANGE, is_packed, pack_weights
from .plan import DTYPES, Plan, PlanError, PlanLayer, PlanTensor, RequantProfile

MAX_LAYER_INPUTS = 8
MAX_GRAPH_IO = 4
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1

DTYPE_ENUM = {"int8": "FP_DTYPE_S8", "int16": "FP_DTYPE_S16"}
DATAPATH_ENUM = {"s8": "FP_DP_S8", "s4": "FP_DP_S4", "s16": "FP_DP_S16", "s2": "FP_DP_S2", "s1": "FP_DP_S1"}
ROUNDING_ENUM = {
    "double": "FP_ROUND_DOUBLE",
    "single": "FP_ROUND_SINGLE",
    "shift_only": "FP_ROUND_SHIFT_ONLY",
    "half_even": "FP_ROUND_HALF_EVEN",
}
DTYPE_RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}

# Constant arrays a layer may carry, with their C element type per datapath.
ARRAY_CTYPES: dict[str, dict[str, type]] = {
    "weights": {"s8": np.int8, "s4": np.int8, "s16": np.int8},
    "bias": {"s8": np.int32, "s4": np.int32, "s16": np.int64},
    "multiplier": {"s8": np.int32, "s4": np.int32, "s16": np.int32},
    "shift": {"s8": np.int32, "s4": np.int32, "s16": np.int32},
    "exp_lut": {"s8": np.int16, "s4": np.int16, "s16": np.int16},
    "one_over_one_plus_x_lut": {"s8": np.int16, "s4": np.int16, "s16": np.int16},
    "table": {"s8": np.int8, "s4": np.int8, "s16": np.int16},  # lut: 256 / 513 entries
    "alpha": {"s8": np.int8, "s4": np.int8, "s16": np.int8},  # prelu slope, one per channel or one
    # lstm's int16 sigmoid / tanh tables (513 entries; the lstm runs on s8 only)
    "sigmoid_lut": {"s8": np.int16, "s4": np.int16, "s16": np.int16},
    "tanh_lut": {"s8": np.int16, "s4": np.int16, "s16": np.int16},
    "cell_tanh_lut": {"s8": np.int16, "s4": np.int16, "s16": np.int16},
    # layer_norm's per-element scale (int16) and shift (int64, units s_gamma * 2^-15)
    "gamma": {"s8": np.int16, "s4": np.int16, "s16": np.int16},
    "beta": {"s8": np.int64, "s4": np.int64, "s16": np.int64},
}
for _types in ARRAY_CTYPES.values():  # s2 / s1 layers have int8 activations: the s4 types
    _types.update(s2=_types["s4"], s1=_types["s4"])


class CParamsError(ValueError):
    """A value cannot become a C field (missing, unknown, out of range)."""


@dataclass(frozen=True)
class ArrayRef:
    """A pointer field pointing at the constant array ``name``."""

    name: str


def act_dtype(datapath: str) -> str:
    """Activation type of a datapath: int16 for s16, int8 for the others (s8, s4, s2, s1)."""
    return "int16" if datapath == "s16" else "int8"


def rq_mode(profile: RequantProfile) -> dict[str, Any]:
    """The ``fp_rq_mode_t`` of a requantization profile (validated when the profile was built).

    ``acc_bits`` 0 is the plain int32 accumulator, so structs of plans without engines stay as they were."""
    acc_bits = int(profile.accumulator_bits)
    if profile.rounding not in ROUNDING_ENUM:  # a profile object changed after it was built
        raise CParamsError(f"profile rounding '{profile.rounding}' is not one of {sorted(ROUNDING_ENUM)}")
    return {
        "rounding": ROUNDING_ENUM[profile.rounding],
        "multiplier_bits": int(profile.multiplier_bits),
        "acc_bits": 0 if acc_bits == 32 else acc_bits,
        "acc_wrap": int(profile.accumulator_overflow == "wrap"),
    }


def dims(shape) -> dict[str, int]:
    """``fp_dims_t`` of a 4-D NHWC shape."""
    shape = tuple(int(d) for d in shape)
    if len(shape) != 4:
        raise CParamsError(f"expected a 4-D NHWC shape, got {list(shape)}")
    return dict(zip("nhwc", shape))


def _as_int32(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise CParamsError(f"params field '{name}' must be an integer, got {value!r}")
    if not INT32_MIN <= int(value) <= INT32_MAX:
        raise CParamsError(f"params field '{name}' = {int(value)} does not fit int32")
    return int(value)


REQUIRED = object()


class OpContext:
    """What an op's params builder reads: shapes, arrays, scalar fields, mode."""

    def __init__(
        self,
        datapath: str,
        in_shapes,
        out_shape,
        arrays: dict[str, np.ndarray],
        scalars: dict[str, Any],
        mode: dict[str, Any],
        out_dtype: str | None = None,
    ):
        self.datapath = datapath
        self.in_shapes = [tuple(int(d) for d in s) for s in in_shapes]
        self.out_shape = tuple(int(d) for d in out_shape)
        self.arrays = arrays
        self.scalars = dict(scalars)
        self.mode = mode
        self.out_dtype = out_dtype or act_dtype(datapath)
        self._used: set[str] = set()

    def scalar(self, name: str, default: Any = REQUIRED) -> int:
        self._used.add(name)
        if name not in self.scalars:
            if default is REQUIRED:
                raise CParamsError(f"params field '{name}' is missing")
            return int(default)
        return _as_int32(name, self.scalars[name])

    def derived(self, name: str, value: int) -> int:
        """A field the shapes determine; a value given in params must agree."""
        self._used.add(name)
        if name in self.scalars and _as_int32(name, self.scalars[name]) != value:
            raise CParamsError(f"params field '{name}' = {self.scalars[name]} but the shapes give {value}")
        return int(value)

    def offset(self, name: str) -> int:
        """A zero-point offset: required except on the s16 datapath (zero point 0)."""
        return self.scalar(name, 0 if self.datapath == "s16" else REQUIRED)

    def act_range(self) -> dict[str, int]:
        lo, hi = DTYPE_RANGE[self.out_dtype]
        return {"act_min": self.scalar("act_min", lo), "act_max": self.scalar("act_max", hi)}

    def scale(self, name: str, value: Any = REQUIRED) -> dict[str, int]:
        """An ``fp_scale_t`` given as {"multiplier": m, "shift": s}."""
        if value is REQUIRED:
            self._used.add(name)
            if name not in self.scalars:
                raise CParamsError(f"params field '{name}' is missing")
            value = self.scalars[name]
        if not isinstance(value, dict) or set(value) != {"multiplier", "shift"}:
            raise CParamsError(f"params field '{name}' must be {{'multiplier': m, 'shift': s}}, got {value!r}")
        return {k: _as_int32(f"{name}.{k}", value[k]) for k in ("multiplier", "shift")}

    def int_list(self, name: str, length: int) -> list[int]:
        self._used.add(name)
        values = self.scalars.get(name)
        if not isinstance(values, (list, tuple)) or len(values) != length:
            raise CParamsError(f"params field '{name}' must be a list of {length} integers, got {values!r}")
        return [_as_int32(f"{name}[{i}]", v) for i, v in enumerate(values)]

    def array(self, name: str, ndim: int | None = None) -> np.ndarray:
        if name not in self.arrays:
            raise CParamsError(f"array '{name}' is missing")
        arr = np.asarray(self.arrays[name])
        if ndim is not None and arr.ndim != ndim:
            raise CParamsError(f"array '{name}' must have {ndim} dims, got shape {list(arr.shape)}")
        return arr

    def requant(self) -> dict[str, Any]:
        mult, shift = self.array("multiplier").reshape(-1), self.array("shift").reshape(-1)
        if mult.size != shift.size or mult.size == 0:
            raise CParamsError(
                f"arrays 'multiplier' ({mult.size}) and 'shift' ({shift.size}) must have the same non-zero length"
            )
        return {
            "multiplier": ArrayRef("multiplier"),
            "shift": ArrayRef("shift"),
            "n": int(mult.size),
            "mode": dict(self.mode),
        }

    def check_unused(self) -> None:
        unknown = sorted(set(self.scalars) - self._used)
        if unknown:
            raise CParamsError(f"params field '{unknown[0]}' is not a field of this op's C params")


def _count(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


# From the registry rows (fixpoint/ops/defs/): params_builder, and c_inputs, the accepted input
# counts (None: 1..MAX_LAYER_INPUTS; add / mul take 1 when the second operand is the constant 'weights').
PARAMS_BUILDERS: dict[str, Callable[[OpContext], dict[str, Any]]] = runtime_refs("params_builder")
N_INPUTS: dict[str, tuple[int, ...] | None] = {key: row.c_inputs for key, row in RUNTIME_OPS.items()}


def op_params(op: str, ctx: OpContext) -> dict[str, Any]:
    """Field values of the C params struct of ``op`` (a ``RUNTIME_OPS`` key)."""
    if op not in PARAMS_BUILDERS:
        raise CParamsError(f"op '{op}' is not a runtime op (known: {sorted(PARAMS_BUILDERS)})")
    if ctx.datapath not in DATAPATH_ENUM:
        raise CParamsError(f"datapath '{ctx.datapath}' is not one of {sorted(DATAPATH_ENUM)}")
    expected = N_INPUTS[op]
    if expected is not None and len(ctx.in_shapes) not in expected:
        raise CParamsError(f"op '{op}' takes {' or '.join(map(str, expected))} input(s), got {len(ctx.in_shapes)}")
    fields = PARAMS_BUILDERS[op](ctx)
    ctx.check_unused()
    return fields


def _tensor_of(plan: Plan, tensor: int | PlanTensor) -> PlanTensor:
    return plan.tensors[tensor] if isinstance(tensor, (int, np.integer)) else tensor


def tensor_struct(plan: Plan, tensor: int | PlanTensor) -> dict[str, Any]:
    """``fp_tensor_t`` of a plan tensor (by index or object); needs planned offsets."""
    t = _tensor_of(plan, tensor)
    if t.offset < 0 or t.offset % 4:
        raise PlanError(
            f"tensor '{t.name}': arena offset {t.offset} is unset or not 4-byte aligned "
            "(run fixpoint.memory.plan_arena)"
        )
    return {"offset": int(t.offset), "size": int(t.nbytes), "dims": dims(t.shape), "dtype": DTYPE_ENUM[t.dtype]}


def _layer_error(layer: PlanLayer, exc: Exception) -> PlanError:
    return PlanError(f"layer '{layer.name}' ({layer.op}, {layer.datapath}): {exc}")


def _check_dtypes(plan: Plan, layer: PlanLayer) -> None:
    """Activation tensors carry the datapath's type, unless the row's activation_dtypes says the op
    converts it ("any", requantize) or keeps its input's ("input", copy)."""
    rule = RUNTIME_OPS[layer.op].activation_dtypes
    if rule == "any":
        return
    ids = [*layer.inputs, layer.output]
    want = plan.tensors[layer.inputs[0]].dtype if rule == "input" and layer.inputs else act_dtype(layer.datapath)
    for i in ids:
        if plan.tensors[i].dtype != want:
            raise CParamsError(
                f"tensor '{plan.tensors[i].name}' is {plan.tensors[i].dtype}, "
                f"the {layer.datapath} datapath needs {want}"
            )


def layer_struct(plan: Plan, layer_index: int) -> dict[str, Any]:
    """``fp_layer_t`` of ``plan.layers[layer_index]``, params union included."""
    layer = plan.layers[layer_index]
    try:
        if layer.op not in RUNTIME_OPS:
            raise CParamsError(f"op '{layer.op}' is not a runtime op")
        rop = RUNTIME_OPS[layer.op]
        out = plan.tensors[layer.output]
        _check_dtypes(plan, layer)
        ctx = OpContext(
            layer.datapath,
            [plan.tensors[i].shape for i in layer.inputs],
            out.shape,
            layer.arrays,
            layer.params,
            rq_mode(plan.layer_profile(layer_index)),
            out_dtype=out.dtype,
        )
        params = op_params(layer.op, ctx)
        if len(layer.inputs) > MAX_LAYER_INPUTS:
            raise CParamsError(f"{len(layer.inputs)} inputs, at most {MAX_LAYER_INPUTS}")
    except CParamsError as exc:
        raise _layer_error(layer, exc) from None
    return {
        "op": rop.enum,
        "datapath": DATAPATH_ENUM[layer.datapath],
        "out_dtype": DTYPE_ENUM[out.dtype],
        "n_inputs": len(layer.inputs),
        "inputs": [int(i) for i in layer.inputs] + [0] * (MAX_LAYER_INPUTS - len(layer.inputs)),
        "output": int(layer.output),
        "weights": ArrayRef("weights") if "weights" in layer.arrays else None,
        "bias": ArrayRef("bias") if "bias" in layer.arrays else None,
        "params": {rop.union_member: params},
    }


def graph_struct(plan: Plan, scratch_size: int) -> dict[str, Any]:
    """``fp_graph_t`` of the plan; ``tensors`` / ``layers`` are ArrayRefs to the two tables,
    ``kernels`` one to the resolver (``fp_kernels_all()`` in the simulator, the
    model's own table in generated code).

    ``scratch_size`` is what ``fp_graph_scratch_size`` returns for the plan
    (the C kernels decide it; ``fixpoint.sim.executor.graph_scratch_size``).
    """
    for kind, ids in (("inputs", plan.inputs), ("outputs", plan.outputs)):
        if not 1 <= len(ids) <= MAX_GRAPH_IO:
            raise PlanError(f"plan '{plan.model_name}' has {len(ids)} {kind}; the runtime takes 1..{MAX_GRAPH_IO}")
    if len(plan.tensors) > 0xFFFF:
        raise PlanError(f"plan '{plan.model_name}' has {len(plan.tensors)} tensors; indices are 16-bit")
    if plan.arena_size <= 0:
        raise PlanError(f"plan '{plan.model_name}' has no arena (run fixpoint.memory.plan_arena)")
    return {
        "tensors": ArrayRef("tensors"),
        "n_tensors": len(plan.tensors),
        "layers": ArrayRef("layers"),
        "n_layers": len(plan.layers),
        "arena_size": int(plan.arena_size),
        "scratch_size": int(scratch_size),
        "n_inputs": len(plan.inputs),
        "inputs": _pad_list(plan.inputs, MAX_GRAPH_IO),
        "n_outputs": len(plan.outputs),
        "outputs": _pad_list(plan.outputs, MAX_GRAPH_IO),
        "kernels": ArrayRef("kernels"),
    }


def _pad_list(values, length: int) -> list[int]:
    return [int(v) for v in values] + [0] * (length - len(values))


def array_ctype(name: str, datapath: str, op: str) -> np.dtype:
    """C element type of constant array ``name`` of an ``op`` layer."""
    if name not in ARRAY_CTYPES:
        raise CParamsError(f"array '{name}' is not a runtime array (known: {sorted(ARRAY_CTYPES)})")
    if name == "weights" and not RUNTIME_OPS[op].has_weights:
        return np.dtype(DTYPES[act_dtype(datapath)])  # constant operand of add / mul: an activation
    return np.dtype(ARRAY_CTYPES[name][datapath])


def convert_array(name: str, arr: np.ndarray, datapath: str, op: str = "conv2d") -> np.ndarray:
    """One constant array of an ``op`` layer in its exact C element type, flat, C-contiguous.

    Filter weights of the s4 / s2 / s1 datapaths (unpacked int8 values) are
    packed two / four / eight per byte (``reference.lowbit.pack_weights``). Raises CParamsError
    when a value does not fit the C type.
    """
    ctype = array_ctype(name, datapath, op)
    arr = np.asarray(arr)
    if arr.dtype.kind not in "iu":
        raise CParamsError(f"array '{name}' must hold integers, got dtype {arr.dtype}")
    packed = name == "weights" and is_packed(datapath) and RUNTIME_OPS[op].has_weights
    lo, hi = WEIGHT_RANGE[datapath] if packed else (int(np.iinfo(ctype).min), int(np.iinfo(ctype).max))
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        raise CParamsError(
            f"array '{name}' has values in [{int(arr.min())}, {int(arr.max())}], outside [{lo}, {hi}] of its C type"
        )
    flat = np.ascontiguousarray(arr.reshape(-1).astype(ctype))
    if packed:
        if datapath == "s1" and not np.all(flat != 0):
            raise CParamsError(f"array '{name}' holds a 0, which binary (s1) weights cannot represent")
        flat = np.ascontiguousarray(pack_weights(flat, datapath, dtype=np.int8))
    return flat


def layer_arrays_for_c(layer: PlanLayer) -> dict[str, np.ndarray]:
    """The layer's constant arrays in their exact C element types (see convert_array)."""
    try:
        if layer.op not in RUNTIME_OPS:
            raise CParamsError(f"op '{layer.op}' is not a runtime op")
        return {name: convert_array(name, arr, layer.datapath, layer.op) for name, arr in sorted(layer.arrays.items())}
    except CParamsError as exc:
        raise _layer_error(layer, exc) from None
