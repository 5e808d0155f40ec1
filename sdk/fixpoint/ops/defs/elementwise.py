"""Elementwise ops and activations: ``Add`` / ``Sub`` -> ``add``, ``Mul`` / ``Div`` -> ``mul``,
``LeakyRelu`` -> ``leaky_relu``; ``Relu`` / ``Clip`` fuse into a clamping producer or become
``leaky_relu``."""

from __future__ import annotations

from fixpoint.ops.rows import OnnxOp, RuntimeOp

_ACT_OR_LEAKY = "act of the producer, or leaky_relu"
_CHECKS = "fixpoint.ops.onnx_ops"
_CANON = "fixpoint.normalize.canonicalize"
_LIFT_NONE = "fixpoint.frontend.lift_1d:lift_none"
_LIFT_BROADCAST = "fixpoint.frontend.lift_1d:lift_broadcast"

ONNX = (
    OnnxOp(
        "Add",
        check=f"{_CHECKS}:_elementwise_check",
        becomes="add",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_add",
        runtime_ops=("add",),
        lift_1d=_LIFT_BROADCAST,
    ),
    OnnxOp(
        "Mul",
        check=f"{_CHECKS}:_elementwise_check",
        becomes="mul (x * Sigmoid(x), x * HardSigmoid(x): lut)",
        normalized_by="canonicalize",
        converter="fixpoint.normalize.lut_ops:_mul",
        runtime_ops=("mul", "lut"),
        lift_1d=_LIFT_BROADCAST,
    ),
    OnnxOp(
        "Sub",
        check="fixpoint.ops.onnx_lut_checks:_sub_check",
        becomes="add (input_signs)",
        normalized_by="canonicalize",
        converter="fixpoint.normalize.lut_ops:_sub",
        runtime_ops=("add",),
        lift_1d=_LIFT_BROADCAST,
    ),
    OnnxOp(
        "Div",
        check=f"{_CHECKS}:_sub_div_check",
        becomes="mul",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_div",
        runtime_ops=("mul",),
        lift_1d=_LIFT_BROADCAST,
    ),
    OnnxOp(
        "LeakyRelu",
        check=f"{_CHECKS}:_leaky_relu_check",
        becomes="leaky_relu",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_leaky_relu",
        runtime_ops=("leaky_relu",),
        lift_1d=_LIFT_NONE,
    ),
    OnnxOp(
        "Relu",
        check=f"{_CHECKS}:_relu_check",
        becomes=_ACT_OR_LEAKY,
        normalized_by="fuse_activation",
        runtime_ops=("leaky_relu",),
        lift_1d=_LIFT_NONE,
    ),
    OnnxOp(
        "Clip",
        check=f"{_CHECKS}:_clip_check",
        becomes=_ACT_OR_LEAKY,
        normalized_by="fuse_activation",
        runtime_ops=("leaky_relu",),
        lift_1d=_LIFT_NONE,
    ),
)

_ACT = ("act", "act_range")
_BINARY_OFFSETS = ("input1_offset", "input2_offset", "output_offset")


def _per_datapath(name: str) -> dict[str, str]:
    """s4 layers have int8 activations: they run the s8 kernel."""
    return {"s8": f"fp_{name}_s8", "s4": f"fp_{name}_s8", "s16": f"fp_{name}_s16"}


RUNTIME = (
    RuntimeOp(
        "add",
        enum="FP_OP_ADD",
        params_struct="fp_add_params_t",
        union_member="add",
        kernels=_per_datapath("add"),
        doc="elementwise add with broadcasting",
        normalized_attrs=(*_ACT, "input_signs"),
        input_count=2,
        clamping=True,
        float_kernel="fixpoint.normalize.float_exec:_add",
        layout_rewrite="fixpoint.normalize.plan_layout:_elementwise",
        lowering="fixpoint.lower.ops_elementwise:lower_add",
        output_rule="fixpoint.lower.ops_data:output_calibrated",
        params_builder="fixpoint.cparams_compute:add_params",
        c_inputs=(1, 2),
        sim_prepare="fixpoint.sim.kernel_prep:prep_binary",
        sim_family="binary",
        offset_fields=_BINARY_OFFSETS,
        reference=("fixpoint.reference.elementwise:add",),
        tests=("tests/runtime/test_elementwise.py", "tests/lower/test_lower_ops.py"),
        notes="an add of a per-channel constant is lowered to depthwise_conv2d; input_signs (1, -1) is "
        "TFLite's Sub of two activations (C field subtract), (-1, 1) a constant minus x",
    ),
    RuntimeOp(
        "mul",
        enum="FP_OP_MUL",
        params_struct="fp_mul_params_t",
        union_member="mul",
        kernels=_per_datapath("mul"),
        doc="elementwise mul with broadcasting",
        normalized_attrs=(),
        input_count=2,
        float_kernel="fixpoint.normalize.float_exec:_mul",
        layout_rewrite="fixpoint.normalize.plan_layout:_elementwise",
        lowering="fixpoint.lower.ops_elementwise:lower_mul",
        output_rule="fixpoint.lower.ops_data:output_calibrated",
        params_builder="fixpoint.cparams_compute:mul_params",
        c_inputs=(1, 2),
        sim_prepare="fixpoint.sim.kernel_prep:prep_binary",
        sim_family="binary",
        offset_fields=_BINARY_OFFSETS,
        reference=("fixpoint.reference.elementwise:mul",),
        tests=("tests/runtime/test_elementwise.py", "tests/lower/test_lower_ops.py"),
        notes="a mul by a per-channel constant is lowered to depthwise_conv2d",
    ),
    RuntimeOp(
        "leaky_relu",
        enum="FP_OP_LEAKY_RELU",
        params_struct="fp_leaky_relu_params_t",
        union_member="leaky_relu",
        kernels=_per_datapath("leaky_relu"),
        doc="leaky relu",
        normalized_attrs=("alpha", *_ACT),
        clamping=True,
        float_kernel="fixpoint.normalize.float_exec:_leaky_relu",
        lowering="fixpoint.lower.ops_elementwise:lower_leaky_relu",
        output_rule="fixpoint.lower.ops_data:output_calibrated",
        params_builder="fixpoint.cparams_compute:leaky_relu_params",
        sim_prepare="fixpoint.sim.kernel_prep:prep_unary",
        sim_family="unary",
        offset_fields=("input_offset", "output_offset"),
        reference=("fixpoint.reference.elementwise:leaky_relu",),
        tests=("tests/runtime/test_elementwise.py", "tests/lower/test_lower_ops.py"),
    ),
)
