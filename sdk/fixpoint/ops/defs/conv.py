"""Convolutions: ONNX ``Conv`` -> runtime ``conv2d`` / ``depthwise_conv2d``."""

from __future__ import annotations

from fixpoint.ops.rows import ALL_DATAPATHS, LOWBIT_DATAPATHS, OnnxOp, RuntimeOp

_LIFT = "fixpoint.frontend.lift_1d:"

ONNX = (
    OnnxOp(
        "Conv",
        check="fixpoint.ops.onnx_ops:_conv_check",
        becomes="conv2d / depthwise_conv2d",
        normalized_by="canonicalize",
        converter="fixpoint.normalize.canonicalize:_conv",
        runtime_ops=("conv2d", "depthwise_conv2d"),
        lift_1d=_LIFT + "lift_window",
    ),
)

_CONV_ACT = ("act", "act_range")


def _sim_kernels(op: str) -> tuple[tuple[str, str, str], ...]:
    """The plan's datapaths plus the API-only s16_acc32 kernel (TFLite's 16x8 path with an int32 bias)."""
    return tuple((f"{op}_{dp}", dp, dp) for dp in ("s8", "s4", "s16", "s16_acc32", *LOWBIT_DATAPATHS))


RUNTIME = (
    RuntimeOp(
        "conv2d",
        enum="FP_OP_CONV2D",
        params_struct="fp_conv2d_params_t",
        union_member="conv2d",
        kernels={
            "s8": "fp_conv2d_s8",
            "s4": "fp_conv2d_s4",
            "s16": "fp_conv2d_s16",
            "s2": "fp_conv2d_s2",
            "s1": "fp_conv2d_s1",
        },
        datapaths=ALL_DATAPATHS + LOWBIT_DATAPATHS,
        doc="2-D convolution (stride, padding, dilation, groups)",
        has_weights=True,
        normalized_attrs=("strides", "dilations", "pads", "groups", *_CONV_ACT),
        input_count=3,
        clamping=True,
        weight_channel_axis=0,
        refinable=True,
        float_kernel="fixpoint.normalize.float_exec:_conv2d",
        layout_rewrite="fixpoint.normalize.plan_layout:_conv2d",
        lowering="fixpoint.lower.ops_weighted:lower_conv2d",
        output_rule="fixpoint.lower.ops_data:output_calibrated",
        params_builder="fixpoint.cparams_compute:conv2d_params",
        sim_prepare="fixpoint.sim.kernel_prep:prep_conv2d",
        sim_family="weighted",
        offset_fields=("input_offset", "output_offset"),
        sim_kernels=_sim_kernels("conv2d"),
        reference=("fixpoint.reference.conv:conv2d",),
        tests=("tests/runtime/test_conv2d.py", "tests/lower/test_lower_ops.py", "tests/runtime/test_lowbit_kernels.py"),
    ),
    RuntimeOp(
        "depthwise_conv2d",
        enum="FP_OP_DEPTHWISE_CONV2D",
        params_struct="fp_depthwise_conv2d_params_t",
        union_member="depthwise_conv2d",
        kernels={
            "s8": "fp_depthwise_conv2d_s8",
            "s4": "fp_depthwise_conv2d_s4",
            "s16": "fp_depthwise_conv2d_s16",
            "s2": "fp_depthwise_conv2d_s2",
            "s1": "fp_depthwise_conv2d_s1",
        },
        datapaths=ALL_DATAPATHS + LOWBIT_DATAPATHS,
        doc="depthwise convolution with channel multiplier",
        has_weights=True,
        normalized_attrs=("strides", "dilations", "pads", "depth_multiplier", *_CONV_ACT),
        input_count=3,
        clamping=True,
        weight_channel_axis=3,
        refinable=True,
        float_kernel="fixpoint.normalize.float_exec:_depthwise_conv2d",
        layout_rewrite="fixpoint.normalize.plan_layout:_depthwise",
        lowering="fixpoint.lower.ops_weighted:lower_depthwise_conv2d",
        output_rule="fixpoint.lower.ops_data:output_calibrated",
        params_builder="fixpoint.cparams_compute:depthwise_conv2d_params",
        sim_prepare="fixpoint.sim.kernel_prep:prep_depthwise_conv2d",
        sim_family="weighted",
        offset_fields=("input_offset", "output_offset"),
        sim_kernels=_sim_kernels("depthwise_conv2d"),
        reference=("fixpoint.reference.depthwise:depthwise_conv2d",),
        tests=(
            "tests/runtime/test_depthwise_conv2d.py",
            "tests/lower/test_lower_ops.py",
            "tests/runtime/test_lowbit_kernels.py",
        ),
    ),
)
