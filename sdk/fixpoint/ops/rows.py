"""The shape of an op registry row (see :mod:`fixpoint.ops.registry`).

Two kinds of rows: :class:`OnnxOp` (an ONNX op type the front end accepts)
and :class:`RuntimeOp` (an integer op of the C runtime, the key of the
normalized IR and of plan layers). Rows are plain frozen data: functions are
named by reference strings ``"package.module:function"`` and resolved with
:func:`resolve` by the stage that calls them. That keeps this package free of
imports from the stages (the stage modules import the registry to derive their
tables, so the registry must not import them back) and makes every row a
readable index of where the op's code lives.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "OnnxOp",
    "RuntimeOp",
    "resolve",
    "NORMALIZE_PASSES",
    "ALL_DATAPATHS",
    "LOWBIT_DATAPATHS",
    "ACTIVATION_DTYPE_RULES",
]

ALL_DATAPATHS = ("s8", "s4", "s16")
# Sub-4-bit weight datapaths (ternary / binary weights, int8 activations): only the weighted ops
# conv2d, depthwise_conv2d and fully_connected have them (rows list them in ``datapaths``).
LOWBIT_DATAPATHS = ("s2", "s1")
ACTIVATION_DTYPE_RULES = ("datapath", "input", "any")

# The normalize passes (fixpoint.normalize.PASSES) an ONNX row may name as the one that consumes it.
NORMALIZE_PASSES = (
    "drop_identity",
    "fold_constants",
    "canonicalize",
    "to_fully_connected",
    "fold_batchnorm",
    "fuse_activation",
    "resolve_reshapes",
)


def resolve(ref: str) -> Any:
    """The object a ``"package.module:attribute"`` reference names.

    A module still being imported resolves to its partly initialized self, so
    a stage module may derive its table from references to its own functions
    at its end, once those functions are defined.
    """
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ValueError(f"op registry reference {ref!r} is not 'package.module:attribute'")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True)
class OnnxOp:
    """One ONNX op type accepted by the front end (fixpoint.frontend.support)."""

    op_type: str
    check: str  # "mod:fn" check(node, graph) -> str | None; its docstring is the rule
    becomes: str  # what normalization turns it into (docs)
    normalized_by: str  # the normalize pass that consumes it (NORMALIZE_PASSES)
    converter: str | None = None  # "mod:fn" the pass calls: canonicalize (graph, node) -> None,
    #                                  to_fully_connected (graph, node) -> (weight, bias)
    runtime_ops: tuple[str, ...] = ()  # runtime op keys it can become (empty: folded away)
    lut_function: str | None = None  # unary ops computed by table: the float function's name in
    #                                  fixpoint.lower.lut_functions.FUNCTIONS (None: not a table op)
    lift_1d: str | None = None  # "mod:fn" (graph, node) -> None: the node's attributes / constants
    #                                  rewritten from rank-3 (N, C, L) to rank-4 (N, C, 1, L) tensors
    #                                  (fixpoint.frontend.lift_1d); None: it takes no rank-3 tensor
    defined_in: str = ""  # the ops/defs module holding the row (filled by the registry)


@dataclass(frozen=True)
class RuntimeOp:
    """One integer op of the C runtime: a normalized-IR / plan op key."""

    # --- C runtime (runtime/include/fp_types.h, fp_runtime.h)
    key: str  # normalized-IR / plan op key
    enum: str  # fp_op_t value
    params_struct: str  # C params struct type
    union_member: str  # member of fp_layer_params_t
    kernels: dict[str, str]  # datapath -> C kernel function ({}: executor built-in)
    doc: str = ""
    datapaths: tuple[str, ...] = ALL_DATAPATHS
    has_weights: bool = False  # weights + bias arrays, scratch-taking kernel, weight bits apply
    multi_input: bool = False  # kernel takes an array of input pointers
    activation_dtypes: str = "datapath"  # "datapath": inputs and output have the datapath's activation
    #                                      type; "input": the output keeps the input's type; "any": converts
    # --- normalized IR (docs/normalized-ir.md); None: never in a normalized graph (tools insert it)
    normalized_attrs: tuple[str, ...] | None = None
    input_count: int | None = None  # exact number of normalized inputs (None: any)
    clamping: bool = False  # carries a fused act / act_range (Relu and Clip fuse into it)
    weight_channel_axis: int | None = None  # output-channel axis of the runtime (NHWC-side) weights
    refinable: bool = False  # bias correction / adaptive rounding apply
    # --- stages: "module:function" references
    float_kernel: str | None = None  # normalize.float_exec: (node, inputs, out_shape) -> array
    layout_rewrite: str | None = None  # normalize.plan_layout: (graph, node) -> None, NCHW -> NHWC
    lowering: str | None = None  # lower: (ctx, node, datapath) -> Lowered
    output_rule: str | None = None  # lower: (ctx, node) -> (qparams, rule) of the output tensor
    params_builder: str | None = None  # cparams: (OpContext) -> C params struct fields
    c_inputs: tuple[int, ...] | None = (1,)  # accepted layer input counts (None: 1..MAX_LAYER_INPUTS)
    # --- host simulator kernel wrappers (fixpoint.sim.kernels)
    sim_family: str | None = None  # C calling convention: "weighted" | "binary" | "unary" | "concat" |
    #                                   "table" (unary whose params point at a constant table array);
    #                                   None: no C kernel
    table_arrays: tuple[str, ...] = ()  # "table" family: the constant arrays the params point at
    #                                     (plan layer arrays, C pointer fields of the same name)
    sim_prepare: str | None = None  # "mod:fn" (where, spec, args, kw) -> _Call: checks the wrapper's
    #                                   arguments (fixpoint.sim.kernels)
    sim_kernels: tuple[tuple[str, str, str], ...] = ()  # (C name without fp_, in dp, out dp) when
    #                                                     not one per distinct kernels[] entry
    offset_fields: tuple[str, ...] = ()  # zero-point fields defaulting to 0 in the wrappers
    requant_mode: bool = True  # the C params carry an fp_rq_mode_t (False: 'rounding' /
    #                                   'multiplier_bits' given to its wrapper are errors)
    # --- where the op's story lives
    reference: tuple[str, ...] = ()  # "mod:fn" numpy reference(s) of the C arithmetic
    tests: tuple[str, ...] = ()  # test files (repository-relative) exercising the kernel
    defined_in: str = ""  # the ops/defs module holding the row (filled by the registry)
    notes: str = field(default="", compare=False)  # anything a newcomer should know (docs)

    def c_kernels(self) -> tuple[tuple[str, str, str], ...]:
        """(C function, input datapath, output datapath), one per distinct C kernel."""
        if self.sim_kernels:
            return tuple(("fp_" + name, a, b) for name, a, b in self.sim_kernels)
        seen: dict[str, tuple[str, str, str]] = {}
        for dp in self.datapaths:
            fn = self.kernels.get(dp)
            if fn and fn not in seen:
                seen[fn] = (fn, dp, dp)
        return tuple(seen.values())

    def kernel_files(self) -> tuple[str, ...]:
        """Repository-relative C sources of the op's kernels (one public function per file)."""
        files = []
        names = dict.fromkeys([*self.kernels.values(), *(fn for fn, _, _ in self.c_kernels())])
        for fn in names:
            files.append(f"runtime/src/kernels/{fn}.c")
            if self.has_weights:
                files.append(f"runtime/src/kernels/{fn}_scratch_size.c")
        return tuple(files)
