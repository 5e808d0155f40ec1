"""Data movement without requantization: ``Transpose`` -> ``transpose``, ``Slice`` / ``Split``
-> ``slice``, ``Resize`` -> ``resize``. Both keep the input's quantization (the output is a subset or a
permutation of the input's values), so they run the same kernel for every datapath width and never fuse an activation.
A reshape between activations that reorders elements in NHWC becomes transpose + copy + transpose
(``fixpoint.normalize.resolve_reshapes``)."""

from __future__ import annotations

from fixpoint.ops.rows import ALL_DATAPATHS, OnnxOp, RuntimeOp

_CHECKS = "fixpoint.ops.onnx_movement"
_CANON = "fixpoint.normalize.canonicalize_movement"
_LAYOUT = "fixpoint.normalize.plan_layout"
_FLOAT = "fixpoint.normalize.float_exec"
_LOWER = "fixpoint.lower.ops_data"


def _per_datapath(name: str) -> dict[str, str]:
    """s4 layers have int8 activations: they run the s8 kernel."""
    return {"s8": f"fp_{name}_s8", "s4": f"fp_{name}_s8", "s16": f"fp_{name}_s16"}


ONNX = (
    OnnxOp(
        "Transpose",
        check=f"{_CHECKS}:_transpose_check",
        becomes="transpose",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_transpose",
        runtime_ops=("transpose",),
        lift_1d="fixpoint.frontend.lift_1d:lift_transpose",
    ),
    OnnxOp(
        "Slice",
        check=f"{_CHECKS}:_slice_check",
        becomes="slice",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_slice",
        runtime_ops=("slice",),
    ),
    OnnxOp(
        "Resize",
        check=f"{_CHECKS}:_resize_check",
        becomes="resize",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_resize",
        runtime_ops=("resize",),
    ),
    OnnxOp(
        "Gather",
        check=f"{_CHECKS}:_gather_check",
        becomes="slice per arithmetic run of the indices (+ concat, + reshape for a scalar index)",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_gather",
        runtime_ops=("slice", "concat", "copy"),
    ),
    OnnxOp(
        "DepthToSpace",
        check=f"{_CHECKS}:_depth_to_space_check",
        becomes="transposes and copies",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_depth_to_space",
        runtime_ops=("transpose", "copy"),
    ),
    OnnxOp(
        "SpaceToDepth",
        check=f"{_CHECKS}:_space_to_depth_check",
        becomes="transposes and copies",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_space_to_depth",
        runtime_ops=("transpose", "copy"),
    ),
    OnnxOp(
        "Split",
        check=f"{_CHECKS}:_split_check",
        becomes="one slice per output",
        normalized_by="canonicalize",
        converter=f"{_CANON}:_split",
        runtime_ops=("slice",),
        lift_1d="fixpoint.frontend.lift_1d:lift_axis",
    ),
)

RUNTIME = (
    RuntimeOp(
        "transpose",
        enum="FP_OP_TRANSPOSE",
        params_struct="fp_transpose_params_t",
        union_member="transpose",
        kernels=_per_datapath("transpose"),
        doc="any permutation of the 4 stored dims",
        datapaths=ALL_DATAPATHS,
        activation_dtypes="datapath",
        normalized_attrs=("perm",),
        input_count=1,
        float_kernel=f"{_FLOAT}:_transpose",
        layout_rewrite=f"{_LAYOUT}:_transpose",
        lowering=f"{_LOWER}:lower_transpose",
        output_rule=f"{_LOWER}:output_same_as_input",
        params_builder="fixpoint.cparams_movement:transpose_params",
        sim_prepare="fixpoint.sim.kernels_movement:prep_transpose",
        sim_family="unary",
        requant_mode=False,
        reference=("fixpoint.reference.movement:transpose",),
        tests=("tests/runtime/test_transpose.py", "tests/lower/test_lower_movement.py"),
        notes="NCHW permutations are composed with the NHWC storage order at plan_layout",
    ),
    RuntimeOp(
        "resize",
        enum="FP_OP_RESIZE",
        params_struct="fp_resize_params_t",
        union_member="resize",
        kernels=_per_datapath("resize"),
        doc="resize of H and W: nearest (exact rational coordinates) or TFLite integer bilinear",
        datapaths=ALL_DATAPATHS,
        activation_dtypes="datapath",
        normalized_attrs=("method", "coord", "nearest_mode", "ratio_num", "ratio_den"),
        input_count=1,
        float_kernel=f"{_FLOAT}:_resize",
        lowering=f"{_LOWER}:lower_resize",
        output_rule=f"{_LOWER}:output_same_as_input",
        params_builder="fixpoint.cparams_movement:resize_params",
        sim_prepare="fixpoint.sim.kernels_movement:prep_resize",
        sim_family="unary",
        requant_mode=False,
        reference=("fixpoint.reference.movement:resize",),
        tests=("tests/runtime/test_resize.py", "tests/lower/test_lower_movement.py"),
        notes="attributes are H / W only, so plan_layout has nothing to rewrite; bilinear interpolates "
        "the raw integers (TFLite), so the output keeps the input's quantization",
    ),
    RuntimeOp(
        "slice",
        enum="FP_OP_SLICE",
        params_struct="fp_slice_params_t",
        union_member="slice",
        kernels=_per_datapath("slice"),
        doc="strided slice (begin / stride per dim, negative strides)",
        datapaths=ALL_DATAPATHS,
        activation_dtypes="datapath",
        normalized_attrs=("begin", "stride"),
        input_count=1,
        float_kernel=f"{_FLOAT}:_slice",
        layout_rewrite=f"{_LAYOUT}:_slice",
        lowering=f"{_LOWER}:lower_slice",
        output_rule=f"{_LOWER}:output_same_as_input",
        params_builder="fixpoint.cparams_movement:slice_params",
        sim_prepare="fixpoint.sim.kernels_movement:prep_slice",
        sim_family="unary",
        requant_mode=False,
        reference=("fixpoint.reference.movement:slice_",),
        tests=("tests/runtime/test_slice.py", "tests/lower/test_lower_movement.py"),
        notes="Split becomes one slice per output; the output length of each dim comes from the shape",
    ),
)
