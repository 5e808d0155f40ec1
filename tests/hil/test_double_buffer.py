"""Double buffering (LOAD_NEXT / RUN_NEXT, docs/serial-protocol.md): the same
results and the same instruction counts as the plain path, a staging buffer
that does not hold the sample falls back to the plain path (never another
sample's output), and firmware without a staging buffer keeps the plain path."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.boards.runner import open_board
from fixpoint.hil import HilJob, run_hil
from fixpoint.hil.firmware import build_model_firmware
from fixpoint.serial import Command
from fixpoint.serial.protocol import Status, load_input_payload
from fixpoint.serial.staged import StagedInference
from fixpoint.sim.executor import quantize_input, run_plan

from hil_examples import eval_set, selected_boards

N = 24


@pytest.mark.parametrize("board", selected_boards())
def test_double_buffered_hil_matches_the_plain_path(board, plan_for, tmp_path):
    plan = plan_for("mlp", board).plan
    x, labels = eval_set("mlp")
    results = {}
    for double in (False, True):
        results[double] = run_hil(
            HilJob(
                plan=plan,
                board=board,
                x=x[:N],
                labels=labels[:N],
                progress=False,
                work_dir=tmp_path / str(double),
                double_buffer=double,
            )
        )
    plain, staged = results[False], results[True]
    for result in (plain, staged):
        assert result.bit_exact == N and not result.failures, result.summary()
    assert staged.link["staged_runs"] == N and staged.link["staging_fallbacks"] == 0
    assert staged.link["requests"] < plain.link["requests"]  # one round trip per sample, not three
    if staged.counter_unit == "instructions":  # exact counters: not one instruction more
        assert (staged.count_min, staged.count_max, staged.count_mean) == (
            plain.count_min,
            plain.count_max,
            plain.count_mean,
        )


def _ints(plan, n):
    x, _ = eval_set("mlp")
    q = quantize_input(plan, x[:n])
    return [np.ascontiguousarray(s).tobytes() for s in q], run_plan(plan, [q]).outputs[0]


def test_a_staging_buffer_that_does_not_hold_the_sample_falls_back(plan_for, tmp_path):
    plan = plan_for("mlp", "host").plan
    image, _ = build_model_firmware(plan, "host", tmp_path)
    data, expected = _ints(plan, 3)
    with open_board("host", image, expected_hash=plan.model_hash, log_dir=tmp_path) as session:
        client = session.client
        assert session.info.staging
        staged = StagedInference(client)
        out, _ = staged.infer(data[0], data[1])  # stages sample 1 behind the run
        assert out == expected[0].tobytes()
        # the staging buffer is overwritten behind the host's back (as a lost or damaged LOAD_NEXT would)
        client._ok(Command.LOAD_NEXT, load_input_payload(0, bytes(len(data[1]))))
        out, _ = staged.infer(data[1], data[2])
        assert out == expected[1].tobytes()  # not the zeros' output: the plain path ran it
        assert client.stats.staging_fallbacks == 1 and client.stats.reloads == 0
        out, _ = staged.infer(data[2])
        assert out == expected[2].tobytes()
        assert client.stats.staged_runs == 2


def test_firmware_without_a_staging_buffer_keeps_the_plain_path(plan_for, tmp_path):
    plan = plan_for("mlp", "host").plan
    image, _ = build_model_firmware(plan, "host", tmp_path, staging=False)
    data, expected = _ints(plan, 2)
    with open_board("host", image, expected_hash=plan.model_hash, log_dir=tmp_path) as session:
        client = session.client
        assert not session.info.staging
        frame = client.transact(Command.RUN_NEXT, bytes(8))
        assert frame.status == Status.UNKNOWN_COMMAND
        staged = StagedInference(client)
        assert not staged.enabled
        assert staged.infer(data[0], data[1])[0] == expected[0].tobytes()
        assert staged.infer(data[1])[0] == expected[1].tobytes()
        assert client.stats.staged_runs == 0
