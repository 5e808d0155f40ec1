"""The mismatch report names the sample and the first diverging layer.

A real board cannot be made to compute wrongly on demand, so the host side
simulates a plan whose one layer differs (a test double of a faulty
accelerator): the board runs the true plan, and the report must point at
exactly that layer, found by the board's layer-by-layer read-back.
"""

from __future__ import annotations

import copy

import numpy as np

from fixpoint.hil import HilJob, run_hil, write_junit

from hil_examples import eval_set

BOARD = "host"


def _with_one_layer_changed(plan, index: int):
    altered = copy.deepcopy(plan)
    layer = altered.layers[index]
    layer.arrays["bias"] = layer.arrays["bias"] + np.int32(1000)
    altered.model_hash = altered.compute_hash()
    return altered


def test_mismatch_names_sample_and_first_diverging_layer(plan_for, tmp_path):
    outputs = plan_for("cnn_bn_res", BOARD)
    plan = outputs.plan
    target = next(i for i, layer in enumerate(plan.layers) if i > 0 and "bias" in layer.arrays)
    x, labels = eval_set("cnn_bn_res")
    result = run_hil(
        HilJob(
            plan=plan,
            sim_plan=_with_one_layer_changed(plan, target),
            board=BOARD,
            x=x[:20],
            labels=labels[:20],
            work_dir=tmp_path,
            progress=False,
        )
    )
    assert result.mismatches, "the altered simulation must disagree with the board"
    first = result.mismatches[0]
    assert first.sample == 0
    assert first.first_layer == plan.layers[target].name, result.summary()
    assert f"first diverging layer '{plan.layers[target].name}'" in result.summary()
    junit = write_junit(tmp_path / "junit.xml", result).read_text()
    assert "sample_00000_bit_exact" in junit and "<failure" in junit
