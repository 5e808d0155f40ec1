"""The mlp example, sample by sample, through a link that flips bits, drops
bytes and frames, duplicates frames, stalls, and really resets the board
between commands (mostly between LOAD_INPUT and RUN), on the host board (pty)
and a QEMU board (UART socket).

Every sample must end bit-exact with the simulator's output for *that*
sample, or as a raised BoardError recorded with its index: none silently
wrong (a stale or another sample's result counts as wrong), none lost, none
counted twice. Most must recover transparently, and every kind of fault
must really have happened.

Environment: FIXPOINT_FAULT_SAMPLES, samples over all boards (default 600;
`make test-faults`: 10,000); FIXPOINT_FAULT_BOARDS (default host,mps2-an385);
FIXPOINT_FAULT_SEED; FIXPOINT_FAULT_TIMEOUT, the client's link timeout.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from fault_harness import (
    EXACT,
    assert_reaped,
    client_counters,
    client_through_proxy,
    fault_boards,
    mlp_cases,
    run_samples,
    samples_for,
    summary,
)
from fixpoint.boards.runner import open_board
from fixpoint.plan import Plan
from fixpoint.serial import Command
from link_proxy import FRAME_FAULTS, RESET, FaultConfig, FaultRates

#: per relayed frame; with resets ~0.2 faults per sample (three requests, three responses)
RATES = FaultRates(bit_flip=0.008, drop_byte=0.004, drop_frame=0.004, dup_frame=0.008, stall=0.002)
#: a short link timeout keeps the many recoveries quick; it is still ~100x a
#: response time here, and a late answer only means one more (harmless) retry
LINK_TIMEOUT = float(os.environ.get("FIXPOINT_FAULT_TIMEOUT", "1.0"))
RUN_TIMEOUT = 30.0
MIN_EXACT = 0.95


def fault_config(board: str, n: int) -> FaultConfig:
    seed = zlib.crc32(board.encode()) ^ int(os.environ.get("FIXPOINT_FAULT_SEED", "20240601"))
    return FaultConfig(
        up=RATES,
        down=RATES,
        seed=seed,
        reset_before={Command.RUN: 0.012, Command.READ_OUTPUT: 0.004, Command.LOAD_INPUT: 0.002},
        stall_seconds=1.5 * LINK_TIMEOUT + 0.5,
        force_every=16,
        # a safety net, never reached: ~0.2 s per sample is typical
        max_seconds=300.0 + 2.0 * n,
    )


@pytest.mark.parametrize("board", fault_boards())
def test_every_sample_is_bit_exact_or_reported(
    board: str, mlp_plan_for: Callable[[str], Plan], mlp_firmware_for: Callable[[str], Path], tmp_path: Path
) -> None:
    n = samples_for(board)
    plan = mlp_plan_for(board)
    inputs, expected = mlp_cases(plan, n)
    config = fault_config(board, n)
    with open_board(
        board, mlp_firmware_for(board), expected_hash=plan.model_hash, resettable=True, log_dir=tmp_path
    ) as session:
        pid = session.pid
        with client_through_proxy(session, config, timeout=LINK_TIMEOUT, run_timeout=RUN_TIMEOUT) as (proxy, client):
            run = run_samples(client, inputs, expected, board)
            counters = client_counters(client)
        assert session.pid == pid and session.process and session.process.death() is None
    assert_reaped(pid)

    table = summary(run, proxy.stats, counters, n, config.seed)
    print(table)
    problems = run.problems(n)
    assert not problems, (
        f"{len(problems)} samples wrong, lost or duplicated:\n" + "\n".join(problems[:20]) + "\n" + table
    )
    assert len(run.outcomes) == n
    missing = [kind for kind in (*FRAME_FAULTS, RESET) if proxy.stats.count(kind) == 0]
    assert not missing, f"no {missing} injected\n{table}"
    assert proxy.stats.resets_before["RUN"] > 0, table
    assert run.count(EXACT) >= MIN_EXACT * n, table


@pytest.mark.parametrize("board", fault_boards())
def test_double_buffered_samples_are_bit_exact_or_reported(
    board: str, mlp_plan_for: Callable[[str], Plan], mlp_firmware_for: Callable[[str], Path], tmp_path: Path
) -> None:
    """The same faults on the double-buffered path (LOAD_NEXT behind RUN_NEXT, output
    inline): resets are injected before RUN_NEXT too; a damaged staging buffer or a
    lost answer must fall back to the plain path, never return another sample's output."""
    n = max(60, samples_for(board) // 4)
    plan = mlp_plan_for(board)
    inputs, expected = mlp_cases(plan, n, seed=1)
    config = fault_config(board, n)
    config = FaultConfig(
        up=config.up,
        down=config.down,
        seed=config.seed + 1,
        reset_before={Command.RUN_NEXT: 0.012, Command.READ_OUTPUT: 0.004, Command.LOAD_NEXT: 0.002},
        stall_seconds=config.stall_seconds,
        force_every=config.force_every,
        max_seconds=config.max_seconds,
    )
    with open_board(
        board, mlp_firmware_for(board), expected_hash=plan.model_hash, resettable=True, log_dir=tmp_path
    ) as session:
        assert session.info is not None and session.info.staging
        pid = session.pid
        with client_through_proxy(session, config, timeout=LINK_TIMEOUT, run_timeout=RUN_TIMEOUT) as (proxy, client):
            run = run_samples(client, inputs, expected, board, staged=True)
            counters = client_counters(client)
            staged, fallbacks = client.stats.staged_runs, client.stats.staging_fallbacks
    assert_reaped(pid)
    table = summary(run, proxy.stats, counters, n, config.seed)
    print(table)
    problems = run.problems(n)
    assert not problems, f"{len(problems)} samples wrong, lost or duplicated:\n" + "\n".join(problems[:20])
    assert len(run.outcomes) == n
    assert staged >= n // 2 and fallbacks > 0, (staged, fallbacks, table)
    assert run.count(EXACT) >= MIN_EXACT * n, table
