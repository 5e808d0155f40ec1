"""The C graph executor's own checks: every FP_ERR_ARG / UNSUPPORTED / SCRATCH path,
driven through cffi with hand-corrupted copies of a valid graph. Nothing may be
written to the arena when a layer is rejected."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.sim.cstruct import STATUS_NAMES
from fixpoint.sim.executor import compile_plan
from fixpoint.sim.native import ffi as _ffi, lib as _lib

from sim_plans import PlanBuilder

ffi, lib = _ffi(), _lib()


class Graph:
    """A private, mutable copy of a compiled plan's fp_graph_t and its tables."""

    def __init__(self, plan):
        compiled = compile_plan(plan)
        self.compiled = compiled
        self.tensors = ffi.new("fp_tensor_t[]", len(plan.tensors))
        for i in range(len(plan.tensors)):
            self.tensors[i] = compiled.tensors[i]
        self.layers = ffi.new("fp_layer_t[]", max(len(plan.layers), 1))
        for i in range(len(plan.layers)):
            self.layers[i] = compiled.layers[i]
        self.graph = ffi.new("fp_graph_t *", compiled.graph[0])
        self.graph.tensors, self.graph.layers = self.tensors, self.layers
        self.arena_np = np.zeros(plan.arena_size + 8, dtype=np.uint8)
        self.arena_np[:] = np.random.default_rng(0).integers(0, 256, self.arena_np.size)
        self.arena = ffi.from_buffer("uint8_t[]", self.arena_np)
        self.scratch = ffi.new("uint8_t[]", max(compiled.scratch_size, 1))
        self.scratch_size = compiled.scratch_size

    def run_layer(self, index: int = 0, arena=None, scratch=None, scratch_size=None) -> int:
        return lib.fp_graph_run_layer(
            self.graph,
            index,
            self.arena if arena is None else arena,
            self.scratch if scratch is None else scratch,
            self.scratch_size if scratch_size is None else scratch_size,
        )


def one_layer_plans():
    """op name -> (plan, layer index of the op)."""
    plans = {}
    for dp in ("s8", "s4", "s16"):
        b = PlanBuilder(np.random.default_rng(1), dp)
        x = b.input([1, 5, 5, 4])
        plans[f"conv2d_{dp}"] = b.plan([b.conv(x, 3)])
    b = PlanBuilder(np.random.default_rng(2), "s8")
    x, y = b.input([1, 3, 3, 2]), b.input([1, 3, 3, 2])
    plans["add"] = b.plan([b.add(x, y)])
    b = PlanBuilder(np.random.default_rng(3), "s8")
    x = b.input([1, 3, 3, 2])
    plans["add_const"] = b.plan([b.add(x, const_shape=[1, 1, 1, 2])])
    b = PlanBuilder(np.random.default_rng(4), "s8")
    x, y = b.input([1, 2, 2, 2]), b.input([1, 2, 2, 3])
    plans["concat"] = b.plan([b.concat([x, y])])
    b = PlanBuilder(np.random.default_rng(5), "s16")
    x = b.input([1, 2, 2, 3])
    plans["requantize"] = b.plan([b.requantize(x, "int8")])
    b = PlanBuilder(np.random.default_rng(6), "s8")
    x = b.input([1, 2, 2, 3])
    plans["copy"] = b.plan([b.copy(x, [1, 1, 1, 12])])
    return plans


PLANS = one_layer_plans()


def expect(g: Graph, status: str, **kw) -> None:
    before = g.arena_np.copy()
    got = g.run_layer(**kw)
    names = {getattr(lib, n): n for n in STATUS_NAMES}
    assert names.get(got, got) == status
    assert np.array_equal(before, g.arena_np), "the arena changed although the layer was rejected"


def test_valid_layers_run():
    for name, plan in PLANS.items():
        g = Graph(plan)
        assert g.run_layer() == lib.FP_OK, name


def corrupt_cases():
    """(plan key, description, mutation of Graph, expected status)."""
    big = (1 << 30) + 1

    def set_dims(d, n, h, w, c):
        d.n, d.h, d.w, d.c = n, h, w, c

    # a table of cases, one per line
    # fmt: off
    return [
        ("conv2d_s8", "input index out of range", lambda g: setattr(g.layers[0], "inputs", [999] + [0] * 7), "FP_ERR_ARG"),
        ("conv2d_s8", "output index out of range", lambda g: setattr(g.layers[0], "output", 999), "FP_ERR_ARG"),
        ("conv2d_s8", "misaligned tensor offset", lambda g: setattr(g.tensors[1], "offset", g.tensors[1].offset + 2), "FP_ERR_ARG"),
        ("conv2d_s8", "tensor beyond the arena", lambda g: setattr(g.tensors[1], "offset", g.graph.arena_size), "FP_ERR_ARG"),
        ("conv2d_s8", "tensor size wraps the arena", lambda g: setattr(g.tensors[1], "size", 0xFFFFFFFF), "FP_ERR_ARG"),
        ("conv2d_s8", "tensor smaller than the params", lambda g: setattr(g.tensors[0], "size", g.tensors[0].size - 1), "FP_ERR_ARG"),
        ("conv2d_s8", "dtype differs from datapath", lambda g: setattr(g.tensors[0], "dtype", lib.FP_DTYPE_S16), "FP_ERR_ARG"),
        ("conv2d_s8", "unknown dtype", lambda g: setattr(g.tensors[1], "dtype", 7), "FP_ERR_ARG"),
        ("conv2d_s8", "output overlaps input", lambda g: setattr(g.tensors[1], "offset", g.tensors[0].offset), "FP_ERR_ARG"),
        ("conv2d_s8", "wrong input count", lambda g: setattr(g.layers[0], "n_inputs", 2), "FP_ERR_ARG"),
        ("conv2d_s8", "zero input dim", lambda g: setattr(g.layers[0].params.conv2d.input, "h", 0), "FP_ERR_ARG"),
        ("conv2d_s8", "negative output dim", lambda g: setattr(g.layers[0].params.conv2d.output, "c", -3), "FP_ERR_ARG"),
        ("conv2d_s8", "huge dims (no overflow)", lambda g: set_dims(g.layers[0].params.conv2d.input, big, big, big, big), "FP_ERR_ARG"),
        ("conv2d_s8", "unknown op", lambda g: setattr(g.layers[0], "op", 200), "FP_ERR_UNSUPPORTED"),
        ("conv2d_s8", "unknown datapath", lambda g: setattr(g.layers[0], "datapath", 9), "FP_ERR_UNSUPPORTED"),
        ("conv2d_s8", "kernel rejects params", lambda g: setattr(g.layers[0].params.conv2d, "stride_h", 0), "FP_ERR_ARG"),
        ("add", "second input out of range", lambda g: setattr(g.layers[0], "inputs", [0, 999] + [0] * 6), "FP_ERR_ARG"),
        ("add", "output overlaps second input", lambda g: setattr(g.tensors[2], "offset", g.tensors[1].offset), "FP_ERR_ARG"),
        ("add", "three inputs", lambda g: setattr(g.layers[0], "n_inputs", 3), "FP_ERR_ARG"),
        ("add_const", "constant operand missing", lambda g: setattr(g.layers[0], "weights", ffi.NULL), "FP_ERR_ARG"),
        ("concat", "n_inputs 0", lambda g: setattr(g.layers[0].params.concat, "n_inputs", 0), "FP_ERR_ARG"),
        ("concat", "n_inputs 9", lambda g: setattr(g.layers[0].params.concat, "n_inputs", 9), "FP_ERR_ARG"),
        ("concat", "params and layer disagree", lambda g: setattr(g.layers[0].params.concat, "n_inputs", 1), "FP_ERR_ARG"),
        ("concat", "negative axis size", lambda g: g.layers[0].params.concat.axis_size.__setitem__(1, -3), "FP_ERR_ARG"),
        ("concat", "axis sizes exceed output", lambda g: g.layers[0].params.concat.axis_size.__setitem__(1, 4), "FP_ERR_ARG"),
        ("requantize", "int16 -> int16", lambda g: (setattr(g.tensors[1], "dtype", lib.FP_DTYPE_S16),
                                                     setattr(g.layers[0], "out_dtype", lib.FP_DTYPE_S16),
                                                     setattr(g.layers[0].params.requantize, "size", 6)),
         "FP_ERR_UNSUPPORTED"),
        ("requantize", "out_dtype disagrees with tensor", lambda g: setattr(g.layers[0], "out_dtype", lib.FP_DTYPE_S16), "FP_ERR_ARG"),
        ("requantize", "size beyond tensor", lambda g: setattr(g.layers[0].params.requantize, "size", 13), "FP_ERR_ARG"),
        ("copy", "bytes beyond tensor", lambda g: setattr(g.layers[0].params.copy, "bytes", 13), "FP_ERR_ARG"),
        ("copy", "negative bytes", lambda g: setattr(g.layers[0].params.copy, "bytes", -1), "FP_ERR_ARG"),
        ("copy", "dtype change", lambda g: (setattr(g.tensors[1], "dtype", lib.FP_DTYPE_S16)), "FP_ERR_ARG"),
        ("conv2d_s4", "scratch too small", lambda g: setattr(g, "scratch_size", g.scratch_size - 1), "FP_ERR_SCRATCH"),
    ]
    # fmt: on


@pytest.mark.parametrize("key, what, mutate, status", corrupt_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_corrupted_layer_is_rejected(key, what, mutate, status):
    g = Graph(PLANS[key])
    mutate(g)
    expect(g, status)


def test_graph_level_arguments():
    g = Graph(PLANS["conv2d_s8"])
    assert lib.fp_graph_run_layer(ffi.NULL, 0, g.arena, g.scratch, 0) == lib.FP_ERR_ARG
    expect(g, "FP_ERR_ARG", arena=ffi.NULL)
    expect(g, "FP_ERR_ARG", arena=ffi.from_buffer("uint8_t[]", g.arena_np[1:]))  # misaligned arena
    expect(g, "FP_ERR_ARG", index=1)
    expect(g, "FP_ERR_ARG", index=0xFFFFFFFF)
    g.graph.tensors = ffi.NULL
    expect(g, "FP_ERR_ARG")


def test_scratch_null_with_need_is_rejected():
    g = Graph(PLANS["conv2d_s4"])
    assert g.scratch_size > 0
    expect(g, "FP_ERR_SCRATCH", scratch=ffi.NULL)
    assert g.run_layer() == lib.FP_OK


def test_graph_run_checks_io_lists_and_stops_at_first_failure():
    g = Graph(PLANS["conv2d_s8"])
    run = lambda: lib.fp_graph_run(g.graph, g.arena, g.scratch, g.scratch_size)  # noqa: E731
    assert run() == lib.FP_OK
    assert lib.fp_graph_run(ffi.NULL, g.arena, g.scratch, 0) == lib.FP_ERR_ARG
    assert lib.fp_graph_run(g.graph, ffi.NULL, g.scratch, 0) == lib.FP_ERR_ARG
    g.graph.n_inputs = 5
    assert run() == lib.FP_ERR_ARG
    g.graph.n_inputs = 1
    g.graph.outputs[0] = 999
    assert run() == lib.FP_ERR_ARG
    g.graph.outputs[0] = 1
    g.layers[0].op = 77
    assert run() == lib.FP_ERR_UNSUPPORTED


def test_graph_scratch_size_is_the_layer_maximum():
    assert lib.fp_graph_scratch_size(ffi.NULL) == 0
    g = Graph(PLANS["conv2d_s4"])
    conv = g.layers[0].params.conv2d
    assert lib.fp_graph_scratch_size(g.graph) == conv.filter.h * conv.filter.w * conv.filter.c
    g.graph.layers = ffi.NULL
    assert lib.fp_graph_scratch_size(g.graph) == 0
