"""Compute: ``ConvTranspose`` -> runtime ``transpose_conv2d``; ``ReduceMean`` / ``ReduceSum`` /
``ReduceMax`` -> runtime ``reduce``."""

from __future__ import annotations

from fixpoint.ops.rows import OnnxOp, RuntimeOp

_CHECKS = "fixpoint.ops.onnx_ops"
_NORM = "fixpoint.normalize.compute_ops"
_REDUCE_BECOMES = "reduce (keepdims=0: plus a layout-neutral reshape)"


def _reduce(op_type: str, kind: str) -> OnnxOp:
    return OnnxOp(
        op_type,
        check=f"{_CHECKS}:_reduce_check",
        becomes=_REDUCE_BECOMES,
        normalized_by="canonicalize",
        converter=f"{_NORM}:_reduce_{kind}",
        runtime_ops=("reduce",),
        lift_1d="fixpoint.frontend.lift_1d:lift_axes",
    )


ONNX = (
    OnnxOp(
        "ConvTranspose",
        check=f"{_CHECKS}:_conv_transpose_check",
        becomes="transpose_conv2d",
        normalized_by="canonicalize",
        converter=f"{_NORM}:_conv_transpose",
        runtime_ops=("transpose_conv2d",),
        lift_1d="fixpoint.frontend.lift_1d:lift_window",
    ),
    _reduce("ReduceMean", "mean"),
    _reduce("ReduceSum", "sum"),
    _reduce("ReduceMax", "max"),
)

RUNTIME = (
    RuntimeOp(
        "transpose_conv2d",
        enum="FP_OP_TRANSPOSE_CONV2D",
        params_struct="fp_transpose_conv2d_params_t",
        union_member="transpose_conv2d",
        kernels={"s8": "fp_transpose_conv2d_s8", "s4": "fp_transpose_conv2d_s4", "s16": "fp_transpose_conv2d_s16"},
        doc="transposed 2-D convolution (stride, padding, output padding, dilation, groups)",
        has_weights=True,
        normalized_attrs=("strides", "dilations", "pads", "groups", "act", "act_range"),
        input_count=3,
        clamping=True,
        weight_channel_axis=0,
        # not refinable: fixpoint.lower.patches builds a forward convolution's input patches
        float_kernel=f"{_NORM}:_transpose_conv2d_float",
        layout_rewrite="fixpoint.normalize.plan_layout:_conv2d",
        lowering="fixpoint.lower.ops_compute:lower_transpose_conv2d",
        output_rule="fixpoint.lower.ops_data:output_calibrated",
        params_builder="fixpoint.cparams_compute:transpose_conv2d_params",
        sim_prepare="fixpoint.sim.kernel_prep:prep_transpose_conv2d",
        sim_family="weighted",
        offset_fields=("input_offset", "output_offset"),
        reference=("fixpoint.reference.transpose_conv:transpose_conv2d",),
        tests=("tests/runtime/test_transpose_conv.py", "tests/lower/test_lower_compute.py"),
        notes="weights OHWI like conv2d (the converter makes ONNX's [C_in, C_out, KH, KW] OIHW first); "
        "the C kernel gathers each output's exact sum, TFLite's reference scatters: same numbers; "
        "bias correction / adaptive rounding skip it (their patch statistics are a forward conv's)",
    ),
    RuntimeOp(
        "reduce",
        enum="FP_OP_REDUCE",
        params_struct="fp_reduce_params_t",
        union_member="reduce",
        kernels={"s8": "fp_reduce_s8", "s4": "fp_reduce_s8", "s16": "fp_reduce_s16"},
        doc="sum, mean or max over any axes (kept dims of 1)",
        normalized_attrs=("axes", "kind"),
        input_count=1,
        float_kernel=f"{_NORM}:_reduce_float",
        layout_rewrite=f"{_NORM}:_reduce_layout",
        lowering="fixpoint.lower.ops_compute:lower_reduce",
        output_rule="fixpoint.lower.ops_compute:output_reduce",
        params_builder="fixpoint.cparams_compute:reduce_params",
        sim_prepare="fixpoint.sim.kernels_movement:prep_reduce",
        sim_family="unary",
        offset_fields=("input_offset", "output_offset"),
        reference=("fixpoint.reference.reduce:reduce",),
        tests=("tests/runtime/test_reduce.py", "tests/lower/test_lower_compute.py"),
        notes="mean = sum with 1/count folded into the scale (TFLite's QuantizedMeanOrSum); "
        "max keeps the input's quantization",
    ),
)
