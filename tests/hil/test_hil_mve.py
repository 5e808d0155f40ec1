"""The generated firmware for the Cortex-M55 board (mps3-an547, in every default run) names the
Helium kernels (`_mve`) in its resolver table and stays bit-exact with the host simulation: the
example models that use conv, depthwise, fully connected, add and both pools."""

from __future__ import annotations

import re

import pytest

from fixpoint.hil import HilJob, run_hil

from hil_examples import eval_set

BOARD = "mps3-an547"
SAMPLES = 200
# model -> the (op, datapath) adapters its plan must run as _mve on the board
MVE_OPS = {
    "cnn_bn_res": ("conv2d_s8", "fully_connected_s8", "add_s8", "max_pool_s8", "avg_pool_s8"),
    "dwsep": ("conv2d_s8", "depthwise_conv2d_s8", "fully_connected_s8", "avg_pool_s8"),
}


@pytest.mark.parametrize("model", sorted(MVE_OPS))
def test_m55_firmware_runs_the_mve_kernels_bit_exact(model, plan_for, tmp_path):
    outputs = plan_for(model, BOARD)
    x, labels = eval_set(model)
    result = run_hil(
        HilJob(
            plan=outputs.plan,
            board=BOARD,
            x=x[:SAMPLES],
            labels=labels[:SAMPLES],
            model_path=outputs.graph.source_path,
            work_dir=tmp_path,
            progress=False,
        )
    )
    assert not result.mismatches, result.summary()
    assert result.bit_exact == result.n_samples == SAMPLES
    sources = list(tmp_path.rglob("*_model.c"))
    assert len(sources) == 1, sources
    table = set(re.findall(r"\bfp_run_(\w+)\s*,", sources[0].read_text()))
    for name in MVE_OPS[model]:
        assert f"{name}_mve" in table, (name, sorted(table))
    assert not {n for n in table if n.endswith("_dsp")}, sorted(table)
