"""Fully connected: ONNX ``Gemm`` / ``MatMul`` with constant weights -> runtime ``fully_connected``."""

from __future__ import annotations

from fixpoint.ops.rows import ALL_DATAPATHS, LOWBIT_DATAPATHS, OnnxOp, RuntimeOp

ONNX = (
    OnnxOp(
        "Gemm",
        check="fixpoint.ops.onnx_ops:_gemm_check",
        becomes="fully_connected",
        normalized_by="to_fully_connected",
        converter="fixpoint.normalize.to_fully_connected:_gemm_weights",
        runtime_ops=("fully_connected",),
    ),
    OnnxOp(
        "MatMul",
        check="fixpoint.ops.onnx_attention:_matmul_check",
        becomes="fully_connected (2-D, constant B); batch_matmul (two activations, or rank 3-4 times a constant 2-D B)",
        normalized_by="to_fully_connected",
        converter="fixpoint.normalize.to_fully_connected:_matmul_weights",
        runtime_ops=("fully_connected", "batch_matmul"),
    ),
)

RUNTIME = (
    RuntimeOp(
        "fully_connected",
        enum="FP_OP_FULLY_CONNECTED",
        params_struct="fp_fully_connected_params_t",
        union_member="fully_connected",
        kernels={
            "s8": "fp_fully_connected_s8",
            "s4": "fp_fully_connected_s4",
            "s16": "fp_fully_connected_s16",
            "s2": "fp_fully_connected_s2",
            "s1": "fp_fully_connected_s1",
        },
        datapaths=ALL_DATAPATHS + LOWBIT_DATAPATHS,
        doc="fully connected (Gemm / MatMul with constant weights)",
        has_weights=True,
        normalized_attrs=("act", "act_range"),
        input_count=3,
        clamping=True,
        weight_channel_axis=0,
        refinable=True,
        float_kernel="fixpoint.normalize.float_exec:_fully_connected",
        lowering="fixpoint.lower.ops_weighted:lower_fully_connected",
        output_rule="fixpoint.lower.ops_data:output_calibrated",
        params_builder="fixpoint.cparams_compute:fully_connected_params",
        sim_prepare="fixpoint.sim.kernel_prep:prep_fully_connected",
        sim_family="weighted",
        offset_fields=("input_offset", "output_offset"),
        # the plan's datapaths plus the API-only s16_acc32 kernel (TFLite's 16x8 path, int32 bias)
        sim_kernels=tuple(
            (f"fully_connected_{dp}", dp, dp) for dp in ("s8", "s4", "s16", "s16_acc32", *LOWBIT_DATAPATHS)
        ),
        reference=("fixpoint.reference.fully_connected:fully_connected",),
        tests=(
            "tests/runtime/test_fully_connected.py",
            "tests/lower/test_lower_ops.py",
            "tests/runtime/test_lowbit_kernels.py",
        ),
    ),
)
