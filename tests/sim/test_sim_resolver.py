"""The op resolver (runtime/include/fp_resolver.h): the full table matches
RUNTIME_OPS, each entry's describe function (the bytes its layers read and
write, for the executor's bounds checks) is its params member's and agrees
with the tensors of real plans, and a layer whose (op, datapath) the graph's
table lacks gives FP_ERR_UNRESOLVED with the arena untouched, never a crash."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from fixpoint.codegen.resolver import all_kernel_entries
from fixpoint.cparams import DATAPATH_ENUM
from fixpoint.ops.runtime_ops import RUNTIME_OPS
from fixpoint.sim.cstruct import status_name
from fixpoint.sim.native import ffi as _ffi, lib as _lib

from sim_plans import PlanBuilder, every_op
from test_sim_graph_c import Graph, one_layer_plans

ffi, lib = _ffi(), _lib()
RESOLVER_H = Path(__file__).resolve().parents[2] / "runtime" / "include" / "fp_resolver.h"
PLANS = one_layer_plans()
LIST_LINE = re.compile(r"^\s*X\((\w+),\s*(\w+),\s*(\w+),\s*(\w+),\s*(\w+),\s*(\w+)\)")


def enum(name: str) -> int:
    return int(getattr(lib, name))


def all_table() -> list[tuple[int, int, bool]]:
    table = lib.fp_kernels_all()
    return [
        (table.entries[i].op, table.entries[i].datapath, table.entries[i].scratch_size != ffi.NULL)
        for i in range(table.n_entries)
    ]


def test_full_table_has_every_runtime_ops_kernel_once():
    want = sorted(
        (enum(RUNTIME_OPS[e.op].enum), enum(DATAPATH_ENUM[e.datapath]), e.scratch) for e in all_kernel_entries()
    )
    got = all_table()
    assert len(got) == len({(op, dp) for op, dp, _ in got}), "a pair appears twice in fp_kernels_all()"
    assert sorted(got) == want
    table = lib.fp_kernels_all()
    assert all(table.entries[i].run != ffi.NULL for i in range(table.n_entries))


def full_entry(op: str, datapath: str):
    full = lib.fp_kernels_all()
    want = (enum(RUNTIME_OPS[op].enum), enum(DATAPATH_ENUM[datapath]))
    return next(
        full.entries[i] for i in range(full.n_entries) if (full.entries[i].op, full.entries[i].datapath) == want
    )


def test_every_entry_has_its_members_describe_function():
    """One describe function per params union member: entries of ops sharing a member (max / avg pool,
    minimum / maximum) share it, entries of different members never do."""
    table = lib.fp_kernels_all()
    by_member: dict[str, set[int]] = {}
    for e in all_kernel_entries():
        entry = full_entry(e.op, e.datapath)
        assert entry.describe != ffi.NULL, e.name
        assert e.describe == f"fp_describe_{RUNTIME_OPS[e.op].union_member}"
        by_member.setdefault(RUNTIME_OPS[e.op].union_member, set()).add(int(ffi.cast("uintptr_t", entry.describe)))
    assert all(len(ptrs) == 1 for ptrs in by_member.values()), by_member
    assert len({next(iter(ptrs)) for ptrs in by_member.values()}) == len(by_member)
    assert table.n_entries == len(all_kernel_entries())


def describe_plans():
    """Plans whose layers cover most params members, on every datapath."""
    plans = [g for g in PLANS.values()]
    for dp in ("s8", "s4", "s16"):
        plans.append(every_op(PlanBuilder(np.random.default_rng([7, len(dp)]), dp)))
        b = PlanBuilder(np.random.default_rng([8, len(dp)]), dp)
        x = b.input([1, 6, 5, 4])
        plans.append(b.plan([b.pool(b.depthwise(x, 2, stride=2), "avg_pool", k=2, stride=1)]))
    return plans


ELEM_BYTES = {0: 1, 1: 2}  # FP_DTYPE_S8, FP_DTYPE_S16


def test_describe_matches_the_tensors_of_real_plans():
    """For every layer of hand-built plans, the entry's describe function reports exactly the bytes
    of the layer's tensors (dims x element size), their dtypes, and the constant second operand."""
    seen = set()
    for plan in describe_plans():
        g = Graph(plan)
        for i, layer in enumerate(plan.layers):
            if layer.op == "copy":
                continue
            c_layer = g.layers[i]
            entry = full_entry(layer.op, layer.datapath)
            need = ffi.new("fp_io_need_t *")
            act = lib.FP_DTYPE_S16 if layer.datapath == "s16" else lib.FP_DTYPE_S8
            assert entry.describe(g.graph, ffi.addressof(g.layers, i), act, need) == lib.FP_OK, layer.name
            assert need.n_in == c_layer.n_inputs, layer.name
            for k in range(need.n_in):
                t = g.tensors[c_layer.inputs[k]]
                elems = t.dims.n * t.dims.h * t.dims.w * t.dims.c
                assert (need.in_bytes[k], need.in_dtype[k]) == (elems * ELEM_BYTES[t.dtype], t.dtype), layer.name
            t = g.tensors[c_layer.output]
            elems = t.dims.n * t.dims.h * t.dims.w * t.dims.c
            assert (need.out_bytes, need.out_dtype) == (elems * ELEM_BYTES[t.dtype], t.dtype), layer.name
            binary = RUNTIME_OPS[layer.op].c_inputs == (1, 2)
            assert need.const_in1 == (1 if binary and c_layer.n_inputs == 1 else 0), layer.name
            seen.add(RUNTIME_OPS[layer.op].union_member)
    assert {
        "conv2d",
        "depthwise_conv2d",
        "fully_connected",
        "add",
        "mul",
        "pool",
        "softmax",
        "concat",
        "pad",
        "leaky_relu",
        "requantize",
    } <= seen


def test_describe_of_zeroed_params_is_rejected():
    """Every describe function, given a layer whose params are all zero (no dims), yields a description the
    executor rejects (an error, or a zero byte count), and running such a layer is FP_ERR_ARG."""
    table = lib.fp_kernels_all()
    g = Graph(PLANS["conv2d_s8"])
    for i in range(table.n_entries):
        e = table.entries[i]
        layer = ffi.new("fp_layer_t *", {"op": e.op, "datapath": e.datapath, "n_inputs": 1, "output": 1})
        need = ffi.new("fp_io_need_t *")
        act = lib.FP_DTYPE_S16 if e.datapath == lib.FP_DP_S16 else lib.FP_DTYPE_S8
        st = e.describe(g.graph, layer, act, need)
        assert st != lib.FP_OK or need.out_bytes == 0 or any(need.in_bytes[k] == 0 for k in range(need.n_in)), i
        g.layers[0] = layer[0]
        assert run_rejected(g) == lib.FP_ERR_ARG, (e.op, e.datapath)


def test_kernel_list_names_the_runtime_ops_kernels():
    """Every FP_KERNEL_LIST line: enum suffixes, adapter name and kernel as RUNTIME_OPS says."""
    reference_part = RESOLVER_H.read_text().partition("#define FP_KERNEL_VARIANT_LIST")[0]
    lines = [LIST_LINE.match(line) for line in reference_part.splitlines()]
    rows = [m.groups() for m in lines if m]
    assert len(rows) == len(all_kernel_entries())
    by_enum = {rop.enum: key for key, rop in RUNTIME_OPS.items()}
    for family, op_suffix, dp_suffix, name, member, kernel in rows:
        op, dp = by_enum[f"FP_OP_{op_suffix}"], dp_suffix.lower()
        rop = RUNTIME_OPS[op]
        assert name == f"{op}_{dp}", name
        assert member == rop.union_member, name
        assert kernel == rop.kernels[dp], name
        assert family.startswith("W") == rop.has_weights, name


def one_entry_table(op: str, datapath: str, run=None, describe=None):
    """A cffi table holding only the full table's entry for (op, datapath)."""
    full = lib.fp_kernels_all()
    entries = ffi.new("fp_kernel_entry_t[]", 1)
    for i in range(full.n_entries):
        e = full.entries[i]
        if (e.op, e.datapath) == (enum(RUNTIME_OPS[op].enum), enum(DATAPATH_ENUM[datapath])):
            entries[0] = e
    if run is not None:
        entries[0].run = run
    if describe is not None:
        entries[0].describe = describe
    table = ffi.new("fp_kernel_table_t *", {"entries": entries, "n_entries": 1})
    return table, entries


def run_rejected(g: Graph) -> int:
    before = g.arena_np.copy()
    status = g.run_layer()
    assert np.array_equal(before, g.arena_np), "the arena changed although the layer was rejected"
    return status


@pytest.mark.parametrize("key", ["conv2d_s8", "conv2d_s4", "conv2d_s16", "add", "add_const", "concat", "requantize"])
def test_unresolved_pair_gives_fp_err_unresolved(key):
    g = Graph(PLANS[key])
    layer = g.compiled.plan.layers[0]
    assert g.run_layer() == lib.FP_OK
    g.graph.kernels = ffi.NULL
    assert run_rejected(g) == lib.FP_ERR_UNRESOLVED
    empty = ffi.new("fp_kernel_table_t *", {"entries": ffi.NULL, "n_entries": 5})
    g.graph.kernels = empty
    assert run_rejected(g) == lib.FP_ERR_UNRESOLVED
    other_dp = {"s8": "s16", "s4": "s8", "s16": "s8"}[layer.datapath]
    other, keep = one_entry_table(layer.op, other_dp)  # same op, another datapath
    g.graph.kernels = other
    assert run_rejected(g) == lib.FP_ERR_UNRESOLVED
    mine, keep = one_entry_table(layer.op, layer.datapath)
    g.graph.kernels = mine
    assert g.run_layer() == lib.FP_OK
    assert status_name(lib.FP_ERR_UNRESOLVED) == "FP_ERR_UNRESOLVED"


def test_unresolved_is_reported_before_the_bounds_checks():
    """The bounds of a layer come from its entry's describe function: a layer that is both out of bounds
    and unresolved is FP_ERR_UNRESOLVED; an unknown op or datapath value stays FP_ERR_UNSUPPORTED; with
    the entry, the bounds check rejects it. Nothing is written in any case."""
    g = Graph(PLANS["conv2d_s8"])
    table = g.graph.kernels
    g.graph.kernels = ffi.NULL
    g.tensors[1].offset = g.graph.arena_size
    assert run_rejected(g) == lib.FP_ERR_UNRESOLVED
    g.graph.kernels = table
    assert run_rejected(g) == lib.FP_ERR_ARG
    g = Graph(PLANS["conv2d_s8"])
    g.graph.kernels = ffi.NULL
    for op in (lib.FP_OP_COUNT, 200, 255):
        g.layers[0].op = op
        assert run_rejected(g) == lib.FP_ERR_UNSUPPORTED
    g.layers[0].op = lib.FP_OP_REDUCE
    assert run_rejected(g) == lib.FP_ERR_UNRESOLVED


def test_op_count_is_one_past_the_last_op():
    assert lib.FP_OP_COUNT == 1 + max(enum(rop.enum) for rop in RUNTIME_OPS.values())
    assert lib.FP_OP_COUNT == len(RUNTIME_OPS)


def test_entry_without_run_function_is_ignored():
    g = Graph(PLANS["conv2d_s8"])
    table, keep = one_entry_table("conv2d", "s8", run=ffi.NULL)
    g.graph.kernels = table
    assert run_rejected(g) == lib.FP_ERR_UNRESOLVED


def test_entry_without_describe_function_is_ignored():
    """No kernel runs without its bounds: an entry lacking describe is skipped like one lacking run."""
    g = Graph(PLANS["conv2d_s8"])
    table, keep = one_entry_table("conv2d", "s8", describe=ffi.NULL)
    g.graph.kernels = table
    assert run_rejected(g) == lib.FP_ERR_UNRESOLVED
    assert lib.fp_graph_scratch_size(g.graph) == 0


def test_copy_needs_no_kernel_entry():
    g = Graph(PLANS["copy"])
    g.graph.kernels = ffi.NULL
    assert g.run_layer() == lib.FP_OK


def test_graph_run_stops_with_unresolved():
    g = Graph(PLANS["conv2d_s8"])
    g.graph.kernels = ffi.NULL
    assert lib.fp_graph_run(g.graph, g.arena, g.scratch, g.scratch_size) == lib.FP_ERR_UNRESOLVED


def test_scratch_size_comes_from_the_table():
    g = Graph(PLANS["conv2d_s4"])
    need = lib.fp_graph_scratch_size(g.graph)
    assert need > 0
    table, keep = one_entry_table("conv2d", "s4")
    g.graph.kernels = table
    assert lib.fp_graph_scratch_size(g.graph) == need
    g.graph.kernels = ffi.NULL
    assert lib.fp_graph_scratch_size(g.graph) == 0


# ---- kernel variants (FP_KERNEL_VARIANT_LIST, fixpoint.ops.variants) ----------------------------


def variant_rows() -> list[tuple[str, ...]]:
    text = RESOLVER_H.read_text().partition("#define FP_KERNEL_VARIANT_LIST")[2]
    return [m.groups() for m in map(LIST_LINE.match, text.splitlines()) if m]


def test_variant_list_matches_kernel_variants():
    """Every FP_KERNEL_VARIANT_LIST row is a KERNEL_VARIANTS entry and back; same member and family
    as the reference row, adapter <op>_<dp>_<variant>, kernel <reference kernel>_<variant>, grouped
    by variant."""
    from fixpoint.ops.variants import KERNEL_VARIANTS

    by_enum = {rop.enum: key for key, rop in RUNTIME_OPS.items()}
    ref_family = {
        (r[1], r[2]): r[0]
        for r in (
            m.groups()
            for m in map(
                LIST_LINE.match, RESOLVER_H.read_text().partition("#define FP_KERNEL_VARIANT_LIST")[0].splitlines()
            )
            if m
        )
    }
    seen: dict[tuple[str, str], dict[str, str]] = {}
    order = []
    for family, op_suffix, dp_suffix, name, member, kernel in variant_rows():
        op, dp = by_enum[f"FP_OP_{op_suffix}"], dp_suffix.lower()
        variant = name.removeprefix(f"{op}_{dp}_")
        assert name == f"{op}_{dp}_{variant}" and variant, name
        assert kernel == f"{RUNTIME_OPS[op].kernels[dp]}_{variant}", name
        assert member == RUNTIME_OPS[op].union_member, name
        assert family == ref_family[(op_suffix, dp_suffix)], name
        seen.setdefault((op, dp), {})[variant] = name
        order.append(variant)
    assert seen == KERNEL_VARIANTS
    assert order == sorted(order, key=order.index), "rows are grouped by variant"
    assert [v for i, v in enumerate(order) if i == 0 or order[i - 1] != v] == list(dict.fromkeys(order))


def test_every_chosen_variant_exists_for_every_board_core():
    """Every board's core has a preference; every adapter it is given is a variant row whose
    kernel has its source file (compiled for every target: make check-c)."""
    from fixpoint.boards import list_boards, load_board
    from fixpoint.ops.variants import ISA_VARIANTS, choose_kernel

    rows = {r[3]: r[5] for r in variant_rows()}
    kernels_opt = RESOLVER_H.parents[1] / "src" / "kernels_opt"
    cores = {load_board(name).cpu.core for name in list_boards()} | {"host"}
    assert cores <= set(ISA_VARIANTS), cores - set(ISA_VARIANTS)
    for core in cores:
        for e in all_kernel_entries():
            chosen = choose_kernel(e.op, e.datapath, core)
            if chosen != e.name:
                assert chosen in rows, (core, chosen)
                assert (kernels_opt / f"{rows[chosen]}.c").is_file(), chosen


def test_host_table_runs_the_host_choice():
    """fp_sim_kernels_host(): one row per FP_KERNEL_LIST pair (as fp_kernels_all()), each naming
    the adapter choose_kernel(op, dp, "host") picks (the generated C of the simulator build)."""
    from fixpoint.ops.variants import choose_kernel
    from fixpoint.sim import _build_runtime

    full, host = lib.fp_kernels_all(), lib.fp_sim_kernels_host()
    assert sorted((host.entries[i].op, host.entries[i].datapath) for i in range(host.n_entries)) == sorted(
        (full.entries[i].op, full.entries[i].datapath) for i in range(full.n_entries)
    )
    source = _build_runtime.host_table_source(RESOLVER_H.parents[1])
    names = re.findall(r"FP_KERNEL_ROW\(\w+, \w+, \w+, (\w+),", source)
    assert sorted(names) == sorted(choose_kernel(e.op, e.datapath, "host") for e in all_kernel_entries())
    assert any(n.endswith("_opt") for n in names)


@pytest.mark.parametrize("key", sorted(PLANS))
def test_host_variants_and_reference_give_identical_results(key):
    from fixpoint.sim.executor import run_plan

    plan = PLANS[key]
    rng = np.random.default_rng(5)
    inputs = [
        rng.integers(-128, 128, (9, *plan.tensors[t].shape[1:])).astype(
            np.int16 if plan.tensors[t].dtype == "int16" else np.int8
        )
        for t in plan.inputs
    ]
    ref = run_plan(plan, inputs, kernels="ref").outputs
    for threads in (1, 3):
        got = run_plan(plan, inputs, kernels="auto", threads=threads).outputs
        assert all(np.array_equal(a, b) for a, b in zip(ref, got)), (key, threads)
