"""Board descriptions as plain frozen dataclasses (the labgrid "resource":
what a board is and how to reach it, no behaviour beyond simple queries).

Loaded from ``boards/<name>/board.toml`` by :mod:`fixpoint.boards.loader`;
field meanings are documented in docs/boards.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from fixpoint.plan import RequantProfile
from fixpoint.target import EngineSpec, Target


@dataclass(frozen=True)
class Cpu:
    arch: str  # "host", "armv7-m", ..., "rv32imac"
    core: str  # "cortex-m3", "native", ...


@dataclass(frozen=True)
class Compiler:
    prefix: str  # toolchain prefix, "" for the host gcc
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    libc: str  # "hosted" | "newlib-nano" | "freestanding"
    linker_script: Path | None  # absolute; None on the host

    def tool(self, name: str) -> str:
        """Executable name of a toolchain tool, e.g. ``tool("gcc")``."""
        return f"{self.prefix}{name}"


@dataclass(frozen=True)
class Startup:
    source: str  # runtime/firmware/startup/<source>.{c,S}
    board_sources: tuple[Path, ...] = ()  # absolute paths in the board folder


@dataclass(frozen=True)
class Uart:
    driver: str  # runtime/firmware/uart/<driver>.c
    base: int = 0
    rx_irq: int = 0
    clock_hz: int = 0
    baud: int = 115200


@dataclass(frozen=True)
class Timing:
    counter: str  # runtime/firmware/counter/<counter>.c
    clock_hz: int = 0  # counter input clock (SysTick)


@dataclass(frozen=True)
class Launch:
    method: str  # "exec" | "qemu" | "openocd"
    qemu: str = ""
    machine: str = ""
    icount_shift: int | None = None
    semihosting: bool = False
    extra_args: tuple[str, ...] = ()
    flash_command: tuple[str, ...] = ()


@dataclass(frozen=True)
class SerialSettings:
    url: str  # template: {port} (TCP port), {device}
    device: str = ""
    baud: int = 115200
    max_payload: int = 1024
    ready_timeout: float = 10.0
    timeout: float = 2.0
    run_timeout: float = 60.0
    retries: int = 3
    usb_serial_number: str = ""  # pick the port whose USB device has this serial number
    usb_vid_pid: str = ""  # or this "VVVV:PPPP" (hex), when exactly one such port exists


@dataclass(frozen=True)
class Labgrid:
    """A board reached through a labgrid coordinator: Fixpoint acquires the
    place, talks over its exported serial port and releases it afterwards."""

    place: str
    coordinator: str = ""  # HOST:PORT; "" = $LG_COORDINATOR, else 127.0.0.1:20408
    serial_resource: str = ""  # name of the NetworkSerialPort when the place has several
    acquire_timeout: float = 60.0  # wait this long for a place another user holds


@dataclass(frozen=True)
class MemoryRegion:
    origin: int
    size: int


@dataclass(frozen=True)
class Memory:
    flash: MemoryRegion
    ram: MemoryRegion


#: an engine of ``[[accelerator.engines]]`` is a fixpoint.target.EngineSpec (its datapath included)
Engine = EngineSpec


@dataclass(frozen=True)
class Register:
    name: str
    width: int  # significant bits
    field: str  # the layer field it carries (docs/boards.md)
    signed: bool
    offset: int  # byte offset inside the block
    reset: int = 0  # the stored word after reset (the command stream's starting point)


@dataclass(frozen=True)
class RegisterMap:
    """Per-layer register block: register i at byte offset i * word_bytes."""

    word_bytes: int
    registers: tuple[Register, ...]

    @property
    def block_bytes(self) -> int:
        return self.word_bytes * len(self.registers)

    def fields(self) -> tuple[str, ...]:
        return tuple(r.field for r in self.registers)

    def by_field(self, field_name: str) -> Register | None:
        return next((r for r in self.registers if r.field == field_name), None)


@dataclass(frozen=True)
class Accelerator:
    rounding: str
    multiplier_bits: int
    shift_min: int
    shift_max: int
    per_channel: bool
    engines: tuple[Engine, ...]
    registers: RegisterMap | None = None


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    kind: str  # "host" | "qemu" | "hardware"
    directory: Path  # the board folder
    source: Path  # its board.toml
    cpu: Cpu
    compiler: Compiler
    startup: Startup
    uart: Uart
    timing: Timing
    launch: Launch
    serial: SerialSettings
    memory: Memory
    accelerator: Accelerator
    labgrid: Labgrid | None = None

    @cached_property
    def target(self) -> Target:
        """The Target of this board, built once per Board from the fields the loader validated
        (``dataclasses.replace`` makes a new Board, hence a new Target)."""
        return make_target(self)

    def requant_profile(self) -> RequantProfile:
        """What this target's requantizer can represent, for the calibrator."""
        return self.target.profile

    def get_target(self) -> Target:
        return self.target

    def engine(self, name: str) -> Engine | None:
        return next((e for e in self.accelerator.engines if e.name == name), None)


def make_target(board: Board) -> Target:
    """The Target of a board's fields (no checks: the loader validates before calling this)."""
    acc = board.accelerator
    profile = RequantProfile(
        rounding=acc.rounding,
        multiplier_bits=acc.multiplier_bits,
        shift_min=acc.shift_min,
        shift_max=acc.shift_max,
        per_channel=acc.per_channel,
    )
    return Target(
        name=board.name,
        cpu=board.cpu,
        memory=board.memory,
        link=board.serial,
        profile=profile,
        engines=acc.engines,
        registers=acc.registers,
    )
