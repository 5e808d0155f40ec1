"""Softmax over any axis: ONNX ``Softmax`` -> runtime ``softmax``."""

from __future__ import annotations

from fixpoint.ops.rows import OnnxOp, RuntimeOp

ONNX = (
    OnnxOp(
        "Softmax",
        check="fixpoint.ops.onnx_ops:_softmax_check",
        becomes="softmax",
        normalized_by="canonicalize",
        converter="fixpoint.normalize.canonicalize:_softmax",
        runtime_ops=("softmax",),
        lift_1d="fixpoint.frontend.lift_1d:lift_softmax_axis",
    ),
)

RUNTIME = (
    RuntimeOp(
        "softmax",
        enum="FP_OP_SOFTMAX",
        params_struct="fp_softmax_params_t",
        union_member="softmax",
        kernels={"s8": "fp_softmax_s8", "s4": "fp_softmax_s8", "s16": "fp_softmax_s16"},
        doc="softmax over any axis (consecutive NHWC axes)",
        normalized_attrs=("axis",),
        float_kernel="fixpoint.normalize.float_exec:_softmax",
        layout_rewrite="fixpoint.normalize.plan_layout:_softmax",
        lowering="fixpoint.lower.ops_data:lower_softmax",
        output_rule="fixpoint.lower.ops_data:output_softmax",
        params_builder="fixpoint.cparams_compute:softmax_params",
        sim_prepare="fixpoint.sim.kernel_prep:prep_softmax",
        sim_family="unary",
        # softmax_s8_s16 (int8 in, int16 out; TFLite's scale 1/65536, zero point -32768) is API-only
        sim_kernels=(("softmax_s8", "s8", "s8"), ("softmax_s16", "s16", "s16"), ("softmax_s8_s16", "s8", "s16")),
        reference=("fixpoint.reference.softmax:softmax_s8", "fixpoint.reference.softmax:softmax_s16"),
        tests=("tests/runtime/test_softmax.py", "tests/lower/test_lower_ops.py"),
        notes="register and LUT preparation: fixpoint.lower.softmax, fixpoint.reference.softmax_params",
    ),
)
