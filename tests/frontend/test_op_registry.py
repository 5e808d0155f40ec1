"""The op registry: every op is covered by every stage it must be, and nothing else exists.

A half-registered op (a row missing a stage function, a C kernel, a reference or a test, or
a stage table with a key no row gives it) fails here with the list of what is missing.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

import pytest

from fixpoint.normalize import PASSES, pass_name
from fixpoint.ops import coverage
from fixpoint.ops.registry import ONNX_ROWS, RUNTIME_ROWS
from fixpoint.ops.rows import NORMALIZE_PASSES, OnnxOp, RuntimeOp, resolve

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key", sorted(RUNTIME_ROWS))
def test_runtime_row_is_complete(key):
    assert coverage.runtime_row_problems(RUNTIME_ROWS[key], ROOT) == []


@pytest.mark.parametrize("op_type", sorted(ONNX_ROWS))
def test_onnx_row_is_complete(op_type):
    assert coverage.onnx_row_problems(ONNX_ROWS[op_type]) == []


def test_every_normalized_runtime_op_comes_from_some_onnx_op():
    assert coverage.registry_problems(ROOT) == []


def test_stage_tables_hold_exactly_the_registry_keys():
    assert coverage.stage_table_problems() == []


def test_every_c_op_enum_has_a_row():
    assert sorted(coverage.c_op_enums(ROOT)) == sorted(row.enum for row in RUNTIME_ROWS.values())


def test_every_c_kernel_of_the_api_belongs_to_a_row():
    api = (ROOT / "runtime" / "include" / "fp_runtime.h").read_text(encoding="utf-8")
    declared = set(re.findall(r"\b(fp_\w+_s(?:4|8|16))\s*\(", api))
    owned = {fn for row in RUNTIME_ROWS.values() for fn, _, _ in row.c_kernels()}
    owned |= {fn for row in RUNTIME_ROWS.values() for fn in row.kernels.values()}
    assert declared - owned == set(), "kernels in fp_runtime.h that no registry row names"


def test_rows_name_the_normalize_passes_that_exist():
    assert set(NORMALIZE_PASSES) <= {pass_name(module) for module in PASSES}


def test_numpy_test_interpreter_covers_every_runtime_op():
    spec = importlib.util.spec_from_file_location("sim_numpy_interp", ROOT / "tests" / "sim" / "sim_numpy_interp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert set(module.OPS) == set(RUNTIME_ROWS)


def test_rows_are_recorded_with_their_family_module():
    for row in [*ONNX_ROWS.values(), *RUNTIME_ROWS.values()]:
        assert row.defined_in.startswith("fixpoint.ops.defs."), row


# ---- the checks above must fail for a half-registered op ----------------------------------


def _half_row(**changes) -> RuntimeOp:
    return dataclasses.replace(RUNTIME_ROWS["conv2d"], key="conv3d", **changes)


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"lowering": None}, "no lowering"),
        ({"float_kernel": None}, "no float_kernel"),
        ({"params_builder": None}, "no params_builder"),
        ({"reference": ()}, "no reference function"),
        ({"tests": ()}, "no test files"),
        ({"tests": ("tests/runtime/test_conv2d.py",)}, "never mentions 'conv3d'"),
        ({"lowering": "fixpoint.lower.ops_weighted:lower_conv3d"}, "does not resolve"),
        ({"enum": "FP_OP_CONV3D"}, "not in fp_op_t"),
        ({"union_member": "conv3d"}, "fp_layer_params_t has no member"),
        ({"union_member": "conv3d"}, "no FP_DECLARE_DESCRIBE(conv3d)"),
        ({"union_member": "conv3d"}, "runtime/src/describe/fp_describe_conv3d.c is missing"),
        ({"kernels": {}, "enum": "FP_OP_CONV3D"}, "no kernel, and fp_graph_run_layer.c does not handle FP_OP_CONV3D"),
        (
            {"kernels": {"s8": "fp_conv3d_s8", "s4": "fp_conv2d_s4", "s16": "fp_conv2d_s16"}},
            "fp_conv3d_s8 is not declared",
        ),
        (
            {"kernels": {"s8": "fp_conv3d_s8", "s4": "fp_conv2d_s4", "s16": "fp_conv2d_s16"}},
            "runtime/src/kernels/fp_conv3d_s8.c does not exist",
        ),
        ({"kernels": {"s8": "fp_conv2d_s8"}}, "no C kernel for datapath(s) ['s4', 's16'"),
        ({"weight_channel_axis": None}, "has_weights needs weight_channel_axis"),
    ],
)
def test_a_half_registered_runtime_op_is_reported(changes, expected):
    problems = coverage.runtime_row_problems(_half_row(**changes), ROOT)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    "row, expected",
    [
        (
            OnnxOp("Conv", check="fixpoint.ops.onnx_ops:_conv_check", becomes="conv2d", normalized_by="canonicalize"),
            "no converter",
        ),
        (
            OnnxOp(
                "Conv3D",
                check="fixpoint.ops.onnx_ops:_conv_check",
                becomes="conv3d",
                normalized_by="canonicalize",
                converter="fixpoint.normalize.canonicalize:_conv",
            ),
            "docstring must start with 'Conv3D:'",
        ),
        (
            OnnxOp("Conv", check="fixpoint.ops.onnx_ops:_conv_check", becomes="x", normalized_by="lower"),
            "normalized_by 'lower'",
        ),
        (
            OnnxOp(
                "Conv",
                check="fixpoint.ops.onnx_ops:_conv_check",
                becomes="x",
                normalized_by="canonicalize",
                converter="fixpoint.normalize.canonicalize:_conv",
                runtime_ops=("conv3d",),
            ),
            "unknown runtime op 'conv3d'",
        ),
        (
            OnnxOp(
                "Relu",
                check="fixpoint.ops.onnx_ops:_relu_check",
                becomes="x",
                normalized_by="fuse_activation",
                converter="fixpoint.normalize.canonicalize:_conv",
            ),
            "does not call converters",
        ),
    ],
)
def test_a_half_registered_onnx_op_is_reported(row, expected):
    problems = coverage.onnx_row_problems(row)
    assert any(expected in p for p in problems), problems


def test_a_hand_written_stage_table_key_is_reported(monkeypatch):
    from fixpoint.normalize import canonicalize
    from fixpoint.lower import table

    monkeypatch.setitem(canonicalize.CONVERTERS, "Conv3D", canonicalize.CONVERTERS["Conv"])
    monkeypatch.delitem(table.LOWERINGS, "pad")
    problems = coverage.stage_table_problems()
    assert "normalize.canonicalize.CONVERTERS: key 'Conv3D' is not from the registry" in problems
    assert "lower.table.LOWERINGS: lacks registry key 'pad'" in problems


def test_references_resolve_to_the_functions_the_stages_call():
    from fixpoint import cparams
    from fixpoint.lower.table import LOWERINGS
    from fixpoint.normalize.canonicalize import CONVERTERS

    row = RUNTIME_ROWS["conv2d"]
    assert LOWERINGS["conv2d"].lower is resolve(row.lowering)
    assert cparams.PARAMS_BUILDERS["conv2d"] is resolve(row.params_builder)
    assert CONVERTERS["Conv"] is resolve(ONNX_ROWS["Conv"].converter)


def test_a_bad_reference_string_is_a_clear_error():
    with pytest.raises(ValueError, match="not 'package.module:attribute'"):
        resolve("fixpoint.cparams._conv2d")
