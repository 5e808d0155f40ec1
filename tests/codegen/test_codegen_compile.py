"""(a) Every generated file compiles warning-free with the firmware's strict flags
on gcc and clang (host), arm-none-eabi-gcc (Cortex-M4) and riscv64-unknown-elf-gcc (RV32)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixpoint.codegen import generate

from codegen_helpers import TARGETS, compile_c, header_units
from codegen_plans import AN505, RV32, built_plan, example_plan

# (recipe or example, datapath, board, profile)
CASES = {
    "every_op-s8-default": lambda: built_plan("every_op", "s8")[0],
    "every_op-s4-an505": lambda: built_plan("every_op", "s4", profile=AN505)[0],
    "every_op-s16-an547": lambda: built_plan("every_op", "s16")[0],
    "branches-s8-riscv": lambda: built_plan("branches", "s8", profile=RV32)[0],
    "example-cnn-s8": lambda: example_plan("cnn_bn_res"),
    "example-cnn-s4": lambda: example_plan("cnn_bn_res", weight_bits=4),
}
BOARDS = {
    "every_op-s4-an505": "mps2-an505",
    "every_op-s16-an547": "mps3-an547",
    "branches-s8-riscv": "riscv32-virt",
    "example-cnn-s8": "mps3-an547",
}


@pytest.fixture(scope="module")
def generated_cases(tmp_path_factory):
    root = tmp_path_factory.mktemp("compile")
    return {name: generate(make(), BOARDS.get(name), root / name) for name, make in CASES.items()}


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@pytest.mark.parametrize("case", list(CASES))
def test_every_generated_file_compiles_strictly(generated_cases, case, target, tmp_path):
    generated = generated_cases[case]
    assert len(generated.sources) == 2 and len(generated.headers) == 3
    units = [*generated.sources, *header_units(generated, tmp_path)]
    proc = compile_c(target, units, generated.out_dir, tmp_path / "obj")
    assert proc.returncode == 0 and not proc.stderr, f"{target.name} on {case}:\n{proc.stderr[:3000]}"
    objects = sorted(p.name for p in (tmp_path / "obj").glob("*.o"))
    assert objects == sorted(Path(u).with_suffix(".o").name for u in units)
