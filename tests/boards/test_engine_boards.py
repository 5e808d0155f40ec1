"""The Target of a board file: engines with their own datapaths, validated once by the loader.

An inconsistent accelerator (an engine with no ops, a shift range wider than its register, an
unknown rounding mode, ...) is one line naming the field, from the loader and on the command line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fixpoint.boards import BoardFileError, boards_dir, load_board
from fixpoint.plan import RequantProfile
from fixpoint.target import EngineSpec, Target

REFERENCE = "mps2-an386-npu"


def test_reference_board_target_has_engines_with_distinct_datapaths():
    board = load_board(REFERENCE)
    target = board.target
    assert isinstance(target, Target) and target is board.target  # built once per board
    assert [e.name for e in target.engines] == ["cpu", "npu8", "mac24", "shift"]
    profiles = target.engine_profiles()
    assert profiles["cpu"] == target.profile == RequantProfile()
    assert profiles["npu8"] == RequantProfile("single", 16, -31, 15, True)
    assert profiles["mac24"] == RequantProfile("half_even", 24, -31, 23, True, 24, "saturate")
    assert profiles["shift"] == RequantProfile("shift_only", 32, -20, 7, False, 20, "wrap")
    npu8 = target.engine("npu8")
    assert npu8.limits.kernel_max == 3 and npu8.limits.stride_max == 2 and npu8.limits.channels_max == 64
    assert npu8.supports("conv2d", "s8") and not npu8.supports("conv2d", "s4") and not npu8.supports("add", "s8")
    assert target.cpu.core == "cortex-m4" and target.memory.ram.size > 0 and target.link.baud == 115200


def test_engines_without_datapath_fields_inherit_the_board_profile():
    board = load_board("mps2-an505")
    assert all(e.profile() == board.requant_profile() for e in board.target.engines)
    # an EngineSpec made in Python leaves them open: the lowering profile fills them
    spec = EngineSpec("npu", ("s8",))
    assert spec.profile(board.requant_profile()) == board.requant_profile()


ENGINE_LINE = re.compile(r'^name = "mac24"$', re.M)

BAD_ENGINES = [
    ('ops = ["conv2d", "fully_connected"]', "ops = []", "accelerator.engines[2].ops", "runs no ops"),
    ('ops = ["conv2d", "fully_connected"]', 'ops = ["conv9"]', "accelerator.engines[2].ops", "not a runtime op"),
    (
        "shift_max = 23",
        "shift_max = 23\nshift_bits = 5",
        "accelerator.engines[2].shift_max",
        "wider than the 5-bit shift register",
    ),
    ('rounding = "half_even"', 'rounding = "half_up"', "accelerator.engines[2].rounding", "is not one of"),
    (
        'accumulator_overflow = "saturate"',
        'accumulator_overflow = "clip"',
        "accelerator.engines[2].accumulator_overflow",
        "is not one of",
    ),
    (
        'datapaths = ["s8", "s4"]',
        'datapaths = ["s8", "s16"]',
        "accelerator.engines[2].datapaths",
        "s16 needs a 64-bit accumulator",
    ),
    (
        "shift_min = -31\nshift_max = 23",
        "shift_min = 9\nshift_max = 3",
        "accelerator.engines[2].shift_min",
        "above shift_max",
    ),
]


def _bad_board(tmp_path: Path, old: str, new: str) -> Path:
    src = boards_dir() / REFERENCE
    text = (src / "board.toml").read_text()
    start = ENGINE_LINE.search(text).start()  # edit the mac24 engine only
    assert old in text[start:], old
    text = text[:start] + text[start:].replace(old, new, 1)
    folder = tmp_path / REFERENCE
    folder.mkdir()
    (folder / "link.ld").write_bytes((src / "link.ld").read_bytes())
    (folder / "board.toml").write_text(text)
    return folder / "board.toml"


@pytest.mark.parametrize("old,new,field,words", BAD_ENGINES, ids=[b[1].split("\n")[-1] for b in BAD_ENGINES])
def test_inconsistent_engine_is_one_line_naming_the_field(tmp_path, old, new, field, words):
    path = _bad_board(tmp_path, old, new)
    with pytest.raises(BoardFileError) as info:
        load_board(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert f"field '{field}'" in message and words in message, message


def test_engine_wider_than_the_shift_register_of_the_register_map(tmp_path):
    """riscv32-virt's per-layer register block has a 6-bit SHIFT register: an engine whose own
    shift range does not fit it is refused, naming the engine."""
    src = boards_dir() / "riscv32-virt"
    text = (
        (src / "board.toml")
        .read_text()
        .replace('{ name = "q15", datapaths = ["s8"] }', '{ name = "q15", datapaths = ["s8"], shift_min = -40 }')
    )
    assert "shift_min = -40" in text
    folder = tmp_path / "riscv32-virt"
    folder.mkdir()
    for f in src.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "board.toml").write_text(text)
    with pytest.raises(
        BoardFileError,
        match=r"field 'accelerator.engines\[1\].shift_max': shift range \[-40, "
        r"30\] is wider than register SHIFT \(6 bits\)",
    ):
        load_board(folder)


def test_inconsistent_engine_on_the_command_line(tmp_path):
    path = _bad_board(tmp_path, 'ops = ["conv2d", "fully_connected"]', "ops = []")
    mlp = Path(__file__).resolve().parents[2] / "examples" / "models" / "mlp"
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fixpoint.cli",
            "-q",
            "calibrate",
            str(mlp / "model.onnx"),
            "--data",
            str(mlp / "calib.npz"),
            "--board",
            str(path),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and "accelerator.engines[2].ops" in lines[0]
    assert not out.exists() or not any(out.iterdir())
