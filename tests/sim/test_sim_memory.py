"""Arena planning: liveness, reuse, alignment, and the checks on malformed plans."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.memory import ALIGNMENT, check_arena, lifetimes, naive_arena_size, plan_arena
from fixpoint.plan import Plan, PlanError, PlanLayer, PlanTensor

RANDOM_GRAPHS = 400


def structural_plan(sizes: list[int], edges: list[tuple[list[int], int]], inputs, outputs) -> Plan:
    """A plan with only structure (the planner reads no params): tensor i has sizes[i] int8 elements."""
    tensors = [PlanTensor(f"t{i}", [1, 1, 1, n], "int8", 1.0, 0) for i, n in enumerate(sizes)]
    layers = [
        PlanLayer(f"l{k}", "add" if len(ins) == 2 else "copy", "s8", ins, out) for k, (ins, out) in enumerate(edges)
    ]
    return Plan("structural", tensors, layers, list(inputs), list(outputs))


def live_ranges_brute_force(plan: Plan) -> dict[int, tuple[int, int]]:
    """Independent liveness: produced at its layer (inputs: -1), alive through
    its last reader, outputs through the end."""
    ranges = {t: (-1, -1) for t in plan.inputs}
    for k, layer in enumerate(plan.layers):
        ranges[layer.output] = (k, k)
    for k, layer in enumerate(plan.layers):
        for t in layer.inputs:
            ranges[t] = (ranges[t][0], max(ranges[t][1], k))
    for t in plan.outputs:
        ranges[t] = (ranges[t][0], len(plan.layers))
    return ranges


def assert_no_live_overlap(plan: Plan) -> None:
    ranges = live_ranges_brute_force(plan)
    for a, (fa, la) in ranges.items():
        ta = plan.tensors[a]
        assert ta.offset % ALIGNMENT == 0, f"{ta.name} offset {ta.offset} not aligned"
        assert ta.offset + ta.nbytes <= plan.arena_size
        for b, (fb, lb) in ranges.items():
            tb = plan.tensors[b]
            if a < b and fa <= lb and fb <= la:
                disjoint = ta.offset + ta.nbytes <= tb.offset or tb.offset + tb.nbytes <= ta.offset
                assert disjoint, f"{ta.name} [{fa},{la}] and {tb.name} [{fb},{lb}] overlap in the arena"


def random_dag(rng: np.random.Generator) -> Plan:
    n_inputs = int(rng.integers(1, 3))
    n_layers = int(rng.integers(1, 12))
    sizes = [int(s) for s in rng.integers(1, 200, n_inputs + n_layers)]
    edges = []
    for k in range(n_layers):
        available = n_inputs + k
        ins = sorted(set(int(i) for i in rng.integers(0, available, int(rng.integers(1, 3)))))
        edges.append((ins, n_inputs + k))
    produced = list(range(n_inputs, n_inputs + n_layers))
    outputs = sorted(set(int(t) for t in rng.choice(produced, int(rng.integers(1, min(4, n_layers) + 1)))))
    return structural_plan(sizes, edges, range(n_inputs), outputs)


def test_random_graphs_never_overlap_live_tensors():
    rng = np.random.default_rng(0)
    reused = 0
    for _ in range(RANDOM_GRAPHS):
        planned = plan_arena(random_dag(rng))
        assert_no_live_overlap(planned)
        check_arena(planned)
        reused += planned.arena_size < naive_arena_size(planned)
    assert reused > RANDOM_GRAPHS // 2


def test_chain_reuses_two_slots():
    plan = plan_arena(structural_plan([64] * 6, [([i], i + 1) for i in range(5)], [0], [5]))
    assert plan.arena_size == 2 * 64
    assert_no_live_overlap(plan)


def test_offsets_are_aligned_and_sizes_padded():
    plan = plan_arena(structural_plan([3, 5, 7, 1], [([0], 1), ([1], 2), ([2], 3)], [0], [3]))
    assert all(t.offset % 4 == 0 for t in plan.tensors)
    assert plan.arena_size % 4 == 0
    assert_no_live_overlap(plan)


def test_input_is_reused_after_its_last_reader_but_outputs_are_kept():
    # t0 -> t1 -> t2 -> t3, with t1 also a graph output
    plan = plan_arena(structural_plan([100, 100, 100, 100], [([0], 1), ([1], 2), ([2], 3)], [0], [1, 3]))
    lives = lifetimes(plan)
    assert lives[0].last == 0 and lives[1].last == 3
    offsets = [t.offset for t in plan.tensors]
    assert offsets[2] == offsets[0] or offsets[3] == offsets[0]  # the input's bytes are recycled
    assert offsets[1] not in (offsets[2], offsets[3])  # the early output is never overwritten
    assert_no_live_overlap(plan)


def test_output_never_shares_bytes_with_its_inputs():
    plan = plan_arena(structural_plan([40, 40, 40], [([0, 1], 2)], [0, 1], [2]))
    a, b, out = plan.tensors
    for t in (a, b):
        assert out.offset + out.nbytes <= t.offset or t.offset + t.nbytes <= out.offset


def test_plan_arena_returns_a_new_plan():
    original = structural_plan([8, 8], [([0], 1)], [0], [1])
    planned = plan_arena(original)
    assert all(t.offset == -1 for t in original.tensors) and original.arena_size == 0
    assert planned.arena_size == 16 and planned.layers is original.layers


def test_untouched_tensor_gets_a_valid_slot():
    plan = plan_arena(structural_plan([8, 8, 300], [([0], 1)], [0], [1]))
    assert plan.tensors[2].offset == 0 and plan.arena_size >= 300
    check_arena(plan)


@pytest.mark.parametrize(
    "sizes, edges, inputs, outputs, message",
    [
        ([4, 4], [([1], 0)], [0], [0], "reads tensor 't1' before"),
        ([4, 4], [([0], 1), ([0], 1)], [0], [1], "written twice"),
        ([4, 4], [([0], 0)], [0], [0], "graph input"),
        ([4, 4, 4], [([0], 1)], [0], [2], "never written"),
    ],
)
def test_malformed_plans_are_rejected(sizes, edges, inputs, outputs, message):
    with pytest.raises(PlanError, match=message):
        plan_arena(structural_plan(sizes, edges, inputs, outputs))


def test_check_arena_finds_overlap_and_bounds():
    plan = plan_arena(structural_plan([16, 16, 16], [([0], 1), ([1], 2)], [0], [2]))
    plan.tensors[2].offset = plan.tensors[1].offset
    with pytest.raises(PlanError, match="'t1' and 't2' are live at the same time"):
        check_arena(plan)
    plan = plan_arena(structural_plan([16, 16], [([0], 1)], [0], [1]))
    plan.arena_size -= 4
    with pytest.raises(PlanError, match="outside the"):
        check_arena(plan)
    plan = plan_arena(structural_plan([16, 16], [([0], 1)], [0], [1]))
    plan.tensors[0].offset = 2
    with pytest.raises(PlanError, match="misaligned"):
        check_arena(plan)
