"""Regressions of silently wrong results (protocol version 1 returned them):

* RUN sent twice (a retried RUN whose response was lost) ran the second time
  on an input the arena had already overwritten, and READ_OUTPUT returned
  that run's output;
* a board reset between LOAD_INPUT and RUN (or between RUN and READ_OUTPUT)
  went unnoticed: the model ran on the zeroed input, or the zeroed output
  was read.

Every result must equal the simulator's output for that sample, or the
client must raise a BoardError -- never return something else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from fault_harness import assert_reaped, client_counters, fault_boards, mlp_cases
from fixpoint.boards.runner import BoardSession, open_board
from fixpoint.plan import Plan
from fixpoint.serial import BoardError

SAMPLES = 20


@pytest.fixture(params=fault_boards())
def board(request: pytest.FixtureRequest) -> str:
    return request.param


@contextmanager
def _session(
    board: str, plan_for: Callable[[str], Plan], firmware_for: Callable[[str], Path]
) -> Iterator[tuple[BoardSession, Plan]]:
    """A resettable board running the mlp firmware; reaped afterwards."""
    plan = plan_for(board)
    with open_board(board, firmware_for(board), expected_hash=plan.model_hash, resettable=True) as session:
        pid = session.pid
        yield session, plan
    assert_reaped(pid)


def _bytes(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array).tobytes()


def test_second_run_equals_first_run(
    mlp_plan_for: Callable[[str], Plan], mlp_firmware_for: Callable[[str], Path]
) -> None:
    """load, run, run, read == load, run, read == the simulation, on the host board."""
    with _session("host", mlp_plan_for, mlp_firmware_for) as (session, plan):
        client = session.client
        inputs, expected = mlp_cases(plan, SAMPLES)
        refused = []
        for i, sample in enumerate(inputs):
            once, _ = client.infer(_bytes(sample))
            assert once == _bytes(expected[i]), f"sample {i}: load, run, read differs from the simulation"
            client.load_input(_bytes(sample))
            client.run()
            try:
                client.run()  # by now the arena has overwritten the input
            except BoardError as exc:
                refused.append((i, str(exc)))  # refused as stale: allowed; run 1 still stands
            twice = client.read_output()
            assert twice == once, f"sample {i}: load, run, run, read differs from load, run, read"
        counters = client_counters(client)
        # The point of the test: the second run really met a stale input (mlp's
        # arena overlaps its input); if it no longer does, this test tests nothing.
        assert counters.get("reloads", 0) + len(refused) >= SAMPLES, (counters, refused)


def test_reset_between_load_and_run_is_never_silent(
    board: str, mlp_plan_for: Callable[[str], Plan], mlp_firmware_for: Callable[[str], Path]
) -> None:
    with _session(board, mlp_plan_for, mlp_firmware_for) as (session, plan):
        client = session.client
        inputs, expected = mlp_cases(plan, SAMPLES, seed=1)
        errors = []
        for i, sample in enumerate(inputs):
            client.load_input(_bytes(sample))
            session.reset_board()  # real reset; returns at the ready line
            try:
                client.run()
                output = client.read_output()
            except BoardError as exc:
                errors.append((i, type(exc).__name__))
                continue
            assert output == _bytes(expected[i]), f"{board} sample {i}: wrong result after a reset"
        # every reset was seen: resumed transparently or reported
        assert client_counters(client).get("resets_detected", 0) + len(errors) >= SAMPLES, errors


def test_reset_between_run_and_read_is_never_silent(
    board: str, mlp_plan_for: Callable[[str], Plan], mlp_firmware_for: Callable[[str], Path]
) -> None:
    with _session(board, mlp_plan_for, mlp_firmware_for) as (session, plan):
        client = session.client
        inputs, expected = mlp_cases(plan, SAMPLES, seed=2)
        reported = 0
        for i, sample in enumerate(inputs):
            client.load_input(_bytes(sample))
            client.run()
            session.reset_board()
            try:
                output = client.read_output()  # the output of a run the board forgot
            except BoardError:
                reported += 1
            else:
                assert output == _bytes(expected[i]), f"{board} sample {i}: wrong output after a reset"
            after, _ = client.infer(_bytes(sample))  # and the link is usable again
            assert after == _bytes(expected[i]), f"{board} sample {i}: wrong result after recovery"
        # every reset was seen: reported by READ_OUTPUT, or at least noticed
        assert reported + client_counters(client).get("resets_detected", 0) >= SAMPLES
