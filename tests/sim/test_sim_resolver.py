"""The op resolver (runtime/include/fp_resolver.h): the full table matches
RUNTIME_OPS, and a layer whose (op, datapath) the graph's table lacks gives
FP_ERR_UNRESOLVED with the arena untouched, never a crash."""
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

from test_sim_graph_c import Graph, one_layer_plans

ffi, lib = _ffi(), _lib()
RESOLVER_H = Path(__file__).resolve().parents[2] / "runtime" / "include" / "fp_resolver.h"
PLANS = one_layer_plans()
LIST_LINE = re.compile(r"^\s*X\((\w+),\s*(\w+),\s*(\w+),\s*(\w+),\s*(\w+),\s*(\w+)\)")


def enum(name: str) -> int:
    return int(getattr(lib, name))


def all_table() -> list[tuple[int, int, bool]]:
    table = lib.fp_kernels_all()
    return [(table.entries[i].op, table.entries[i].datapath, table.entries[i].scratch_size != ffi.NULL)
            for i in range(table.n_entries)]


def test_full_table_has_every_runtime_ops_kernel_once():
    want = sorted((enum(RUNTIME_OPS[e.op].enum), enum(DATAPATH_ENUM[e.datapath]), e.scratch)
                  for e in all_kernel_entries())
    got = all_table()
    assert len(got) == len({(op, dp) for op, dp, _ in got}), "a pair appears twice in fp_kernels_all()"
    assert sorted(got) == want
    table = lib.fp_kernels_all()
    assert all(table.entries[i].run != ffi.NULL for i in range(table.n_entries))


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


def one_entry_table(op: str, datapath: str, run=None):
    """A cffi table holding only the full table's entry for (op, datapath)."""
    full = lib.fp_kernels_all()
    entries = ffi.new("fp_kernel_entry_t[]", 1)
    for i in range(full.n_entries):
        e = full.entries[i]
        if (e.op, e.datapath) == (enum(RUNTIME_OPS[op].enum), enum(DATAPATH_ENUM[datapath])):
            entries[0] = e
    if run is not None:
        entries[0].run = run
    table = ffi.new("fp_kernel_table_t *", {"entries": entries, "n_entries": 1})
    return table, entries


def run_rejected(g: Graph) -> int:
    before = g.arena_np.copy()
    status = g.run_layer()
    assert np.array_equal(before, g.arena_np), "the arena changed although the layer was rejected"
    return status


@pytest.mark.parametrize("key", ["conv2d_s8", "conv2d_s4", "conv2d_s16", "add", "add_const", "concat",
                                 "requantize"])
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
    other, keep = one_entry_table(layer.op, other_dp)            # same op, another datapath
    g.graph.kernels = other
    assert run_rejected(g) == lib.FP_ERR_UNRESOLVED
    mine, keep = one_entry_table(layer.op, layer.datapath)
    g.graph.kernels = mine
    assert g.run_layer() == lib.FP_OK
    assert status_name(lib.FP_ERR_UNRESOLVED) == "FP_ERR_UNRESOLVED"


def test_unresolved_is_reported_after_the_bounds_checks():
    """A layer that is both out of bounds and unresolved is FP_ERR_ARG: the checks come first."""
    g = Graph(PLANS["conv2d_s8"])
    g.graph.kernels = ffi.NULL
    g.tensors[1].offset = g.graph.arena_size
    assert run_rejected(g) == lib.FP_ERR_ARG
    g = Graph(PLANS["conv2d_s8"])
    g.graph.kernels = ffi.NULL
    g.layers[0].op = 200
    assert run_rejected(g) == lib.FP_ERR_UNSUPPORTED


def test_entry_without_run_function_is_ignored():
    g = Graph(PLANS["conv2d_s8"])
    table, keep = one_entry_table("conv2d", "s8", run=ffi.NULL)
    g.graph.kernels = table
    assert run_rejected(g) == lib.FP_ERR_UNRESOLVED


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
    ref_family = {(r[1], r[2]): r[0] for r in (m.groups() for m in map(LIST_LINE.match, RESOLVER_H.read_text()
                                                .partition("#define FP_KERNEL_VARIANT_LIST")[0].splitlines()) if m)}
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
    assert sorted((host.entries[i].op, host.entries[i].datapath) for i in range(host.n_entries)) == \
        sorted((full.entries[i].op, full.entries[i].datapath) for i in range(full.n_entries))
    source = _build_runtime.host_table_source(RESOLVER_H.parents[1])
    names = re.findall(r"FP_KERNEL_ROW\(\w+, \w+, \w+, (\w+),", source)
    assert sorted(names) == sorted(choose_kernel(e.op, e.datapath, "host") for e in all_kernel_entries())
    assert any(n.endswith("_opt") for n in names)


@pytest.mark.parametrize("key", sorted(PLANS))
def test_host_variants_and_reference_give_identical_results(key):
    from fixpoint.sim.executor import run_plan

    plan = PLANS[key]
    rng = np.random.default_rng(5)
    inputs = [rng.integers(-128, 128, (9, *plan.tensors[t].shape[1:])).astype(
        np.int16 if plan.tensors[t].dtype == "int16" else np.int8) for t in plan.inputs]
    ref = run_plan(plan, inputs, kernels="ref").outputs
    for threads in (1, 3):
        got = run_plan(plan, inputs, kernels="auto", threads=threads).outputs
        assert all(np.array_equal(a, b) for a, b in zip(ref, got)), (key, threads)
