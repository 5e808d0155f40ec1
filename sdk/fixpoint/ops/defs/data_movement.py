"""Data movement: ``Concat`` -> ``concat``, ``Pad`` -> ``pad``, the reshapes (``Flatten``,
``Reshape``, ``Squeeze``, ``Unsqueeze``) -> removed / ``copy`` / absorbed by a fully connected
layer, and ``requantize``, which tools insert between datapaths."""

from __future__ import annotations

from fixpoint.ops.rows import ALL_DATAPATHS, OnnxOp, RuntimeOp

_CHECKS = "fixpoint.ops.onnx_ops"
_CANON = "fixpoint.normalize.canonicalize"
_LIFT = "fixpoint.frontend.lift_1d"
_RESHAPE_BECOMES = "removed, copy, absorbed by fully_connected, or transpose + copy + transpose"


def _reshape(op_type: str, lift: str = "lift_none") -> OnnxOp:
    """A reshape row; on a lifted rank-3 tensor only Flatten's axis moves (the others resolve from
    the tensor shapes)."""
    return OnnxOp(
        op_type,
        check=f"{_CHECKS}:_reshape_check",
        becomes=_RESHAPE_BECOMES,
        normalized_by="resolve_reshapes",
        runtime_ops=("copy", "transpose"),
        lift_1d=f"{_LIFT}:{lift}",
    )


ONNX = (
    OnnxOp(
        "Concat",
        check=f"{_CHECKS}:_concat_check",
        becomes="concat",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_concat",
        runtime_ops=("concat",),
        lift_1d=f"{_LIFT}:lift_axis",
    ),
    OnnxOp(
        "Pad",
        check=f"{_CHECKS}:_pad_check",
        becomes="pad",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_pad",
        runtime_ops=("pad",),
    ),
    _reshape("Flatten", lift="lift_axis"),
    _reshape("Reshape"),
    _reshape("Squeeze"),
    _reshape("Unsqueeze"),
)


def _per_datapath(name: str) -> dict[str, str]:
    """s4 layers have int8 activations: they run the s8 kernel."""
    return {"s8": f"fp_{name}_s8", "s4": f"fp_{name}_s8", "s16": f"fp_{name}_s16"}


_MOVEMENT_TESTS = ("tests/runtime/test_data_movement.py", "tests/lower/test_lower_ops.py")

RUNTIME = (
    RuntimeOp(
        "concat",
        enum="FP_OP_CONCAT",
        params_struct="fp_concat_params_t",
        union_member="concat",
        kernels=_per_datapath("concat"),
        doc="concatenation of up to 8 tensors, inputs requantized",
        multi_input=True,
        normalized_attrs=("axis",),
        float_kernel="fixpoint.normalize.float_exec:_concat",
        layout_rewrite="fixpoint.normalize.plan_layout:_concat",
        lowering="fixpoint.lower.ops_data:lower_concat",
        output_rule="fixpoint.lower.ops_data:output_calibrated",
        params_builder="fixpoint.cparams_movement:concat_params",
        c_inputs=None,
        sim_prepare="fixpoint.sim.kernel_prep:prep_concat",
        sim_family="concat",
        offset_fields=("output_offset",),
        reference=("fixpoint.reference.data_movement:concat",),
        tests=_MOVEMENT_TESTS,
    ),
    RuntimeOp(
        "pad",
        enum="FP_OP_PAD",
        params_struct="fp_pad_params_t",
        union_member="pad",
        kernels=_per_datapath("pad"),
        doc="constant, reflect, edge or wrap padding",
        normalized_attrs=("pads_before", "pads_after", "value", "mode"),
        float_kernel="fixpoint.normalize.float_exec:_pad",
        layout_rewrite="fixpoint.normalize.plan_layout:_pad",
        lowering="fixpoint.lower.ops_data:lower_pad",
        output_rule="fixpoint.lower.ops_data:output_same_as_input",
        params_builder="fixpoint.cparams_movement:pad_params",
        sim_prepare="fixpoint.sim.kernel_prep:prep_pad",
        sim_family="unary",
        reference=("fixpoint.reference.data_movement:pad",),
        tests=(*_MOVEMENT_TESTS, "tests/runtime/test_pad_modes.py"),
    ),
    RuntimeOp(
        "requantize",
        enum="FP_OP_REQUANTIZE",
        params_struct="fp_requantize_params_t",
        union_member="requantize",
        kernels={"s8": "fp_requantize_s8_s8", "s4": "fp_requantize_s8_s8", "s16": "fp_requantize_s16_s8"},
        doc="rescale or change activation type (s8<->s16)",
        activation_dtypes="any",
        params_builder="fixpoint.cparams_movement:requantize_params",
        sim_prepare="fixpoint.sim.kernel_prep:prep_unary",
        sim_family="unary",
        sim_kernels=(
            ("requantize_s8_s8", "s8", "s8"),
            ("requantize_s8_s16", "s8", "s16"),
            ("requantize_s16_s8", "s16", "s8"),
        ),
        offset_fields=("input_offset", "output_offset"),
        reference=("fixpoint.reference.data_movement:requantize",),
        tests=(
            "tests/runtime/test_data_movement.py",
            "tests/sim/test_sim_graph_c.py",
            "tests/lower/test_lower_widths.py",
        ),
        notes="never in a normalized graph: the lowering inserts it between layers of different activation "
        "widths (fixpoint.lower.widths; datapath = the input's: s8 up to int16, s16 down to int8)",
    ),
    RuntimeOp(
        "copy",
        enum="FP_OP_COPY",
        params_struct="fp_copy_params_t",
        union_member="copy",
        kernels={},
        doc="layout-neutral reshape between arena slots",
        activation_dtypes="input",
        datapaths=ALL_DATAPATHS,
        normalized_attrs=(),
        float_kernel="fixpoint.normalize.float_exec:_copy",
        lowering="fixpoint.lower.ops_data:lower_copy",
        output_rule="fixpoint.lower.ops_data:output_same_as_input",
        params_builder="fixpoint.cparams_movement:copy_params",
        tests=("tests/sim/test_sim_graph_c.py", "tests/lower/test_lower_ops.py"),
    ),
)
