"""Read and check ``board.toml`` files.

Two layers of checks: ``boards/schema.json`` (JSON Schema, after tomllib
parsing) for shape and types, then the cross-field rules a schema cannot say
well (register map vs. requant profile, referenced files exist). Every failure
is one line naming the file and the field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


from fixpoint.declarative import check_against_schema, read_toml
from fixpoint.ir import ModelError

from fixpoint.ops.runtime_ops import RUNTIME_OPS
from fixpoint.target import EngineLimits, EngineSpec, check_engine

from .board import (
    Accelerator,
    Board,
    Compiler,
    Cpu,
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
from .paths import boards_dir, firmware_dir, schema_path
from .registers import check_register_map

BOARD_FILE = "board.toml"


class BoardFileError(ModelError):
    """A board file is missing, malformed or inconsistent."""


def list_boards() -> list[str]:
    """Names of all boards shipped in :func:`boards_dir`, sorted."""
    root = boards_dir()
    return sorted(p.parent.name for p in root.glob(f"*/{BOARD_FILE}"))


def load_board(name_or_path: str | os.PathLike[str] | Board) -> Board:
    """Load a board by name (``"mps2-an385"``), folder or ``board.toml`` path."""
    if isinstance(name_or_path, Board):
        return name_or_path
    path = _resolve(name_or_path)
    return _load(path.resolve())


def _resolve(name_or_path: str | os.PathLike[str]) -> Path:
    text = os.fspath(name_or_path)
    candidate = Path(text)
    if candidate.is_dir():
        candidate = candidate / BOARD_FILE
    if candidate.is_file():
        return candidate
    if os.sep in text or text.endswith(".toml"):
        raise BoardFileError(f"{candidate}: board file not found")
    named = boards_dir() / text / BOARD_FILE
    if not named.is_file():
        raise BoardFileError(f"unknown board '{text}' (known: {', '.join(list_boards())})")
    return named


def _load(path: Path) -> Board:
    data = read_toml(path, "board file", BoardFileError)
    check_against_schema(path, data, schema_path(), BoardFileError)
    board = _build(path, data)
    _check_semantics(board)
    # Validated once, here; board.target (built from these fields) is what every stage reads.
    return board


def _build(path: Path, d: dict[str, Any]) -> Board:
    folder = path.parent
    comp, start, launch, serial = d["compiler"], d["startup"], d["launch"], d["serial"]
    script = comp.get("linker_script")
    return Board(
        name=d["name"],
        description=d["description"],
        kind=d["kind"],
        directory=folder,
        source=path,
        cpu=Cpu(**d["cpu"]),
        compiler=Compiler(
            prefix=comp["prefix"],
            cflags=tuple(comp["cflags"]),
            ldflags=tuple(comp["ldflags"]),
            libc=comp["libc"],
            linker_script=folder / script if script else None,
        ),
        startup=Startup(
            source=start["source"], board_sources=tuple(folder / s for s in start.get("board_sources", []))
        ),
        uart=Uart(**d["uart"]),
        timing=Timing(**d["timing"]),
        launch=Launch(
            **{
                **launch,
                "extra_args": tuple(launch.get("extra_args", ())),
                "flash_command": tuple(launch.get("flash_command", ())),
            }
        ),
        serial=SerialSettings(**serial),
        memory=Memory(flash=MemoryRegion(**d["memory"]["flash"]), ram=MemoryRegion(**d["memory"]["ram"])),
        accelerator=_accelerator(d["accelerator"]),
        labgrid=Labgrid(**d["labgrid"]) if "labgrid" in d else None,
    )


def _accelerator(a: dict[str, Any]) -> Accelerator:
    regs = a.get("registers")
    reg_map = None
    if regs is not None:
        word = regs["word_bytes"]
        reg_map = RegisterMap(
            word_bytes=word,
            registers=tuple(
                Register(
                    name=r["name"],
                    width=r["width"],
                    field=r["field"],
                    signed=r.get("signed", False),
                    offset=i * word,
                    reset=r.get("reset", 0),
                )
                for i, r in enumerate(regs["layer"])
            ),
        )
    return Accelerator(
        rounding=a["rounding"],
        multiplier_bits=a["multiplier_bits"],
        shift_min=a["shift_min"],
        shift_max=a["shift_max"],
        per_channel=a["per_channel"],
        engines=tuple(_engine(e, a) for e in a["engines"]),
        registers=reg_map,
    )


#: engine datapath fields that default to the board-wide [accelerator] value
_INHERITED = ("rounding", "multiplier_bits", "shift_min", "shift_max", "per_channel")


def _engine(e: dict[str, Any], acc: dict[str, Any]) -> EngineSpec:
    """An [[accelerator.engines]] entry; datapath fields it leaves out are the board's."""
    fields = {k: v for k, v in e.items() if k not in ("datapaths", "ops", "limits")}
    for key in _INHERITED:
        fields.setdefault(key, acc[key])
    return EngineSpec(
        datapaths=tuple(e["datapaths"]),
        ops=tuple(e["ops"]) if "ops" in e else None,
        limits=EngineLimits(**e.get("limits", {})),
        **fields,
    )


def _check_semantics(board: Board) -> None:
    where = board.source
    problem = _check_identity(board) or _check_files(board) or _check_timing(board) or _check_accelerator(board)
    if problem:
        raise BoardFileError(f"{where}: {problem}")


def _check_identity(board: Board) -> str | None:
    if board.name != board.directory.name:
        return f"field 'name': '{board.name}' must match the board folder name '{board.directory.name}'"
    return None


def _board_file_problem(field_name: str, path: Path, folder: Path) -> str | None:
    """A file a board names must be inside its folder (a board file must not
    pull in arbitrary files from the machine) and must exist."""
    shown = path.name[:60]
    try:
        inside = path.resolve().is_relative_to(folder.resolve())
        exists = path.is_file()
    except (OSError, ValueError) as exc:
        return f"field '{field_name}': unusable file name '{shown}' ({exc.__class__.__name__})"
    if not inside:
        return f"field '{field_name}': '{shown}' is outside the board folder {folder}"
    if not exists:
        return f"field '{field_name}': file '{shown}' not found in {folder}"
    return None


def _check_files(board: Board) -> str | None:
    script = board.compiler.linker_script
    problem = script is not None and _board_file_problem("compiler.linker_script", script, board.directory)
    if problem:
        return problem
    for i, src in enumerate(board.startup.board_sources):
        problem = _board_file_problem(f"startup.board_sources[{i}]", src, board.directory)
        if problem:
            return problem
    fw = firmware_dir()
    needed = {
        "startup.source": fw / "startup" / f"{board.startup.source}.c",
        "uart.driver": fw / "uart" / f"{board.uart.driver}.c",
        "timing.counter": fw / "counter" / f"{board.timing.counter}.c",
    }
    for field_name, src in needed.items():
        if not src.is_file():
            return f"field '{field_name}': no firmware source {src}"
    return None


def _check_timing(board: Board) -> str | None:
    if board.timing.counter == "systick_icount":
        if board.timing.clock_hz <= 0:
            return "field 'timing.clock_hz' is required by counter 'systick_icount'"
        if board.launch.icount_shift is None:
            return "field 'launch.icount_shift' is required by counter 'systick_icount'"
    return None


def _check_engine_ops(engine: EngineSpec, where: str) -> str | None:
    unknown = sorted(set(engine.ops or ()) - set(RUNTIME_OPS))
    if unknown:
        return f"field '{where}.ops': '{unknown[0]}' is not a runtime op (known: {', '.join(sorted(RUNTIME_OPS))})"
    return None


def _check_accelerator(board: Board) -> str | None:
    acc = board.accelerator
    if acc.shift_min > acc.shift_max:
        return f"field 'accelerator.shift_min': {acc.shift_min} is above shift_max {acc.shift_max}"
    names = [e.name for e in acc.engines]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        return f"field 'accelerator.engines': engine '{duplicate}' is listed twice"
    for i, engine in enumerate(acc.engines):
        problem = _check_engine_ops(engine, f"accelerator.engines[{i}]") or check_engine(
            engine, f"accelerator.engines[{i}]"
        )
        if problem:
            return problem
    if acc.registers is not None:
        return check_register_map(acc)
    return None
