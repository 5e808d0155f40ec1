"""Every example model on the reference heterogeneous board (mps2-an386-npu): layers spread over at
least two accelerator engines and the CPU, each with a one-line reason; the host simulation over the
whole eval set stays within 1 pp of the same model on the plain Cortex-M4 board; the simulator's
command-stream path is bit-exact with its per-layer path over the whole eval set; the QEMU board (whose
firmware runs every layer from the register file its command-stream player replays) is bit-exact with
the (per-layer) simulation (a quick subset here; the whole eval set with FIXPOINT_ZOO_SAMPLES=all,
and test_hil_examples runs it too under FIXPOINT_TEST_BOARDS=all)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from fixpoint.evaluate import evaluate
from fixpoint.hil import HilJob, run_hil
from fixpoint.report.markdown import engine_lines
from fixpoint.sim.executor import quantize_input, run_plan
from fixpoint.sim.stream import run_stream

from hil_examples import eval_set, example_models

BOARD, PLAIN = "mps2-an386-npu", "mps2-an386"
QUICK_SAMPLES = 24


def _board_samples(n: int) -> int:
    return n if os.environ.get("FIXPOINT_ZOO_SAMPLES") == "all" else min(n, QUICK_SAMPLES)


@pytest.mark.parametrize("model", example_models())
def test_example_spreads_over_engines_within_budget(model, plan_for, tmp_path):
    outputs = plan_for(model, BOARD)
    plan = outputs.plan
    engines = {layer.engine for layer in plan.layers}
    assert "cpu" in engines and len(engines - {"cpu"}) >= 2, engines
    report = plan.meta["lowering"]["layers"]
    for layer in plan.layers:
        reason = report[layer.name]["engine_reason"]
        assert reason.startswith(f"layer {layer.name} on {layer.engine}: ") and "\n" not in reason
    assert set(plan.engine_profiles) == engines - {"cpu"}
    # calibration honours the shift-only engine: no layer falls back for want of power-of-two scales
    assert not [r for r in report.values() if "cannot represent the scales" in r["engine_reason"]], report
    for name, cost in plan.meta.get("engine_scales", {}).get("tensors", {}).items():
        assert cost["pow2_scale"] == 2.0 ** round(np.log2(cost["pow2_scale"])) >= cost["scale"], name
    listed = "\n".join(engine_lines(plan))  # the report's engine assignment section
    assert all(report[layer.name]["engine_reason"] in listed for layer in plan.layers)
    assert all(f"| {name} |" in listed for name in plan.meta.get("engine_scales", {}).get("tensors", {}))

    x, labels = eval_set(model)
    hetero = evaluate(outputs.graph.source_path, outputs.graph, plan, x, labels, per_layer=False, progress=False)
    plain_out = plan_for(model, PLAIN)
    plain = evaluate(
        plain_out.graph.source_path, plain_out.graph, plain_out.plan, x, labels, per_layer=False, progress=False
    )
    assert hetero.n_samples == len(x) >= 1000
    assert hetero.drop <= plain.drop + 1.0, (hetero.summary(), plain.summary())

    # the command-stream path (layers decoded from the replayed register file, as the firmware runs
    # them) is bit-exact with the per-layer path over the whole eval set, in the simulator
    q = [quantize_input(plan, x)]
    streamed, per_layer = run_stream(plan, BOARD, q).outputs, run_plan(plan, q).outputs
    assert all(np.array_equal(a, b) for a, b in zip(streamed, per_layer))

    n = _board_samples(len(x))
    result = run_hil(
        HilJob(plan=plan, board=BOARD, x=x[:n], labels=labels[:n], work_dir=tmp_path, max_drop_pp=100.0, progress=False)
    )
    assert not result.mismatches and not result.failures, result.summary()
    assert result.bit_exact == n
