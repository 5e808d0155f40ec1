"""Pooling: ``MaxPool`` / ``GlobalMaxPool`` -> ``max_pool``, ``AveragePool`` / ``GlobalAveragePool``
-> ``avg_pool``."""

from __future__ import annotations

from fixpoint.ops.rows import OnnxOp, RuntimeOp

_CHECKS = "fixpoint.ops.onnx_ops"
_CANON = "fixpoint.normalize.canonicalize"
_LIFT = "fixpoint.frontend.lift_1d"

ONNX = (
    OnnxOp(
        "MaxPool",
        check=f"{_CHECKS}:_max_pool_check",
        becomes="max_pool",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_max_pool",
        runtime_ops=("max_pool",),
        lift_1d=f"{_LIFT}:lift_window",
    ),
    OnnxOp(
        "AveragePool",
        check=f"{_CHECKS}:_avg_pool_check",
        becomes="avg_pool",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_avg_pool",
        runtime_ops=("avg_pool",),
        lift_1d=f"{_LIFT}:lift_window",
    ),
    OnnxOp(
        "GlobalAveragePool",
        check=f"{_CHECKS}:_global_pool_check",
        becomes="avg_pool",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_global_avg_pool",
        runtime_ops=("avg_pool",),
        lift_1d=f"{_LIFT}:lift_none",
    ),
    OnnxOp(
        "GlobalMaxPool",
        check=f"{_CHECKS}:_global_pool_check",
        becomes="max_pool",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_global_max_pool",
        runtime_ops=("max_pool",),
        lift_1d=f"{_LIFT}:lift_none",
    ),
)

_WINDOW = ("kernel", "strides", "pads")
_TESTS = ("tests/runtime/test_pooling.py", "tests/lower/test_lower_ops.py")

RUNTIME = (
    RuntimeOp(
        "max_pool",
        enum="FP_OP_MAX_POOL",
        params_struct="fp_pool_params_t",
        union_member="pool",
        kernels={"s8": "fp_max_pool_s8", "s4": "fp_max_pool_s8", "s16": "fp_max_pool_s16"},
        doc="max pool",
        normalized_attrs=_WINDOW,
        float_kernel="fixpoint.normalize.float_exec:_max_pool",
        lowering="fixpoint.lower.ops_data:lower_max_pool",
        output_rule="fixpoint.lower.ops_data:output_same_as_input",
        params_builder="fixpoint.cparams_compute:pool_params",
        sim_prepare="fixpoint.sim.kernel_prep:prep_pool",
        sim_family="unary",
        reference=("fixpoint.reference.pooling:max_pool",),
        tests=_TESTS,
    ),
    RuntimeOp(
        "avg_pool",
        enum="FP_OP_AVG_POOL",
        params_struct="fp_pool_params_t",
        union_member="pool",
        kernels={"s8": "fp_avg_pool_s8", "s4": "fp_avg_pool_s8", "s16": "fp_avg_pool_s16"},
        doc="average pool (global included), padding taps excluded",
        normalized_attrs=_WINDOW,
        float_kernel="fixpoint.normalize.float_exec:_avg_pool",
        lowering="fixpoint.lower.ops_data:lower_avg_pool",
        output_rule="fixpoint.lower.ops_data:output_same_as_input",
        params_builder="fixpoint.cparams_compute:pool_params",
        sim_prepare="fixpoint.sim.kernel_prep:prep_pool",
        sim_family="unary",
        reference=("fixpoint.reference.pooling:avg_pool",),
        tests=_TESTS,
    ),
)
