"""Two boards at once, as a farm runs them: HIL jobs of one plan in two threads
share the simulator's compiled plan (cached per plan), which must not mix
their batches; both boards end bit-exact."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fixpoint.hil import HilJob, run_hil
from fixpoint.sim.executor import quantize_input, run_plan

from hil_examples import eval_set


def test_the_simulator_is_safe_to_share_between_threads(plan_for):
    plan = plan_for("cnn_bn_res", "host").plan
    x, _ = eval_set("cnn_bn_res")
    batches = [quantize_input(plan, x[k * 100 : (k + 1) * 100]) for k in range(4)]
    want = [run_plan(plan, [b]).outputs[0] for b in batches]

    def check(k: int) -> bool:
        return all(np.array_equal(run_plan(plan, [batches[k % 4]]).outputs[0], want[k % 4]) for _ in range(5))

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(check, range(8)))


def test_two_boards_in_parallel_are_both_bit_exact(plan_for, tmp_path):
    plan = plan_for("cnn_bn_res", "host").plan
    x, labels = eval_set("cnn_bn_res")
    jobs = [
        HilJob(plan=plan, board="host", x=x[:40], labels=labels[:40], progress=False, work_dir=tmp_path / str(i))
        for i in range(2)
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run_hil, jobs))
    for result in results:
        assert result.bit_exact == 40 and not result.mismatches and not result.failures, result.summary()
