"""run_plan (C graph executor through cffi) against the pure-numpy plan interpreter."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.memory import naive_arena_size
from fixpoint.plan import PlanError, RequantProfile
from fixpoint.sim.executor import SimulationError, compile_plan, dequantize, quantize_input, run_plan

from sim_asserts import assert_exact, assert_informative
from sim_numpy_interp import interpret
from sim_plans import PlanBuilder, branches, chain, every_op

DATAPATHS = ("s8", "s4", "s16")
PROFILES = {
    "double32": RequantProfile(),
    "single32": RequantProfile(rounding="single"),
    "shift_only": RequantProfile(rounding="shift_only"),
    "double16": RequantProfile(multiplier_bits=16),
    "single16": RequantProfile(rounding="single", multiplier_bits=16),
    "per_tensor": RequantProfile(per_channel=False),
}
SEEDS = range(4)
BATCH = 3


def check_plan(b: PlanBuilder, plan, batch: int = BATCH) -> None:
    inputs = b.random_inputs(plan, batch)
    want_out, want_inter = interpret(plan, inputs)
    got = run_plan(plan, inputs, capture=True)
    assert set(got.intermediates) == set(want_inter)
    for name, want in want_inter.items():
        assert_exact(got.intermediates[name], want, f"tensor '{name}'")
    for k, want in enumerate(want_out):
        assert_exact(got.outputs[k], want, f"output {k}")
    plain = run_plan(plan, inputs)  # fp_graph_run path: same outputs, no intermediates
    assert plain.intermediates is None
    for k, want in enumerate(want_out):
        assert_exact(plain.outputs[k], want, f"output {k} (fp_graph_run)")
    assert_informative(want_inter)


@pytest.mark.parametrize("datapath", DATAPATHS)
@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("build", [chain, branches, every_op], ids=lambda f: f.__name__)
def test_plan_matches_numpy_interpreter(build, profile, datapath):
    for seed in SEEDS:
        b = PlanBuilder(np.random.default_rng([seed, DATAPATHS.index(datapath)]), datapath, PROFILES[profile])
        check_plan(b, build(b))


def test_mixed_datapaths_through_requantize():
    for seed in SEEDS:
        rng = np.random.default_rng(100 + seed)
        b = PlanBuilder(rng, "s8")
        x = b.input([1, 5, 5, 2])
        c8 = b.conv(x, 3)
        up = b.requantize(c8, "int16")
        b.dp = "s16"
        c16 = b.conv(up, 3)
        down = b.requantize(c16, "int8")
        b.dp = "s4"
        c4 = b.conv(down, 2)
        b.dp = "s8"
        out = b.requantize(b.fc(c4, 4), "int8")
        check_plan(b, b.plan([out]))


def test_reuse_plan_is_smaller_and_exact():
    b = PlanBuilder(np.random.default_rng(7), "s8")
    t = b.input([1, 6, 6, 4])
    for _ in range(6):
        t = b.conv(t, 4)
    plan = b.plan([t])
    assert plan.arena_size < naive_arena_size(plan) / 2
    assert len({tensor.offset for tensor in plan.tensors}) < len(plan.tensors)
    check_plan(b, plan)


def test_multiple_inputs_and_outputs_and_empty_batch():
    b = PlanBuilder(np.random.default_rng(8), "s16")
    x, y = b.input([1, 4, 4, 2]), b.input([1, 4, 4, 2])
    s = b.add(x, y)
    plan = b.plan([s, b.pool(s, "avg_pool")])
    check_plan(b, plan, batch=5)
    result = run_plan(plan, [np.zeros((0, 4, 4, 2), np.int16)] * 2)
    assert [o.shape for o in result.outputs] == [(0, 4, 4, 2), (0, 2, 2, 2)]


def test_compiled_plan_is_cached_per_content():
    b = PlanBuilder(np.random.default_rng(9))
    plan = chain(b)
    assert compile_plan(plan) is compile_plan(plan)
    plan.layers[0].params["act_min"] = -100
    assert compile_plan(plan) is not None and compile_plan(plan).plan.layers[0].params["act_min"] == -100
    inputs = b.random_inputs(plan, 2)
    assert_exact(run_plan(plan, inputs).outputs[0], interpret(plan, inputs)[0][0], "after a params change")


def test_scratch_size_reported():
    b = PlanBuilder(np.random.default_rng(10), "s4")
    x = b.input([1, 4, 4, 6])
    plan = b.plan([b.conv(x, 2, k=3)])
    assert compile_plan(plan).scratch_size == 3 * 3 * 6  # one unpacked int4 filter


@pytest.fixture()
def small():
    b = PlanBuilder(np.random.default_rng(11), "s8")
    plan = chain(b)
    return b, plan


def test_input_errors_name_the_input(small):
    b, plan = small
    good = b.random_inputs(plan, 2)[0]
    cases = [
        ([], "takes 1 input"),
        ([good.astype(np.int16)], "int16"),
        ([good[:, :3]], "[2, 3, 7, 3]"),
        ([good[0]], "shape [B, 7, 7, 3]"),
    ]
    for inputs, needle in cases:
        with pytest.raises(SimulationError, match="input") as info:
            run_plan(plan, inputs)
        assert needle in str(info.value)


def test_batch_mismatch_between_inputs():
    b = PlanBuilder(np.random.default_rng(12))
    x, y = b.input([1, 2, 2, 1]), b.input([1, 2, 2, 1])
    plan = b.plan([b.add(x, y)])
    with pytest.raises(SimulationError, match="batch 3, input 0 has 2"):
        run_plan(plan, [np.zeros((2, 2, 2, 1), np.int8), np.zeros((3, 2, 2, 1), np.int8)])


def test_kernel_rejection_names_the_layer(small):
    b, plan = small
    plan.layers[1].arrays["shift"] = np.full_like(plan.layers[1].arrays["shift"], 40)  # illegal in double mode
    for capture in (False, True):
        with pytest.raises(SimulationError, match=r"layer 1 'conv2d1' \(conv2d, s8\).*FP_ERR_ARG"):
            run_plan(plan, b.random_inputs(plan, 1), capture=capture)


def test_unplanned_arena_is_rejected():
    b = PlanBuilder(np.random.default_rng(13))
    plan = chain_unplanned = b.plan([b.conv(b.input([1, 3, 3, 1]), 1)], memory=False)
    with pytest.raises(PlanError, match="offset -1"):
        run_plan(chain_unplanned, b.random_inputs(plan, 1))


def test_overlapping_live_tensors_are_rejected(small):
    _, plan = small
    plan.tensors[plan.layers[1].output].offset = plan.tensors[plan.layers[1].inputs[0]].offset
    with pytest.raises(PlanError, match="live at the same time"):
        run_plan(plan, [np.zeros((1, 7, 7, 3), np.int8)])


def test_quantize_and_dequantize_follow_source_layouts(small):
    _, plan = small
    t_in = plan.tensors[plan.inputs[0]]  # NCHW source layout
    x = np.random.default_rng(14).normal(0, 3, (2, 3, 7, 7))
    q = quantize_input(plan, x)
    assert q.dtype == np.int8 and q.shape == (2, 7, 7, 3)
    want = np.clip(np.rint(x.transpose(0, 2, 3, 1) / t_in.scale) + t_in.zero_point, -128, 127)
    assert_exact(q, want, "quantized input")
    back = dequantize(plan, plan.inputs[0], q)
    assert back.shape == x.shape and back.dtype == np.float32
    inside = (want > -128) & (want < 127)
    assert np.all(np.abs(back - x)[inside.transpose(0, 3, 1, 2)] <= t_in.scale / 2 + 1e-6)
    out = plan.outputs[0]  # NC source layout
    ints = np.arange(12, dtype=np.int8).reshape(2, 1, 1, 6)
    real = dequantize(plan, out, ints)
    assert real.shape == (2, 6)
    t_out = plan.tensors[out]
    np.testing.assert_allclose(real, (ints.reshape(2, 6) - t_out.zero_point) * t_out.scale, rtol=1e-6)


def test_quantize_errors(small):
    _, plan = small
    with pytest.raises(SimulationError, match="NaN"):
        quantize_input(plan, np.full((1, 3, 7, 7), np.nan))
    with pytest.raises(SimulationError, match="NCHW layout"):
        quantize_input(plan, np.zeros((1, 7, 7, 3)))
    with pytest.raises(SimulationError, match="no input 1"):
        quantize_input(plan, np.zeros((1, 3, 7, 7)), index=1)
    with pytest.raises(SimulationError, match="values must be"):
        dequantize(plan, plan.outputs[0], np.zeros((1, 6), np.int8))
