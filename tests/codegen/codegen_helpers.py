"""Compilers, flags and byte helpers shared by the code generator tests."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fixpoint.codegen import GeneratedModel
from fixpoint.plan import DTYPES, Plan

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "runtime"
STRICT = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic")


@dataclass(frozen=True)
class Target:
    name: str
    cc: str
    flags: tuple[str, ...]


TARGETS = (
    Target("gcc", "gcc", ("-O2",)),
    Target("clang", "clang", ("-O2",)),
    Target("cortex-m4", "arm-none-eabi-gcc", ("-O2", "-mcpu=cortex-m4", "-mthumb")),
    # Debian's RISC-V compiler has no C library: <string.h> comes from the firmware's own libc.
    Target(
        "rv32imac",
        "riscv64-unknown-elf-gcc",
        (
            "-O2",
            "-march=rv32imac_zicsr",
            "-mabi=ilp32",
            "-ffreestanding",
            f"-isystem{RUNTIME / 'firmware' / 'libc' / 'include'}",
        ),
    ),
)


def include_flags(folder: Path) -> list[str]:
    return [f"-I{folder}", f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'firmware'}"]


def header_units(generated: GeneratedModel, folder: Path) -> list[Path]:
    """One translation unit per generated header (each header compiled on its own)."""
    units = []
    for header in generated.headers:
        unit = folder / f"tu_{header.stem}.c"
        unit.write_text(f'#include "{header.name}"\n')
        units.append(unit)
    return units


def compile_c(target: Target, sources: list[Path], include_dir: Path, work: Path) -> subprocess.CompletedProcess:
    """Compile (-c) every source with the strict flags; objects go to ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    cmd = [target.cc, *STRICT, *target.flags, *include_flags(include_dir), "-c", *map(str, sources)]
    return subprocess.run(cmd, cwd=work, capture_output=True, text=True)


def sample_bytes(arrays: list[np.ndarray], b: int) -> bytes:
    """Sample b of every array, back to back (the fp_model_input / output layout)."""
    return b"".join(np.ascontiguousarray(a[b]).tobytes() for a in arrays)


def split_outputs(plan: Plan, data: bytes) -> list[np.ndarray]:
    """The generated model's output bytes as one array per plan output."""
    out, offset = [], 0
    for t in plan.outputs:
        tensor = plan.tensors[t]
        n = tensor.nbytes
        out.append(np.frombuffer(data[offset : offset + n], dtype=DTYPES[tensor.dtype]).reshape(tensor.shape[1:]))
        offset += n
    assert offset == len(data), f"{len(data)} output bytes, the plan's outputs hold {offset}"
    return out
