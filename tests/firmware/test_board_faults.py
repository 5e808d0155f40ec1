"""Faults a real setup produces, on one board per link type (pty, CMSDK UART
over a socket, NS16550 over a socket): the board dies mid-run, the link
stalls, the wrong model is loaded, the test is interrupted. Each must end in
the right exception, quickly, with every started process reaped."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from fixture_model import MODEL_HASH, assert_reaped
from fixpoint.boards.runner import open_board
from fixpoint.serial import BoardCrashed, BoardTimeout, WrongModel

FAULT_BOARDS = ["host", "mps2-an385", "riscv32-virt"]

pytestmark = pytest.mark.parametrize("board", FAULT_BOARDS)


def child_pids() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_kill_mid_run_raises_board_crashed(board: str, firmware_for: Callable[[str], Path]) -> None:
    with open_board(board, firmware_for(board), run_timeout=30.0) as session:
        pid = session.pid
        session.client.load_input(b"SPIN")  # the model now runs "forever"
        killer = threading.Timer(0.3, os.kill, (pid, signal.SIGKILL))
        killer.start()
        start = time.monotonic()
        with pytest.raises(BoardCrashed, match="killed by signal 9"):
            session.client.run()
        assert time.monotonic() - start < 5.0  # detected, not waited out
        killer.join()
    assert_reaped(pid)


def test_stalled_link_times_out_within_the_configured_time(board: str, firmware_for: Callable[[str], Path]) -> None:
    timeout, retries = 0.4, 1
    with open_board(board, firmware_for(board), timeout=timeout, retries=retries) as session:
        pid = session.pid
        os.kill(pid, signal.SIGSTOP)  # alive, but nobody reads or answers
        start = time.monotonic()
        with pytest.raises(BoardTimeout, match=r"PING: no response \(after 2 attempts"):
            session.client.ping(b"anyone?")
        elapsed = time.monotonic() - start
    assert (retries + 1) * timeout <= elapsed < (retries + 1) * timeout + 1.0
    assert_reaped(pid)  # a stopped process is reaped too


def test_wrong_model_hash_raises_wrong_model(board: str, firmware_for: Callable[[str], Path]) -> None:
    before = child_pids()
    with pytest.raises(WrongModel, match="fixture-fnv"):
        with open_board(board, firmware_for(board), expected_hash="0" * 64):
            pass
    assert child_pids() == before  # nothing left running
    with open_board(board, firmware_for(board), identify=False) as session:
        pid = session.pid
        with pytest.raises(WrongModel):
            session.client.identify(expected_hash="f" * 64)
        assert session.client.identify(expected_hash=MODEL_HASH).model_hash == MODEL_HASH
    assert_reaped(pid)


def test_keyboard_interrupt_still_reaps(board: str, firmware_for: Callable[[str], Path]) -> None:
    pid = None
    with pytest.raises(KeyboardInterrupt):
        with open_board(board, firmware_for(board)) as session:
            pid = session.pid
            raise KeyboardInterrupt
    assert_reaped(pid)
