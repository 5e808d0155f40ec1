"""BoardSession.reset_board() is a real reset of the running firmware (the
host image restarts itself on SIGUSR1; QEMU reboots the guest on the
monitor's system_reset), and the default QEMU launch is unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fault_harness import assert_reaped, fault_boards
from fixpoint.boards import load_board
from fixpoint.boards.runner import open_board, qemu_argv
from fixpoint.plan import Plan
from fixpoint.serial import BoardError


def test_resettable_qemu_launch_is_opt_in() -> None:
    board = load_board("mps2-an385")
    default = qemu_argv(board, Path("fw.elf"), 7)
    assert "-no-reboot" in default and "-action" not in default and "-mon" not in default
    resettable = qemu_argv(board, Path("fw.elf"), 7, monitor_fd=8)
    assert "-no-reboot" not in resettable
    assert resettable[resettable.index("-action") + 1] == "reboot=reset"
    assert "socket,id=qmp0,fd=8,server=on,wait=off" in resettable


@pytest.mark.parametrize("board", fault_boards())
def test_reset_restarts_the_firmware_in_place(
    board: str, mlp_plan_for: Callable[[str], Plan], mlp_firmware_for: Callable[[str], Path]
) -> None:
    plan = mlp_plan_for(board)
    with open_board(board, mlp_firmware_for(board), expected_hash=plan.model_hash, resettable=True) as session:
        pid, client = session.pid, session.client
        assert session.info is not None
        for _ in range(3):
            client.load_input(bytes(session.info.input_size))
            client.run()
            assert client.read_timing().runs >= 1
            session.reset_board()  # returns once the firmware printed its ready line again
            client.identify(plan.model_hash)  # a new session on the rebooted firmware
            # the statistics since boot are gone: the firmware really started over ...
            assert client.read_timing().runs == 0
            # ... in the same process, on the same link
            assert session.pid == pid and session.process and session.process.death() is None
    assert_reaped(pid)


def test_default_qemu_launch_cannot_be_reset(
    mlp_plan_for: Callable[[str], Plan], mlp_firmware_for: Callable[[str], Path]
) -> None:
    board = next(b for b in fault_boards() if load_board(b).kind == "qemu")
    with open_board(board, mlp_firmware_for(board), identify=False) as session:
        pid = session.pid
        with pytest.raises(BoardError, match="resettable=True"):
            session.reset_board()
    assert_reaped(pid)
