"""(b) The generated C, built for the host from the same runtime sources the
firmware compiles, gives the reference simulation's outputs bit for bit."""

from __future__ import annotations

import pytest

from fixpoint.codegen import generate
from fixpoint.codegen.host import HostRunError, compile_generated
from fixpoint.plan import RequantProfile
from fixpoint.sim.executor import run_plan

from codegen_helpers import sample_bytes, split_outputs
from codegen_plans import SHIFT_ONLY, built_plan, example_plan, random_inputs
from sim_asserts import assert_exact

BATCH = 4
BUILT = [
    ("every_op", "s8", None),
    ("every_op", "s4", None),
    ("every_op", "s16", None),
    ("branches", "s8", None),
    ("branches", "s4", None),
    ("branches", "s16", None),
    ("chain", "s8", RequantProfile(rounding="single", multiplier_bits=16)),
    ("chain", "s16", SHIFT_ONLY),
]
EXAMPLES = [("cnn_bn_res", 8, 8, False), ("cnn_bn_res", 16, 8, False), ("cnn_bn_res", 8, 4, False), ("mlp", 8, 8, True)]


def check_bit_exact(plan, generated, seed: int = 0) -> None:
    module = compile_generated(generated)
    inputs = random_inputs(plan, BATCH, seed)
    want = run_plan(plan, inputs).outputs
    for b in range(BATCH):
        got = split_outputs(plan, module.run(sample_bytes(inputs, b)))
        for k, (g, w) in enumerate(zip(got, want)):
            assert_exact(g, w[b], f"{plan.model_name} sample {b} output {k}")
    assert module.model_hash == generated.model_hash
    assert module.arena_size == plan.arena_size


@pytest.mark.parametrize(
    "recipe,datapath,profile", BUILT, ids=[f"{r}-{d}-{'custom' if p else 'default'}" for r, d, p in BUILT]
)
def test_built_plans_match_simulation(recipe, datapath, profile, tmp_path):
    plan, _ = built_plan(recipe, datapath, seed=3, profile=profile)
    assert {layer.datapath for layer in plan.layers} >= {datapath}
    check_bit_exact(plan, generate(plan, None, tmp_path), seed=11)


@pytest.mark.parametrize(
    "model,bits,weight_bits,shift_only",
    EXAMPLES,
    ids=[f"{m}-a{b}-w{w}{'-pow2' if s else ''}" for m, b, w, s in EXAMPLES],
)
def test_example_models_match_simulation(model, bits, weight_bits, shift_only, tmp_path):
    plan = example_plan(model, bits, weight_bits, shift_only)
    check_bit_exact(plan, generate(plan, None, tmp_path), seed=5)


def test_concat_plan_contains_concat_and_multiple_io(tmp_path):
    plan, _ = built_plan("every_op", "s8")
    assert "concat" in {layer.op for layer in plan.layers}
    assert len(plan.inputs) == 2 and len(plan.outputs) == 2  # the staged I/O path
    generated = generate(plan, None, tmp_path)
    assert generated.input_bytes == sum(plan.tensors[t].nbytes for t in plan.inputs)
    assert generated.output_bytes == sum(plan.tensors[t].nbytes for t in plan.outputs)


def test_wrong_input_length_is_a_clear_error(tmp_path):
    plan, _ = built_plan("chain", "s8")
    module = compile_generated(generate(plan, None, tmp_path))
    with pytest.raises(HostRunError, match=r"takes 147 input bytes, got 3"):
        module.run(b"abc")
