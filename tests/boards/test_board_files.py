"""board.toml files: every shipped board loads; bad files give one-line errors
naming the file and the field; register maps agree with their profiles."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixpoint.boards import BoardFileError, boards_dir, list_boards, load_board
from fixpoint.boards.registers import REGISTER_FIELDS, encode_register, register_range
from fixpoint.plan import ROUNDING_MODES, RequantProfile

SHIPPED = [
    "host",
    "mps2-an385",
    "mps2-an386",
    "mps2-an386-npu",
    "mps2-an500",
    "mps2-an505",
    "mps3-an547",
    "nucleo-f746zg",
    "riscv32-virt",
]


def test_boards_dir_is_the_repo_boards_folder() -> None:
    assert boards_dir() == Path(__file__).resolve().parents[2] / "boards"
    assert (boards_dir() / "schema.json").is_file()


def test_list_boards_lists_every_shipped_board() -> None:
    assert list_boards() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_board_loads_with_a_valid_profile(name: str) -> None:
    board = load_board(name)
    profile = board.requant_profile()
    assert board.name == name and board.source == boards_dir() / name / "board.toml"
    assert isinstance(profile, RequantProfile)
    assert profile.rounding in ROUNDING_MODES
    assert profile.shift_min <= profile.shift_max
    assert any(e.name == "cpu" for e in board.accelerator.engines)
    if board.kind != "host":
        assert board.compiler.linker_script is not None and board.compiler.linker_script.is_file()


def test_load_by_folder_and_by_file_path() -> None:
    folder = boards_dir() / "mps2-an385"
    assert load_board(folder) == load_board(folder / "board.toml") == load_board("mps2-an385")


def test_non_default_profiles_are_exercised() -> None:
    an505 = load_board("mps2-an505").requant_profile()
    assert (an505.rounding, an505.multiplier_bits, an505.shift_max, an505.per_channel) == ("single", 16, 15, True)
    rv = load_board("riscv32-virt").requant_profile()
    assert (rv.rounding, rv.multiplier_bits, rv.per_channel) == ("double", 16, False)
    assert load_board("mps2-an385").requant_profile() == RequantProfile()


def test_register_maps_follow_the_profile() -> None:
    regs = load_board("mps2-an505").accelerator.registers
    assert regs is not None
    assert [r.offset for r in regs.registers] == [4 * i for i in range(len(regs.registers))]
    assert {"mult_addr", "shift_addr"} <= set(regs.fields())
    rv = load_board("riscv32-virt").accelerator.registers
    assert rv is not None and rv.by_field("shift") is not None and rv.by_field("mult") is not None
    assert rv.by_field("mult_addr") is None  # per-tensor: the scale sits in the register itself
    assert set(rv.fields()) <= set(REGISTER_FIELDS)


def test_encode_register_masks_and_range_checks() -> None:
    shift = load_board("riscv32-virt").accelerator.registers.by_field("shift")  # type: ignore[union-attr]
    assert register_range(shift) == (-32, 31)
    assert encode_register(shift, -1) == 0x3F
    assert encode_register(shift, 5) == 5
    with pytest.raises(ValueError, match="SHIFT"):
        encode_register(shift, 32)


def test_unknown_board_name_lists_the_known_ones() -> None:
    with pytest.raises(BoardFileError, match="unknown board 'nope'.*mps2-an385"):
        load_board("nope")


# ---- bad board files ----------------------------------------------------------

BAD_EDITS = [
    # (old text, new text, expected fragment of the message)
    ("multiplier_bits = 16", 'multiplier_bits = "16"', "field 'accelerator.multiplier_bits'"),
    ('rounding = "single"', 'rounding = "half"', "field 'accelerator.rounding'"),
    ('linker_script = "link.ld"\n', "", "field 'compiler.linker_script' is required"),
    ('linker_script = "link.ld"', 'linker_script = "missing.ld"', "field 'compiler.linker_script'"),
    ('kind = "qemu"', 'kind = "qemu"\ncolour = "red"', "unknown field 'colour'"),
    ('driver = "cmsdk_uart"', 'driver = "pl011"', "field 'uart.driver'"),
    ('name = "mps2-an505"', 'name = "other-board"', "field 'name'"),
    ("shift_min = -31", "shift_min = 20", "field 'accelerator.shift_min'"),
    (
        '{ name = "MULT_ADDR", width = 32, field = "mult_addr" },',
        '{ name = "MULT", width = 16, field = "mult" },',
        "field 'accelerator.registers'",
    ),
    (
        '{ name = "IN_ZP", width = 9, field = "in_zp", signed = true },',
        '{ name = "IN_ZP", width = 9, field = "in_zp" },',
        "field 'accelerator.registers.layer[18]'",
    ),
    (
        '{ name = "OP", width = 8, field = "op" },',
        '{ name = "OP", width = 40, field = "op" },',
        "field 'accelerator.registers.layer[0].width'",
    ),
    ("[uart]", "[uart", "invalid TOML"),
]


@pytest.mark.parametrize("old, new, expected", BAD_EDITS, ids=[e[2] for e in BAD_EDITS])
def test_bad_board_file_gives_one_line_error(tmp_path: Path, old: str, new: str, expected: str) -> None:
    folder = tmp_path / "mps2-an505"
    shutil.copytree(boards_dir() / "mps2-an505", folder)
    toml = folder / "board.toml"
    text = toml.read_text()
    assert old in text, f"test edit does not apply: {old!r}"
    toml.write_text(text.replace(old, new, 1))
    with pytest.raises(BoardFileError) as info:
        load_board(folder)
    message = str(info.value)
    assert "\n" not in message
    assert str(toml) in message
    assert expected in message, message


def test_register_map_width_must_hold_the_shift_range(tmp_path: Path) -> None:
    folder = tmp_path / "riscv32-virt"
    shutil.copytree(boards_dir() / "riscv32-virt", folder)
    toml = folder / "board.toml"
    toml.write_text(toml.read_text().replace('width = 6, field = "shift"', 'width = 5, field = "shift"'))
    with pytest.raises(BoardFileError, match=r"layer\[22\]'.*cannot hold shifts \[-31, 30\]"):
        load_board(folder)
