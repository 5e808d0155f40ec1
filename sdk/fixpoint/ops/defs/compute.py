"""Compute: ``ReduceMean`` / ``ReduceSum`` / ``ReduceMax`` -> runtime ``reduce``."""
from __future__ import annotations

from fixpoint.ops.rows import OnnxOp, RuntimeOp

_CHECKS = "fixpoint.ops.onnx_ops"
_NORM = "fixpoint.normalize.compute_ops"
_REDUCE_BECOMES = "reduce (keepdims=0: plus a layout-neutral reshape)"


def _reduce(op_type: str) -> OnnxOp:
    return OnnxOp(op_type, check=f"{_CHECKS}:_reduce_check", becomes=_REDUCE_BECOMES,
                  normalized_by="canonicalize", converter=f"{_NORM}:_reduce", runtime_ops=("reduce",),
                  lift_1d="fixpoint.frontend.lift_1d:lift_axes")


ONNX = (
    _reduce("ReduceMean"),
    _reduce("ReduceSum"),
    _reduce("ReduceMax"),
)

RUNTIME = (
    RuntimeOp(
        "reduce", enum="FP_OP_REDUCE", params_struct="fp_reduce_params_t", union_member="reduce",
        kernels={"s8": "fp_reduce_s8", "s4": "fp_reduce_s8", "s16": "fp_reduce_s16"},
        doc="sum, mean or max over any axes (kept dims of 1)",
        normalized_attrs=("axes", "kind"), input_count=1,
        float_kernel=f"{_NORM}:_reduce_float",
        layout_rewrite=f"{_NORM}:_reduce_layout",
        lowering="fixpoint.lower.ops_compute:lower_reduce",
        output_rule="fixpoint.lower.ops_compute:output_reduce",
        params_builder="fixpoint.cparams:_reduce",
        sim_prepare="fixpoint.sim.kernels:_prep_reduce",
        sim_family="unary", offset_fields=("input_offset", "output_offset"),
        reference=("fixpoint.reference.reduce:reduce",),
        tests=("tests/runtime/test_reduce.py", "tests/lower/test_lower_compute.py"),
        notes="mean = sum with 1/count folded into the scale (TFLite's QuantizedMeanOrSum); "
              "max keeps the input's quantization",
    ),
)
