"""Elementwise functions by table, PRelu, Min and Max.

Every unary ONNX function below becomes one runtime ``lut``: its row names the float function
(``lut_function``, :data:`fixpoint.lut_functions.FUNCTIONS`), lowering turns it into a 256-entry
int8 table or TFLite's interpolated 513-entry int16 table. ``Mul(x, Sigmoid(x))`` and
``Mul(x, HardSigmoid(x))`` (SiLU / Swish, HardSwish) fuse into one ``lut`` (see the Mul row).
``PRelu`` -> ``prelu`` (per-channel or scalar slope), ``Min`` / ``Max`` -> ``minimum`` / ``maximum``.
"""

from __future__ import annotations

from fixpoint.ops.rows import OnnxOp, RuntimeOp

_CHECKS = "fixpoint.ops.onnx_lut_checks"
_NORM = "fixpoint.normalize.lut_ops"
_LOWER = "fixpoint.lower.ops_lut"
_TESTS_LUT = ("tests/runtime/test_lut.py", "tests/lower/test_lower_lut.py", "tests/lower/test_lut_models.py")

# ONNX op type -> the float function of its table (fixpoint.lut_functions.FUNCTIONS)
_UNARY = {
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "HardSigmoid": "hard_sigmoid",
    "HardSwish": "hard_swish",
    "Elu": "elu",
    "Selu": "selu",
    "Celu": "celu",
    "Gelu": "gelu",
    "Softplus": "softplus",
    "Softsign": "softsign",
    "Mish": "mish",
    "Exp": "exp",
    "Log": "log",
    "Sqrt": "sqrt",
    "Reciprocal": "reciprocal",
    "Abs": "abs",
    "Neg": "neg",
    "Erf": "erf",
}

_LIFT = "fixpoint.frontend.lift_1d"

ONNX = (
    *(
        OnnxOp(
            op_type,
            check=f"{_CHECKS}:_lut_check",
            becomes=f"lut ({function})",
            normalized_by="canonicalize",
            converter=f"{_NORM}:_lut",
            runtime_ops=("lut",),
            lut_function=function,
            lift_1d=f"{_LIFT}:lift_none",
        )
        for op_type, function in _UNARY.items()
    ),
    OnnxOp(
        "PRelu",
        check=f"{_CHECKS}:_prelu_check",
        becomes="prelu",
        normalized_by="canonicalize",
        converter=f"{_NORM}:_prelu",
        runtime_ops=("prelu",),
        lift_1d=f"{_LIFT}:lift_broadcast",
    ),
    OnnxOp(
        "Min",
        check=f"{_CHECKS}:_minmax_check",
        becomes="minimum",
        normalized_by="canonicalize",
        converter=f"{_NORM}:_minimum",
        runtime_ops=("minimum",),
        lift_1d=f"{_LIFT}:lift_broadcast",
    ),
    OnnxOp(
        "Max",
        check=f"{_CHECKS}:_minmax_check",
        becomes="maximum",
        normalized_by="canonicalize",
        converter=f"{_NORM}:_maximum",
        runtime_ops=("maximum",),
        lift_1d=f"{_LIFT}:lift_broadcast",
    ),
)


def _per_datapath(name: str) -> dict[str, str]:
    """s4 layers have int8 activations: they run the s8 kernel."""
    return {"s8": f"fp_{name}_s8", "s4": f"fp_{name}_s8", "s16": f"fp_{name}_s16"}


_BINARY_OFFSETS = ("input1_offset", "input2_offset", "output_offset")


def _minmax(key: str, enum: str) -> RuntimeOp:
    return RuntimeOp(
        key,
        enum=enum,
        params_struct="fp_minmax_params_t",
        union_member="minmax",
        kernels=_per_datapath(key),
        doc=f"elementwise {key} with broadcasting, inputs rescaled to the output",
        normalized_attrs=(),
        input_count=2,
        float_kernel=f"{_NORM}:float_{key}",
        layout_rewrite="fixpoint.normalize.plan_layout:_elementwise",
        lowering=f"{_LOWER}:lower_minmax",
        output_rule="fixpoint.lower.ops_data:output_calibrated",
        params_builder="fixpoint.cparams_lut:minmax",
        c_inputs=(1, 2),
        sim_prepare="fixpoint.sim.kernel_prep:prep_binary",
        sim_family="binary",
        offset_fields=_BINARY_OFFSETS,
        reference=(f"fixpoint.reference.lut:{key}",),
        tests=("tests/runtime/test_minmax.py", "tests/lower/test_lut_models.py"),
        notes="a constant operand (one value per channel, or a scalar) is quantized with the output's "
        "quantization into the layer's 'weights' array",
    )


RUNTIME = (
    RuntimeOp(
        "lut",
        enum="FP_OP_LUT",
        params_struct="fp_lut_params_t",
        union_member="lut",
        kernels=_per_datapath("lut"),
        doc="elementwise function by table (int8: 256 entries, int16: 513 interpolated)",
        normalized_attrs=("function", "params"),
        input_count=1,
        float_kernel=f"{_NORM}:float_lut",
        lowering=f"{_LOWER}:lower_lut",
        output_rule=f"{_LOWER}:output_lut",
        params_builder="fixpoint.cparams_lut:lut",
        sim_prepare="fixpoint.sim.kernels_table:prep_table",
        sim_family="table",
        table_arrays=("table",),
        requant_mode=False,
        reference=("fixpoint.reference.lut:lut_s8", "fixpoint.reference.lut:lut_s16"),
        tests=_TESTS_LUT,
        notes="bounded functions have a fixed output quantization (sigmoid, hard_sigmoid: int8 1/256 zp -128; "
        "tanh, erf, softsign: int8 1/128 zp 0; int16 1/32768)",
    ),
    RuntimeOp(
        "prelu",
        enum="FP_OP_PRELU",
        params_struct="fp_prelu_params_t",
        union_member="prelu",
        kernels=_per_datapath("prelu"),
        doc="prelu with a per-channel or scalar int8 slope",
        normalized_attrs=("slope",),
        input_count=1,
        float_kernel=f"{_NORM}:float_prelu",
        lowering=f"{_LOWER}:lower_prelu",
        output_rule="fixpoint.lower.ops_data:output_calibrated",
        params_builder="fixpoint.cparams_lut:prelu",
        sim_prepare="fixpoint.sim.kernels_table:prep_table",
        sim_family="table",
        table_arrays=("alpha",),
        offset_fields=("input_offset", "alpha_offset", "output_offset"),
        reference=("fixpoint.reference.lut:prelu",),
        tests=("tests/runtime/test_prelu.py", "tests/lower/test_lut_models.py"),
    ),
    _minmax("minimum", "FP_OP_MINIMUM"),
    _minmax("maximum", "FP_OP_MAXIMUM"),
)
