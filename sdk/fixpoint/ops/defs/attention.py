"""Attention: ``MatMul`` of two activations -> runtime ``batch_matmul``; ``LayerNormalization`` (and
the decomposed ReduceMean / Sub / Pow / ReduceMean / Add / Sqrt / Div / Mul / Add pattern) ->
runtime ``layer_norm``."""

from __future__ import annotations

from fixpoint.ops.rows import OnnxOp, RuntimeOp

_NORM = "fixpoint.normalize.attention_ops"
_LOWER = "fixpoint.lower.ops_attention"
_REF = "fixpoint.reference.attention"


def _per_datapath(name: str) -> dict[str, str]:
    """s4 layers have int8 activations: they run the s8 kernel."""
    return {"s8": f"fp_{name}_s8", "s4": f"fp_{name}_s8", "s16": f"fp_{name}_s16"}


ONNX = (
    OnnxOp(
        "LayerNormalization",
        check="fixpoint.ops.onnx_attention:_layer_norm_check",
        becomes="layer_norm (the last axis)",
        normalized_by="canonicalize",
        converter=f"{_NORM}:_layer_norm",
        runtime_ops=("layer_norm",),
        lift_1d="fixpoint.frontend.lift_1d:lift_none",
    ),
)

RUNTIME = (
    RuntimeOp(
        "batch_matmul",
        enum="FP_OP_BATCH_MATMUL",
        params_struct="fp_batch_matmul_params_t",
        union_member="batch_matmul",
        kernels=_per_datapath("batch_matmul"),
        doc="matmul of two activations over up to two (broadcast) batch dims, strided operands",
        normalized_attrs=("a_shape", "b_shape", "a_perm", "b_perm"),
        input_count=2,
        float_kernel=f"{_NORM}:float_batch_matmul",
        lowering=f"{_LOWER}:lower_batch_matmul",
        output_rule="fixpoint.lower.ops_data:output_calibrated",
        params_builder="fixpoint.cparams_attention:batch_matmul",
        c_inputs=(1, 2),
        sim_prepare="fixpoint.sim.kernels_attention:prep_batch_matmul",
        sim_family="binary",
        offset_fields=("input1_offset", "input2_offset", "output_offset"),
        reference=(f"{_REF}:batch_matmul",),
        tests=("tests/runtime/test_batch_matmul.py", "tests/lower/test_lower_attention.py"),
        notes="a_shape / b_shape: the ONNX operand shapes (before any rank-3 lift); a_perm / b_perm: a "
        "Transpose folded into the operand (read from its input through the perm), or None; the "
        "lowering maps each ONNX axis to its stored position (any source layout), so a transposed "
        "operand is a change of strides, never a copy",
    ),
    RuntimeOp(
        "layer_norm",
        enum="FP_OP_LAYER_NORM",
        params_struct="fp_layer_norm_params_t",
        union_member="layer_norm",
        kernels=_per_datapath("layer_norm"),
        doc="layer normalization over the last ONNX axis: exact integer mean / variance, integer rsqrt, "
        "per-element int16 gamma and int64 beta",
        normalized_attrs=("epsilon", "onnx_rank", "axis_size"),
        input_count=3,
        float_kernel=f"{_NORM}:float_layer_norm",
        lowering=f"{_LOWER}:lower_layer_norm",
        output_rule="fixpoint.lower.ops_data:output_calibrated",
        params_builder="fixpoint.cparams_attention:layer_norm",
        sim_prepare="fixpoint.sim.kernels_attention:prep_layer_norm",
        sim_family="table",
        table_arrays=("gamma", "beta"),
        offset_fields=("input_offset", "output_offset"),
        reference=(f"{_REF}:layer_norm",),
        tests=("tests/runtime/test_layer_norm.py", "tests/lower/test_lower_attention.py"),
        notes="inputs [x, gamma, beta] (constants [D]); the normalized axis is the last ONNX axis, "
        "wherever the stored layout puts it (depth / inner like softmax)",
    ),
)
