"""Boards: what a target is (board.toml), how to build firmware for it and
how to bring it up to a connected protocol client.

* :func:`load_board` / :func:`list_boards` -- descriptions (``board.py``);
* :func:`fixpoint.boards.build.build_firmware` -- compile a model into firmware;
* :func:`fixpoint.boards.runner.open_board` -- launch / flash, wait for the
  ready line, hand back a :class:`fixpoint.serial.FixpointClient`.
"""

from __future__ import annotations

from .board import (
    Accelerator,
    Board,
    Compiler,
    Cpu,
    Engine,
    Labgrid,
    Launch,
    Memory,
    MemoryRegion,
    Register,
    RegisterMap,
    SerialSettings,
    Startup,
    Timing,
    Uart,
)
from .loader import BoardFileError, list_boards, load_board
from .paths import boards_dir, firmware_dir, runtime_dir

BoardConfigError = BoardFileError  # the name fixpoint.cli looks up

__all__ = [
    "Accelerator",
    "Board",
    "BoardConfigError",
    "BoardFileError",
    "Compiler",
    "Cpu",
    "Engine",
    "Labgrid",
    "Launch",
    "Memory",
    "MemoryRegion",
    "Register",
    "RegisterMap",
    "SerialSettings",
    "Startup",
    "Timing",
    "Uart",
    "boards_dir",
    "firmware_dir",
    "list_boards",
    "load_board",
    "runtime_dir",
]
