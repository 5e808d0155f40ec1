"""What a complete op registry row provides, checked against the code base.

``tests/frontend/test_op_registry.py`` runs these over every row, so an op that is
registered for some stages but not others (a half-registered op) fails the tests with a
list of what is missing. Each function returns problems as short sentences; an empty list
means the row is complete.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Iterable

from .registry import ONNX_ROWS, RUNTIME_ROWS
from .rows import ACTIVATION_DTYPE_RULES, ALL_DATAPATHS, LOWBIT_DATAPATHS, NORMALIZE_PASSES, OnnxOp, RuntimeOp, resolve

__all__ = [
    "runtime_row_problems",
    "onnx_row_problems",
    "registry_problems",
    "stage_tables",
    "stage_table_problems",
    "c_op_enums",
    "SIM_FAMILIES",
]

SIM_FAMILIES = ("weighted", "binary", "unary", "concat", "table")
_PASSES_WITH_CONVERTER = ("canonicalize", "to_fully_connected")


class _CSources:
    """The C facts a row refers to, read once from the runtime sources."""

    def __init__(self, root: Path):
        self.root = root
        include = root / "runtime" / "include"
        self.types = (include / "fp_types.h").read_text(encoding="utf-8")
        self.api = (include / "fp_runtime.h").read_text(encoding="utf-8")
        self.executor = (root / "runtime" / "src" / "graph" / "fp_graph_run_layer.c").read_text(encoding="utf-8")
        self.describe_dir = root / "runtime" / "src" / "describe"
        resolver = (include / "fp_resolver.h").read_text(encoding="utf-8")
        self.describes = set(re.findall(r"^FP_DECLARE_DESCRIBE\((\w+)\)", resolver, re.M))
        # the reference kernels only: FP_KERNEL_VARIANT_LIST (after it) lists their variants
        resolver = resolver.split("#define FP_KERNEL_VARIANT_LIST")[0]
        # FP_KERNEL_LIST lines: X(family, OP, DP, name, member, kernel) -> {(OP, DP): kernel}
        self.resolver = {
            (m[0], m[1]): m[2] for m in re.findall(r"X\(\s*\w+,\s*(\w+),\s*(\w+),\s*\w+,\s*\w+,\s*(\w+)\)", resolver)
        }
        union = re.search(r"typedef union \{(.*?)\} fp_layer_params_t;", self.types, re.S)
        self.union = union.group(1) if union else ""

    def declared(self, function: str) -> bool:
        return re.search(rf"\b{re.escape(function)}\s*\(", self.api) is not None


def _ref_problems(row_name: str, field: str, ref: str | None, required: bool) -> list[str]:
    if not ref:
        return [f"{row_name}: no {field}"] if required else []
    try:
        target = resolve(ref)
    except (ImportError, AttributeError, ValueError) as exc:
        return [f"{row_name}: {field} {ref!r} does not resolve ({type(exc).__name__}: {exc})"]
    return [] if callable(target) else [f"{row_name}: {field} {ref!r} is not callable"]


def _c_problems(row: RuntimeOp, c: _CSources) -> list[str]:
    name = f"runtime op {row.key}"
    problems = []
    if not re.search(rf"\b{re.escape(row.enum)}\s*=", c.types):
        problems.append(f"{name}: enum {row.enum} is not in fp_op_t (runtime/include/fp_types.h)")
    if not re.search(rf"\}}\s*{re.escape(row.params_struct)}\s*;", c.types):
        problems.append(f"{name}: params struct {row.params_struct} is not defined in fp_types.h")
    if not re.search(rf"\b{re.escape(row.params_struct)}\s+{re.escape(row.union_member)}\s*;", c.union):
        problems.append(f"{name}: fp_layer_params_t has no member '{row.params_struct} {row.union_member}'")
    if row.kernels:
        # the executor bounds-checks a kernel's layers with its resolver entry's describe function
        member = row.union_member
        if member not in c.describes:
            problems.append(f"{name}: fp_resolver.h has no FP_DECLARE_DESCRIBE({member})")
        if not (c.describe_dir / f"fp_describe_{member}.c").is_file():
            problems.append(f"{name}: runtime/src/describe/fp_describe_{member}.c is missing")
    elif row.enum not in c.executor:
        problems.append(f"{name}: no kernel, and fp_graph_run_layer.c does not handle {row.enum}")
    op_suffix = row.enum[len("FP_OP_") :]
    for dp, kernel in row.kernels.items():
        listed = c.resolver.get((op_suffix, dp.upper()))
        if listed != kernel:
            problems.append(
                f"{name}: FP_KERNEL_LIST (runtime/include/fp_resolver.h) has "
                f"{listed or 'no line'} for {op_suffix} {dp.upper()}, the row says {kernel}"
            )
    if row.kernels:
        missing = [dp for dp in row.datapaths if dp not in row.kernels]
        if missing:
            problems.append(f"{name}: no C kernel for datapath(s) {missing}")
    for fn, _, _ in [*((k, dp, dp) for dp, k in row.kernels.items()), *row.c_kernels()]:
        if not c.declared(fn):
            problems.append(f"{name}: kernel {fn} is not declared in runtime/include/fp_runtime.h")
        if row.has_weights and not c.declared(fn + "_scratch_size"):
            problems.append(f"{name}: {fn}_scratch_size is not declared in fp_runtime.h")
    for path in row.kernel_files():
        if not (c.root / path).is_file():
            problems.append(f"{name}: kernel source {path} does not exist")
    return problems


def _stage_problems(row: RuntimeOp) -> list[str]:
    name = f"runtime op {row.key}"
    in_ir = row.normalized_attrs is not None
    problems = _ref_problems(name, "params_builder", row.params_builder, True)
    problems += _ref_problems(name, "float_kernel", row.float_kernel, in_ir)
    problems += _ref_problems(name, "lowering", row.lowering, in_ir)
    problems += _ref_problems(name, "output_rule", row.output_rule, in_ir)
    problems += _ref_problems(name, "layout_rewrite", row.layout_rewrite, False)
    if not in_ir and (row.float_kernel or row.lowering):
        problems.append(f"{name}: has stage functions but no normalized_attrs (is it in the normalized IR?)")
    if row.kernels and row.sim_family not in SIM_FAMILIES:
        problems.append(f"{name}: sim_family {row.sim_family!r} is not one of {SIM_FAMILIES}")
    problems += _ref_problems(name, "sim_prepare", row.sim_prepare, bool(row.sim_family))
    if row.kernels and not row.reference:
        problems.append(f"{name}: no reference function")
    for ref in row.reference:
        problems += _ref_problems(name, "reference", ref, True)
    return problems


def _consistency_problems(row: RuntimeOp) -> list[str]:
    name = f"runtime op {row.key}"
    problems = []
    if not set(row.datapaths) <= set(ALL_DATAPATHS + LOWBIT_DATAPATHS):
        problems.append(f"{name}: datapaths {row.datapaths} outside {ALL_DATAPATHS + LOWBIT_DATAPATHS}")
    if row.has_weights and (row.weight_channel_axis is None or row.sim_family != "weighted"):
        problems.append(f"{name}: has_weights needs weight_channel_axis and sim_family 'weighted'")
    if row.multi_input != (row.c_inputs is None):
        problems.append(f"{name}: multi_input ops take any input count (c_inputs None), others a fixed one")
    if row.refinable and not row.has_weights:
        problems.append(f"{name}: refinable without weights")
    if row.clamping and not {"act", "act_range"} <= set(row.normalized_attrs or ()):
        problems.append(f"{name}: clamping needs the normalized attributes act and act_range")
    if not row.doc:
        problems.append(f"{name}: no doc")
    if row.activation_dtypes not in ACTIVATION_DTYPE_RULES:
        problems.append(f"{name}: activation_dtypes {row.activation_dtypes!r} is not one of {ACTIVATION_DTYPE_RULES}")
    return problems


def _test_problems(row: RuntimeOp, root: Path) -> list[str]:
    name = f"runtime op {row.key}"
    if not row.tests:
        return [f"{name}: no test files"]
    problems = []
    for path in row.tests:
        file = root / path
        if not file.is_file():
            problems.append(f"{name}: test file {path} does not exist")
        elif row.key not in file.read_text(encoding="utf-8"):
            problems.append(f"{name}: test file {path} never mentions '{row.key}'")
    return problems


def runtime_row_problems(row: RuntimeOp, root: Path) -> list[str]:
    """Everything a runtime row lacks: C enum, struct, union member, describe function (or the
    executor's own handling, for copy), kernels and their sources per datapath, stage functions,
    reference, tests."""
    c = _CSources(root)
    return _c_problems(row, c) + _stage_problems(row) + _consistency_problems(row) + _test_problems(row, root)


def onnx_row_problems(row: OnnxOp, runtime_keys: Iterable[str] | None = None) -> list[str]:
    """Everything an ONNX row lacks: a self-documenting check, the pass that consumes it and
    its converter, runtime ops that exist."""
    name = f"ONNX op {row.op_type}"
    keys = set(RUNTIME_ROWS if runtime_keys is None else runtime_keys)
    problems = _ref_problems(name, "check", row.check, True)
    problems += _ref_problems(name, "lift_1d", row.lift_1d, False)
    if not problems:
        prefix = (resolve(row.check).__doc__ or "").split(":", 1)[0]
        if row.op_type not in re.split(r"[ /]+", prefix.strip()):
            problems.append(
                f"{name}: the check's docstring must start with '{row.op_type}:' (or a group naming it), got {prefix!r}"
            )
    if row.normalized_by not in NORMALIZE_PASSES:
        problems.append(f"{name}: normalized_by {row.normalized_by!r} is not one of {NORMALIZE_PASSES}")
    if row.normalized_by in _PASSES_WITH_CONVERTER:
        problems += _ref_problems(name, "converter", row.converter, True)
    elif row.converter:
        problems.append(f"{name}: converter given but pass {row.normalized_by} does not call converters")
    problems += [f"{name}: becomes unknown runtime op '{k}'" for k in row.runtime_ops if k not in keys]
    if not row.becomes:
        problems.append(f"{name}: no 'becomes' text")
    return problems


def registry_problems(root: Path) -> list[str]:
    """All row problems, plus runtime ops of the normalized IR that no ONNX op becomes."""
    problems = [p for row in RUNTIME_ROWS.values() for p in runtime_row_problems(row, root)]
    problems += [p for row in ONNX_ROWS.values() for p in onnx_row_problems(row)]
    reachable = {k for row in ONNX_ROWS.values() for k in row.runtime_ops}
    problems += [
        f"runtime op {key}: no ONNX row becomes it"
        for key, row in RUNTIME_ROWS.items()
        if row.normalized_attrs is not None and key not in reachable
    ]
    return problems


def c_op_enums(root: Path) -> list[str]:
    """The fp_op_t enumerators of runtime/include/fp_types.h."""
    types = (root / "runtime" / "include" / "fp_types.h").read_text(encoding="utf-8")
    body = re.search(r"typedef enum \{([^}]*)\} fp_op_t;", types, re.S)
    return re.findall(r"\b(FP_OP_\w+)\s*=", body.group(1) if body else "")


def _keys(table: Any) -> set[str]:
    return set(table)


def stage_tables() -> dict[str, tuple[set[str], set[str]]]:
    """Every derived stage table: name -> (its keys, the keys the registry rows give it)."""
    from fixpoint import cparams
    from fixpoint.lower import equalize, ops_weighted, refine, table
    from fixpoint.normalize import (
        canonicalize,
        drop_identity,
        float_exec,
        fold_batchnorm,
        fuse_activation,
        invariants,
        plan_layout,
        resolve_reshapes,
        to_fully_connected,
    )
    from fixpoint.ops import onnx_ops, runtime_ops
    from fixpoint.sim import kernels

    def rows(pred: Callable[[RuntimeOp], Any]) -> set[str]:
        return {k for k, r in RUNTIME_ROWS.items() if pred(r)}

    def onnx(pass_name: str) -> set[str]:
        return {k for k, r in ONNX_ROWS.items() if r.normalized_by == pass_name}

    in_ir = rows(lambda r: r.normalized_attrs is not None)
    return {
        "ops.onnx_ops.ONNX_OPS": (_keys(onnx_ops.ONNX_OPS), set(ONNX_ROWS)),
        "ops.runtime_ops.RUNTIME_OPS": (_keys(runtime_ops.RUNTIME_OPS), set(RUNTIME_ROWS)),
        "normalize.canonicalize.CONVERTERS": (_keys(canonicalize.CONVERTERS), onnx("canonicalize")),
        "normalize.to_fully_connected._WEIGHTS": (_keys(to_fully_connected._WEIGHTS), onnx("to_fully_connected")),
        "normalize.drop_identity.PASSTHROUGH_OPS": (_keys(drop_identity.PASSTHROUGH_OPS), onnx("drop_identity")),
        "normalize.resolve_reshapes.RESHAPE_OPS": (_keys(resolve_reshapes.RESHAPE_OPS), onnx("resolve_reshapes")),
        "normalize.fuse_activation.ACTIVATION_OPS": (_keys(fuse_activation.ACTIVATION_OPS), onnx("fuse_activation")),
        "normalize.fold_batchnorm.FOLDED_OPS": (_keys(fold_batchnorm.FOLDED_OPS), onnx("fold_batchnorm")),
        "normalize.fuse_activation.CLAMPING_OPS": (_keys(fuse_activation.CLAMPING_OPS), rows(lambda r: r.clamping)),
        "normalize.fold_batchnorm.WEIGHT_OPS": (_keys(fold_batchnorm.WEIGHT_OPS), rows(lambda r: r.has_weights)),
        "normalize.invariants.NORMALIZED_ATTRS": (_keys(invariants.NORMALIZED_ATTRS), in_ir),
        "normalize.invariants.INPUT_COUNTS": (
            _keys(invariants.INPUT_COUNTS),
            rows(lambda r: r.input_count is not None),
        ),
        "normalize.float_exec.KERNELS": (_keys(float_exec.KERNELS), in_ir),
        "normalize.plan_layout._REWRITES": (_keys(plan_layout._REWRITES), rows(lambda r: r.layout_rewrite)),
        "lower.table.LOWERINGS": (_keys(table.LOWERINGS), in_ir),
        "lower.ops_weighted.CHANNEL_AXIS": (
            _keys(ops_weighted.CHANNEL_AXIS),
            rows(lambda r: r.weight_channel_axis is not None),
        ),
        "lower.refine.REFINABLE": (_keys(refine.REFINABLE), rows(lambda r: r.refinable)),
        "lower.equalize.FIRST_OPS": (_keys(equalize.FIRST_OPS), rows(lambda r: r.weight_channel_axis is not None)),
        "cparams.PARAMS_BUILDERS": (_keys(cparams.PARAMS_BUILDERS), set(RUNTIME_ROWS)),
        "cparams.N_INPUTS": (_keys(cparams.N_INPUTS), set(RUNTIME_ROWS)),
        "sim.kernels.PREPARE": (_keys(kernels.PREPARE), rows(lambda r: r.sim_family)),
        "sim.kernels.OFFSET_FIELDS": (_keys(kernels.OFFSET_FIELDS), rows(lambda r: r.offset_fields)),
        "sim.kernels.KERNEL_SPECS (ops)": ({s.op for s in kernels.KERNEL_SPECS.values()}, rows(lambda r: r.sim_family)),
    }


def stage_table_problems(tables: dict[str, tuple[set[str], set[str]]] | None = None) -> list[str]:
    """Keys a stage table has that the registry does not give it, and the reverse."""
    problems = []
    for name, (actual, expected) in (stage_tables() if tables is None else tables).items():
        problems += [f"{name}: key '{k}' is not from the registry" for k in sorted(actual - expected)]
        problems += [f"{name}: lacks registry key '{k}'" for k in sorted(expected - actual)]
    return problems
