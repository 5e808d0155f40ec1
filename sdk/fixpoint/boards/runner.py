"""Bring a board to "ready" and hand back a connected protocol client
(the labgrid "strategy").

    with open_board("mps2-an385", firmware, expected_hash=plan.model_hash) as session:
        output, result = session.client.infer(input_bytes)

Per launch method: ``qemu`` starts QEMU with its UART on a TCP socket the
runner bound itself (port 0 -> no races between parallel boards; the
listening fd is inherited), ``exec`` starts the host firmware with its
stdin/stdout on a pseudo-terminal, ``openocd`` opens the serial port and then
flashes real hardware. In every case the runner waits for the ready line
before it sends a byte, and on leaving the ``with`` block -- normally, on an
exception or on KeyboardInterrupt -- closes the port and reaps every process
it started (SIGTERM, grace period, SIGKILL, wait).

How the board is reached can be overridden (``connection``, the CLI's
``--device``/``--serial-number``/``--vid-pid``/``--baud``, docs/boards.md):
a hardware board's port is picked by URL, USB serial number or VID:PID
(:mod:`.ports`); a QEMU or host board given a ``--device`` is not launched,
the runner attaches to the one running there; a board whose file names a
labgrid place is reached through the place (:mod:`.labgrid_place`), which is
acquired for the session and always released.

``BoardSession.reset_board()`` resets the running firmware for real (fault
tests): the host board restarts its image on SIGUSR1; a QEMU board needs
``open_board(..., resettable=True)``, which replaces ``-no-reboot`` (a reset
request would end QEMU) by ``-action reboot=reset`` and adds a QMP monitor on
a socket bound to 127.0.0.1 for ``system_reset``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import serial

from fixpoint.serial import FixpointClient
from fixpoint.serial.errors import BoardCrashed, BoardError, BoardProtocolError, BoardTimeout
from fixpoint.serial.protocol import READY_PREFIX, IdentifyInfo

from .board import Board
from .labgrid_place import acquired_place
from .loader import load_board
from .ports import Connection, SelectedPort, resolve_port
from .process import BoardProcess

log = logging.getLogger(__name__)

FLASH_TIMEOUT = 120.0


@dataclass
class BoardSession:
    """A board that is up: its description, where it is, and the client."""

    board: Board
    url: str
    client: FixpointClient
    process: BoardProcess | None  # None for hardware (nothing runs on the host)
    info: IdentifyInfo | None
    resetter: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def reset_board(self, *, wait_ready: bool = True, timeout: float | None = None) -> None:
        """Reset the running firmware (not the protocol's soft RESET): all its
        state is lost and it boots again. With ``wait_ready`` this returns once
        the ready line came back on ``client.port``; without, the caller reads
        the port itself (e.g. a link proxy that owns it meanwhile)."""
        if self.resetter is None:
            raise BoardError(
                f"{self.board.name}: cannot reset this board (QEMU boards need open_board(..., resettable=True))"
            )
        log.info("%s: resetting the board", self.board.name)
        self.resetter()
        if wait_ready:
            liveness = self.process.death if self.process else None
            tail = self.process.log_tail if self.process else (lambda: "")
            _wait_ready(self.client.port, self.board, timeout or self.board.serial.ready_timeout, liveness, tail)


@dataclass
class _Link:
    port: serial.SerialBase
    url: str
    process: BoardProcess | None
    resetter: Callable[[], None] | None = None
    ready_line: bool = True  # False: attached to a running board, its ready line is long gone


@contextmanager
def open_board(
    board: Board | str,
    firmware: str | os.PathLike[str],
    *,
    expected_hash: str | None = None,
    identify: bool = True,
    timeout: float | None = None,
    run_timeout: float | None = None,
    retries: int | None = None,
    ready_timeout: float | None = None,
    device: str | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    resettable: bool = False,
    connection: Connection | None = None,
) -> Iterator[BoardSession]:
    """Launch (or flash) ``firmware`` on ``board`` and yield a ready session.

    Timeouts default to the board's ``[serial]`` settings. With ``identify``
    the session starts with an IDENTIFY, raising WrongModel if the firmware's
    model hash differs from ``expected_hash``. ``connection`` (or just
    ``device``) overrides how the board is reached (module docstring); a
    hardware board otherwise uses FIXPOINT_DEVICE, else board.toml.
    ``resettable`` launches a QEMU board so that ``session.reset_board()``
    works (the host board always can; hardware cannot).
    """
    board = load_board(board)
    image = Path(firmware)
    if not image.is_file():
        raise BoardError(f"{board.name}: firmware image {image} not found")
    settings = board.serial
    conn = connection or Connection(device=device)
    if device and not conn.device:
        conn = Connection(device, conn.serial_number, conn.vid_pid, conn.baud)
    ready_within = ready_timeout or settings.ready_timeout
    with ExitStack() as stack:
        logs = (
            Path(log_dir)
            if log_dir
            else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"fixpoint-{board.name}-")))
        )
        link = _launch(board, image, stack, logs, conn, resettable)
        liveness = link.process.death if link.process else None
        tail = link.process.log_tail if link.process else (lambda: "")
        if link.ready_line:
            _wait_ready(link.port, board, ready_within, liveness, tail)
        client = FixpointClient(
            link.port,
            timeout=timeout or settings.timeout,
            run_timeout=run_timeout or settings.run_timeout,
            retries=settings.retries if retries is None else retries,
            max_payload=settings.max_payload,
            liveness=liveness,
            log_tail=tail,
        )
        info = None
        if identify:
            info = (
                client.identify(expected_hash)
                if link.ready_line
                else _identify_attached(client, board, expected_hash, ready_within)
            )
        yield BoardSession(board, link.url, client, link.process, info, link.resetter)


# ---- launch methods ----------------------------------------------------------


def _launch(board: Board, image: Path, stack: ExitStack, logs: Path, conn: Connection, resettable: bool) -> _Link:
    if board.labgrid is not None:
        return _launch_labgrid(board, image, stack, logs, conn)
    if board.kind == "hardware":
        return _launch_openocd(board, image, stack, logs, conn)
    selected = resolve_port(board, conn)
    if selected is not None:
        return _attach(board, image, stack, logs, conn, selected)
    if resettable and board.launch.method == "qemu":
        return _launch_qemu(board, image, stack, logs, monitor=True)
    return _LAUNCHERS[board.launch.method](board, image, stack, logs)


def _listener() -> socket.socket:
    """A listening socket on 127.0.0.1, port chosen by the kernel (no races)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    return listener


def _launch_qemu(board: Board, image: Path, stack: ExitStack, logs: Path, *, monitor: bool = False) -> _Link:
    with ExitStack() as listeners:
        listener = listeners.enter_context(_listener())
        qmp = listeners.enter_context(_listener()) if monitor else None
        fds = [listener.fileno()] + ([qmp.fileno()] if qmp else [])
        argv = qemu_argv(board, image, listener.fileno(), qmp.fileno() if qmp else None)
        process = _spawn(stack, argv, logs / "qemu.log", pass_fds=fds)
        url = board.serial.url.format(port=listener.getsockname()[1], device="")
        # QEMU (wait=on) accepts this connection before starting the guest.
        port = _open_port(stack, url, board, board.serial.baud)
        resetter = None
        if qmp is not None:
            monitor = _QemuMonitor(qmp.getsockname()[1], board)
            stack.callback(monitor.close)
            resetter = monitor.system_reset
    _disable_nagle(port)
    return _Link(port, url, process, resetter)


def qemu_argv(board: Board, image: Path, listen_fd: int, monitor_fd: int | None = None) -> list[str]:
    """QEMU command line: UART0 on an inherited listening socket, no display,
    no monitor, exit instead of reboot, exact instruction counting. With
    ``monitor_fd`` (a listening socket): a QMP monitor on it, and a reset
    request reboots the guest instead of ending QEMU."""
    launch = board.launch
    argv = [launch.qemu, "-M", launch.machine, "-kernel", str(image), "-display", "none", "-monitor", "none"]
    argv += _reset_args(monitor_fd)
    # nodelay: the UART sends byte by byte; Nagle + delayed ACK would add
    # ~40 ms to every response.
    argv += ["-chardev", f"socket,id=uart0,fd={listen_fd},server=on,wait=on,nodelay=on", "-serial", "chardev:uart0"]
    if launch.semihosting:
        argv += ["-semihosting-config", "enable=on,target=native"]
    if launch.icount_shift is not None:
        # sleep=off: an idle board's virtual clock does not follow real time, so a request is served as
        # soon as it arrives (the firmware stops SysTick between runs, so idling has no deadline to race to)
        argv += ["-icount", f"shift={launch.icount_shift},sleep=off"]
    return argv + list(launch.extra_args)


def _reset_args(monitor_fd: int | None) -> list[str]:
    """-no-reboot turns any reset request (also the monitor's system_reset)
    into an exit: right for normal runs, where a reset means a crash."""
    if monitor_fd is None:
        return ["-no-reboot"]
    return [
        "-chardev",
        f"socket,id=qmp0,fd={monitor_fd},server=on,wait=off",
        "-mon",
        "chardev=qmp0,mode=control",
        "-action",
        "reboot=reset",
    ]


class _QemuMonitor:
    """Just enough QMP for ``system_reset``; connects on first use."""

    def __init__(self, port: int, board: Board) -> None:
        self._port = port
        self._board = board
        self._sock: socket.socket | None = None
        self._file: BinaryIO | None = None

    def close(self) -> None:
        for handle in (self._file, self._sock):
            if handle is not None:
                handle.close()

    def system_reset(self) -> None:
        self._execute("system_reset")

    def _execute(self, command: str) -> None:
        try:
            if self._sock is None:
                self._connect()
            self._send(command)
        except (OSError, ValueError) as exc:
            raise BoardError(f"{self._board.name}: QEMU monitor {command} failed: {exc}") from None

    def _connect(self) -> None:
        self._sock = socket.create_connection(("127.0.0.1", self._port), timeout=self._board.serial.ready_timeout)
        self._file = self._sock.makefile("rb")
        self._reply()  # the greeting
        self._send("qmp_capabilities")

    def _send(self, command: str) -> None:
        assert self._sock is not None
        self._sock.sendall(json.dumps({"execute": command}).encode() + b"\n")
        while "return" not in (reply := self._reply()):
            if "error" in reply:
                raise ValueError(reply["error"].get("desc", reply))
            # asynchronous events (RESET, ...) may come before the answer

    def _reply(self) -> dict:
        assert self._file is not None
        line = self._file.readline()
        if not line:
            raise ValueError("monitor connection closed")
        return json.loads(line)


def _launch_host(board: Board, image: Path, stack: ExitStack, logs: Path) -> _Link:
    """The firmware's stdin/stdout is the pty master; we open the slave like
    any serial device. Raw mode is set and the port opened before the child
    starts: pyserial flushes pending input on open, which would otherwise
    race with (and could swallow) the ready line."""
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        url = board.serial.url.format(device=os.ttyname(slave), port=0)
        port = _open_port(stack, url, board, board.serial.baud)
        process = _spawn(stack, [str(image.resolve())], logs / "host.log", stdin=master, stdout=master)
    finally:
        os.close(master)  # the child holds it; its exit now hangs up the pty
        os.close(slave)  # pyserial has its own descriptor
    # the firmware restarts its image on SIGUSR1 (runtime/firmware/startup/host.c)
    return _Link(port, url, process, lambda: process.popen.send_signal(signal.SIGUSR1))


def _launch_openocd(board: Board, image: Path, stack: ExitStack, logs: Path, conn: Connection) -> _Link:
    """Open the port first: the board prints its ready line right after the
    flash tool resets it."""
    selected = resolve_port(board, conn)
    if selected is None:
        raise BoardError(
            f"{board.name}: no serial port: give --device, --serial-number or --vid-pid, "
            "or set serial.device / serial.usb_serial_number in the board file"
        )
    url = board.serial.url.format(device=selected.device, port=0) if not conn.device else selected.device
    port = _open_port(stack, url, board, conn.baud_for(board))
    _flash(board, image, logs, {"device": selected.device, "serial_number": selected.serial_number})
    return _Link(port, url, None)


def _attach(board: Board, image: Path, stack: ExitStack, logs: Path, conn: Connection, selected: SelectedPort) -> _Link:
    """A QEMU or host board somebody else runs (``--device URL``): nothing is
    launched. With a flash command the board is flashed (and so reset) and
    its ready line awaited; without, the firmware already running there must
    answer IDENTIFY with the plan's hash."""
    port = _open_port(stack, selected.device, board, conn.baud_for(board))
    _disable_nagle(port)
    flashed = _flash(board, image, logs, {"device": selected.device, "serial_number": selected.serial_number})
    return _Link(port, selected.device, None, ready_line=flashed)


def _launch_labgrid(board: Board, image: Path, stack: ExitStack, logs: Path, conn: Connection) -> _Link:
    """Acquire the place (released when the stack unwinds), open its exported
    port, flash with the board's flash command (``{place}``/``{coordinator}``
    let it call ``labgrid-client`` for the place's own flashing driver)."""
    place = stack.enter_context(acquired_place(board))
    port = _open_port(stack, place.url, board, conn.baud_for(board))
    _disable_nagle(port)
    flashed = _flash(
        board,
        image,
        logs,
        {
            "device": place.url,
            "serial_number": conn.serial_number or "",
            "place": place.place,
            "coordinator": place.coordinator,
        },
    )
    return _Link(port, place.url, None, ready_line=flashed)


def flash_argv(board: Board, image: Path, values: dict[str, str]) -> list[str]:
    """The board's flash command with ``{elf}`` and every ``{key}`` of ``values`` filled in."""
    fills = {"elf": str(image.resolve()), **values}
    argv = []
    for arg in board.launch.flash_command:
        for key, value in fills.items():
            arg = arg.replace("{" + key + "}", value)
        argv.append(arg)
    return argv


def _flash(board: Board, image: Path, logs: Path, values: dict[str, str]) -> bool:
    """Run the flash command, if the board has one; True when it ran."""
    if not board.launch.flash_command:
        return False
    argv = flash_argv(board, image, values)
    if shutil.which(argv[0]) is None:
        raise BoardError(f"{board.name}: flash tool '{argv[0]}' not found on PATH")
    log.info("%s: flashing %s", board.name, image)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=FLASH_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise BoardError(f"{board.name}: flashing did not finish within {FLASH_TIMEOUT:.0f} s ({argv[0]})") from None
    (logs / "flash.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-10:])
        raise BoardError(f"{board.name}: flashing failed ({argv[0]} exit {proc.returncode})\n{tail}")
    return True


def _identify_attached(client: FixpointClient, board: Board, expected_hash: str | None, within: float) -> IdentifyInfo:
    """IDENTIFY a board that was already running (or still booting): retried
    until ``within`` seconds have passed, since no ready line says when it listens."""
    deadline = time.monotonic() + within
    while True:
        try:
            return client.identify(expected_hash)
        except BoardTimeout:
            if time.monotonic() >= deadline:
                raise
            log.info("%s: no answer to IDENTIFY yet, trying again", board.name)


_LAUNCHERS: dict[str, Callable[[Board, Path, ExitStack, Path], _Link]] = {
    "qemu": _launch_qemu,
    "exec": _launch_host,
}


def _spawn(stack: ExitStack, argv: list[str], log_path: Path, **kwargs: object) -> BoardProcess:
    if shutil.which(argv[0]) is None:
        raise BoardError(f"cannot start '{argv[0]}': not found on PATH")
    process = BoardProcess(argv, log_path, **kwargs)  # type: ignore[arg-type]
    stack.callback(process.reap)
    return process


def _open_port(stack: ExitStack, url: str, board: Board, baud: int) -> serial.SerialBase:
    try:
        port = serial.serial_for_url(url, baudrate=baud, timeout=0.05)
    except (serial.SerialException, OSError) as exc:
        raise BoardError(f"{board.name}: cannot open serial port {url}: {exc}") from None
    stack.callback(port.close)
    return port


def _disable_nagle(port: serial.SerialBase) -> None:
    """Requests are small; send them now rather than after the peer's ACK."""
    sock = getattr(port, "_socket", None)
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# ---- ready line -------------------------------------------------------------------


def _wait_ready(
    port: serial.SerialBase,
    board: Board,
    timeout: float,
    liveness: Callable[[], str | None] | None,
    tail: Callable[[], str],
) -> None:
    """Read until ``FIXPOINT READY <board>\\n``; fail fast if the process dies."""
    want = READY_PREFIX + board.name.encode() + b"\n"
    seen = bytearray()
    deadline = time.monotonic() + timeout
    port.timeout = 0.05
    while time.monotonic() < deadline:
        try:
            seen += port.read(max(1, port.in_waiting))
        except serial.SerialException as exc:
            raise BoardCrashed(f"{board.name}: link lost before ready ({_death(liveness) or exc})", tail()) from None
        if want in seen:
            log.debug("%s: ready", board.name)
            return
        _reject_foreign_ready(seen, board)
        death = _death(liveness)
        if death:
            raise BoardCrashed(f"{board.name}: {death} before the ready line", tail())
        del seen[:-256]  # bounded: only the tail can still hold the line
    raise BoardTimeout(f"{board.name}: no ready line within {timeout:.1f} s (got {bytes(seen[-64:])!r})\n{tail()}")


def _reject_foreign_ready(seen: bytearray, board: Board) -> None:
    start = seen.find(READY_PREFIX)
    end = seen.find(b"\n", start) if start >= 0 else -1
    if end >= 0:
        other = seen[start + len(READY_PREFIX) : end].decode("ascii", errors="replace")
        raise BoardProtocolError(f"{board.name}: firmware reports board '{other}' -- wrong firmware?")


def _death(liveness: Callable[[], str | None] | None) -> str | None:
    return liveness() if liveness else None
