"""Toolchains present, images well formed; the hardware board builds here even
though it cannot be flashed."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fixture_model import RUNNABLE_BOARDS
from fixpoint.boards import list_boards, load_board

ARM_BOARDS = ["mps2-an385", "mps2-an386", "mps2-an500", "mps2-an505", "mps3-an547", "nucleo-f746zg"]


@pytest.mark.parametrize("name", list_boards())
def test_toolchain_and_launcher_are_installed(name: str) -> None:
    """Fails (never skips) when a compiler or emulator is missing."""
    board = load_board(name)
    for tool in ("gcc", "size"):
        assert shutil.which(board.compiler.tool(tool)), f"{board.compiler.tool(tool)} not on PATH"
    if board.kind == "qemu":
        assert shutil.which(board.launch.qemu), f"{board.launch.qemu} not on PATH"


def test_every_runnable_board_is_tested() -> None:
    assert set(RUNNABLE_BOARDS) == {n for n in list_boards() if load_board(n).kind != "hardware"}


def symbol_address(board_name: str, image: Path, symbol: str) -> int:
    nm = load_board(board_name).compiler.tool("nm")
    listing = subprocess.run([nm, str(image)], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == symbol:
            return int(parts[0], 16)
    raise AssertionError(f"{symbol} not in {image}")


@pytest.mark.parametrize("name", ARM_BOARDS)
def test_cortex_m_image_boots_from_its_vector_table(name: str, firmware_for: Callable[[str], Path]) -> None:
    """Vector table at the flash origin; initial SP inside RAM; reset vector
    is fw_reset_handler with the Thumb bit set."""
    board = load_board(name)
    image = firmware_for(name)
    objcopy = board.compiler.tool("objcopy")
    binary = image.with_suffix(".bin")
    subprocess.run([objcopy, "-O", "binary", "-j", ".text", str(image), str(binary)], check=True)
    sp, reset = struct.unpack_from("<II", binary.read_bytes())
    assert symbol_address(name, image, "fw_vector_table") == board.memory.flash.origin
    ram = board.memory.ram
    assert ram.origin < sp <= ram.origin + ram.size
    assert reset == symbol_address(name, image, "fw_reset_handler") | 1


def test_hardware_board_builds_and_fits(firmware_for: Callable[[str], Path]) -> None:
    board = load_board("nucleo-f746zg")
    image = firmware_for("nucleo-f746zg")
    report = json.loads(image.with_name(image.name + ".size.json").read_text())
    assert report["board"] == "nucleo-f746zg"
    assert 0 < report["flash"] <= board.memory.flash.size and 0 < report["ram"] <= board.memory.ram.size
    assert symbol_address("nucleo-f746zg", image, "fw_board_init")  # clocks + USART3 pins linked in
    assert board.launch.flash_command[0] == "openocd"
