"""`fixpoint boards import-svd`: a CMSIS-SVD peripheral (written by tests/boards/svd_writer.py) becomes
the board file's [accelerator.registers]; round trip import -> board validates -> the generated
register header is the original board's; a bad SVD is exit 2 with one `error:` line naming the
element, and nothing written."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from fixpoint.boards import load_board
from fixpoint.cli import main
from fixpoint.codegen import generate

for _folder in ("sim", "boards"):  # the simulator's plan builders, the SVD writer
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / _folder))
from sim_plans import PlanBuilder, chain  # noqa: E402
from svd_writer import svd_tree, write_svd  # noqa: E402

BOARD = "mps2-an386-npu"


def _import(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["-q", "boards", "import-svd", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _board_with(tmp_path: Path, registers_toml: str) -> Path:
    """A copy of the reference board whose [accelerator.registers] is ``registers_toml``."""
    folder = tmp_path / BOARD
    shutil.copytree(load_board(BOARD).directory, folder)
    text = (folder / "board.toml").read_text()
    head = text[: text.index("[accelerator.registers]")]
    assert "\n[" not in text[text.index("[accelerator.registers]") + 1 :], "registers must be the last table"
    (folder / "board.toml").write_text(head + registers_toml)
    return folder / "board.toml"


def test_round_trip_import_validates_and_generates_the_same_header(tmp_path, capsys):
    original = load_board(BOARD)
    svd = write_svd(original.accelerator.registers, tmp_path / "npu.svd", decoys=("UART0", "TIMER0"))
    code, out, err = _import(capsys, str(svd), "--peripheral", "npu", "-o", str(tmp_path / "regs.toml"))
    assert code == 0 and out == "" and err == "", err
    text = (tmp_path / "regs.toml").read_text()
    assert text.count("{ name = ") == len(original.accelerator.registers.registers)
    board_toml = _board_with(tmp_path, text)
    imported = load_board(board_toml)  # the loader validates it against the schema
    assert imported.accelerator.registers == original.accelerator.registers
    plan = chain(PlanBuilder(np.random.default_rng(0), "s8", None, name="chain_s8"))
    for i, layer in enumerate(plan.layers):
        layer.engine = ("cpu", "npu8", "mac24", "shift")[i % 4]
    plan.model_hash = plan.compute_hash()
    want = generate(plan, BOARD, tmp_path / "a").files["accel_regs_h"].read_text()
    got = generate(plan, board_toml, tmp_path / "b").files["accel_regs_h"].read_text()
    assert got == want
    # standard output, no --peripheral needed when one peripheral has registers
    write_svd(original.accelerator.registers, tmp_path / "only.svd")
    code, out, _ = _import(capsys, str(tmp_path / "only.svd"))
    assert code == 0 and out == text.replace("npu.svd", "only.svd")


def _mutated(tmp_path: Path, mutate) -> Path:
    tree = svd_tree(load_board(BOARD).accelerator.registers, decoys=("UART0",))
    mutate(tree.getroot())
    path = tmp_path / "bad.svd"
    tree.write(path, encoding="utf-8")
    return path


def _reg(root, name: str):
    return next(r for r in root.iter("register") if r.findtext("name") == name)


def _two_fields(root) -> None:
    fields = _reg(root, "OUT_ZP").find("fields")
    fields.append(fields.find("field"))


def _gap(root) -> None:
    _reg(root, "IN_H").find("addressOffset").text = "0x100"


def _unknown_field(root) -> None:
    _reg(root, "K_W").find("fields/field/name").text = "KERNEL_WIDTH"


def _bad_number(root) -> None:
    _reg(root, "ACT_MAX").find("resetValue").text = "lots"


def _shifted(root) -> None:
    _reg(root, "STRIDE_H").find("fields/field/bitOffset").text = "4"


@pytest.mark.parametrize(
    "mutate, peripheral, names",
    [
        (_two_fields, "NPU", "register[OUT_ZP]/fields"),
        (_gap, "NPU", "register[IN_W]/addressOffset: 0x2C, expected 0x28"),  # IN_H moved away: a hole
        (_unknown_field, "NPU", "field[KERNEL_WIDTH]/name"),
        (_bad_number, "NPU", "register[ACT_MAX]/resetValue"),
        (_shifted, "NPU", "register[STRIDE_H]/fields/field[STRIDE_H]"),
        (lambda root: None, None, "device/peripherals: 2 peripherals with registers"),
        (lambda root: None, "DMA", "no peripheral named 'DMA'"),
    ],
)
def test_bad_svd_is_one_error_line_naming_the_element(tmp_path, capsys, mutate, peripheral, names):
    svd = _mutated(tmp_path, mutate)
    out_file = tmp_path / "regs.toml"
    args = [str(svd), "-o", str(out_file)] + (["--peripheral", peripheral] if peripheral else [])
    code, out, err = _import(capsys, *args)
    assert code == 2 and out == "" and not out_file.exists()
    assert err.startswith("error: ") and err.count("\n") == 1 and names in err, err


def test_not_an_svd_file(tmp_path, capsys):
    (tmp_path / "x.svd").write_text("<device><peripherals>")
    code, _, err = _import(capsys, str(tmp_path / "x.svd"))
    assert code == 2 and err.startswith("error: ") and "x.svd: not well-formed XML" in err
    (tmp_path / "y.svd").write_text("<board/>")
    code, _, err = _import(capsys, str(tmp_path / "y.svd"))
    assert code == 2 and "root element is <board>" in err
