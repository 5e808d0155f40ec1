"""Which serial port reaches a board: a URL given on the command line, a USB
device picked by serial number or VID:PID from the host's port listing, or
the board file's default.

One lab host often carries several units of the same board (several
ST-LINKs with the same VID:PID); the USB serial number tells them apart, and
the same number names the probe in the flash command (``{serial_number}``),
so one board folder serves every unit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from fixpoint.serial.errors import BoardError

from .board import Board

_VID_PID = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$")


class PortSelectionError(BoardError):
    """No port, or more than one, matches what the board file or the command line asked for."""


@dataclass(frozen=True)
class Connection:
    """Command-line overrides of how a board is reached (None: the board file's value).

    ``device``: a pyserial URL or device path (``socket://127.0.0.1:4000``,
    ``rfc2217://lab:7000``, ``/dev/ttyACM0``); for a QEMU or host board it
    means "attach to this running board" instead of launching one.
    """

    device: str | None = None
    serial_number: str | None = None
    vid_pid: str | None = None
    baud: int | None = None

    def baud_for(self, board: Board) -> int:
        return self.baud or board.serial.baud


@dataclass(frozen=True)
class SelectedPort:
    device: str  # what pyserial opens
    serial_number: str = ""  # the USB serial number, for the flash command ("" if unknown)


def parse_vid_pid(text: str) -> tuple[int, int]:
    """``"0483:374b"`` -> (0x0483, 0x374B); raises PortSelectionError naming the value."""
    match = _VID_PID.match(text.strip())
    if not match:
        raise PortSelectionError(f"VID:PID '{text}': expected four hex digits, a colon, four hex digits")
    return int(match.group(1), 16), int(match.group(2), 16)


def select_port(
    ports: Iterable[ListPortInfo], *, serial_number: str | None = None, vid_pid: str | None = None
) -> ListPortInfo:
    """The one port matching the serial number and/or VID:PID (both must hold when both are given).

    Zero or several matches raise PortSelectionError listing the candidates, so
    the wrong unit is never flashed because two probes looked alike.
    """
    if not serial_number and not vid_pid:
        raise PortSelectionError("select_port: give a USB serial number or a VID:PID")
    want = parse_vid_pid(vid_pid) if vid_pid else None
    candidates = list(ports)
    found = [
        p
        for p in candidates
        if (not serial_number or (p.serial_number or "") == serial_number) and (want is None or (p.vid, p.pid) == want)
    ]
    asked = " and ".join(
        x
        for x in (f"serial number {serial_number}" if serial_number else "", f"VID:PID {vid_pid}" if vid_pid else "")
        if x
    )
    if len(found) == 1:
        return found[0]
    if not found:
        usb = [_describe(p) for p in candidates if p.vid is not None]
        listed = "; ".join(usb) if usb else "no USB serial ports on this host"
        raise PortSelectionError(f"no serial port with {asked} ({listed})")
    raise PortSelectionError(
        f"{len(found)} serial ports match {asked}: {'; '.join(_describe(p) for p in found)} -- give the serial number"
    )


def _describe(port: ListPortInfo) -> str:
    ids = f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None else "no USB ids"
    return f"{port.device} ({ids}, serial {port.serial_number or '-'})"


def resolve_port(
    board: Board, connection: Connection | None, ports: Iterable[ListPortInfo] | None = None
) -> SelectedPort | None:
    """Where a hardware-style board is reached, in precedence order: ``--device``,
    ``--serial-number``/``--vid-pid``, then (hardware boards only: a QEMU or
    host board named by nothing is launched locally) ``FIXPOINT_DEVICE``, the
    board file's ``usb_serial_number``/``usb_vid_pid`` and its ``device``.
    None when nothing names a port.

    ``ports`` defaults to pyserial's listing of this host.
    """
    conn = connection or Connection()
    if conn.device:
        return SelectedPort(conn.device, conn.serial_number or "")
    serial_number, vid_pid = conn.serial_number, conn.vid_pid
    if not serial_number and not vid_pid and board.kind == "hardware":
        env = os.environ.get("FIXPOINT_DEVICE")
        if env:
            return SelectedPort(env)
        serial_number = board.serial.usb_serial_number or None
        vid_pid = board.serial.usb_vid_pid or None
    if serial_number or vid_pid:
        port = select_port(
            list_ports.comports() if ports is None else ports, serial_number=serial_number, vid_pid=vid_pid
        )
        return SelectedPort(port.device, port.serial_number or "")
    if board.kind == "hardware" and board.serial.device:
        return SelectedPort(board.serial.device)
    return None
