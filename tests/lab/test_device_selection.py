"""Which port reaches a board: pyserial's own port-listing objects (ListPortInfo,
as list_ports.comports() returns them; no USB device exists on a CI host),
the precedence of command line, environment and board file, and the flash
command that names the probe's serial number."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from lab_harness import BIN, EXAMPLES, scaled
from serial.tools.list_ports_common import ListPortInfo

from fixpoint.boards import load_board
from fixpoint.boards.ports import Connection, PortSelectionError, resolve_port, select_port
from fixpoint.boards.runner import flash_argv


def usb_port(device: str, vid: int, pid: int, serial_number: str) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, serial_number
    info.description = "STM32 STLink"
    return info


STLINK = (0x0483, 0x374B)
PORTS = [
    usb_port("/dev/ttyACM0", *STLINK, "066DFF485688494867123456"),
    usb_port("/dev/ttyACM1", *STLINK, "0670FF535155878281151234"),
    usb_port("/dev/ttyUSB0", 0x0403, 0x6001, "A50285BI"),
    ListPortInfo("/dev/ttyS0", skip_link_detection=True),
]


def test_serial_number_picks_that_unit() -> None:
    assert select_port(PORTS, serial_number="0670FF535155878281151234").device == "/dev/ttyACM1"


def test_vid_pid_picks_the_only_such_port() -> None:
    assert select_port(PORTS, vid_pid="0403:6001").device == "/dev/ttyUSB0"


def test_two_alike_probes_are_never_guessed() -> None:
    with pytest.raises(PortSelectionError, match="2 serial ports match VID:PID 0483:374b.*serial number"):
        select_port(PORTS, vid_pid="0483:374b")


def test_serial_number_and_vid_pid_must_both_hold() -> None:
    with pytest.raises(PortSelectionError, match="no serial port with serial number A50285BI and VID:PID"):
        select_port(PORTS, serial_number="A50285BI", vid_pid="0483:374B")


def test_no_match_lists_what_is_there() -> None:
    with pytest.raises(PortSelectionError, match=r"/dev/ttyACM0 \(0483:374b, serial 066DFF"):
        select_port(PORTS, serial_number="nope")
    with pytest.raises(PortSelectionError, match="no USB serial ports"):
        select_port(PORTS[3:], vid_pid="0483:374b")


def test_malformed_vid_pid_is_named() -> None:
    with pytest.raises(PortSelectionError, match="VID:PID '483:374b'"):
        select_port(PORTS, vid_pid="483:374b")


def test_precedence_for_a_hardware_board(monkeypatch: pytest.MonkeyPatch) -> None:
    board = load_board("nucleo-f746zg")
    monkeypatch.delenv("FIXPOINT_DEVICE", raising=False)
    assert resolve_port(board, None, PORTS).device == "/dev/ttyACM0"  # the board file's device
    monkeypatch.setenv("FIXPOINT_DEVICE", "/dev/ttyUSB0")
    assert resolve_port(board, None, PORTS).device == "/dev/ttyUSB0"
    picked = resolve_port(board, Connection(serial_number="0670FF535155878281151234"), PORTS)
    assert (picked.device, picked.serial_number) == ("/dev/ttyACM1", "0670FF535155878281151234")
    assert resolve_port(board, Connection(device="rfc2217://lab:7000"), PORTS).device == "rfc2217://lab:7000"


def test_board_file_usb_serial_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIXPOINT_DEVICE", raising=False)
    text = (
        load_board("nucleo-f746zg")
        .source.read_text()
        .replace('name = "nucleo-f746zg"', 'name = "unit7"')
        .replace('device = "/dev/ttyACM0"', 'usb_serial_number = "066DFF485688494867123456"')
        .replace('"-c", "program {elf}', '"-c", "adapter serial {serial_number}", "-c", "program {elf}')
    )
    folder = tmp_path / "unit7"
    folder.mkdir()
    for f in load_board("nucleo-f746zg").directory.iterdir():
        if f.name != "board.toml":
            (folder / f.name).write_bytes(f.read_bytes())
    (folder / "board.toml").write_text(text)
    board = load_board(folder)
    picked = resolve_port(board, None, PORTS)
    assert picked.device == "/dev/ttyACM0"
    argv = flash_argv(board, Path("fw.elf"), {"serial_number": picked.serial_number})
    assert argv[-4:] == [
        "-c",
        "adapter serial 066DFF485688494867123456",
        "-c",
        f"program {Path('fw.elf').resolve()} verify reset exit",
    ]


def test_qemu_and_host_boards_ignore_the_hardware_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXPOINT_DEVICE", "/dev/ttyUSB0")
    assert resolve_port(load_board("mps2-an386"), None, PORTS) is None
    assert (
        resolve_port(load_board("host"), Connection(device="socket://127.0.0.1:9"), PORTS).device
        == "socket://127.0.0.1:9"
    )


def test_bad_vid_pid_on_the_command_line_is_one_error_line() -> None:
    proc = subprocess.run(
        [
            str(BIN / "fixpoint"),
            "hil",
            "--plan",
            str(EXAMPLES / "mlp" / "model.onnx"),
            "--data",
            str(EXAMPLES / "mlp" / "eval.npz"),
            "--vid-pid",
            "zz:1",
        ],
        capture_output=True,
        text=True,
        timeout=scaled(120.0),
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("error:") == 1 and "--vid-pid" in proc.stderr and "Traceback" not in proc.stderr
