"""Protocol client (the labgrid "driver"): request/response over any pyserial
object, e.g. ``serial.serial_for_url("socket://127.0.0.1:4321")``,
``"/dev/ttyACM0"``, ``"loop://"`` or ``"spy://..."``.

Every transaction gets a fresh sequence number; responses with another
sequence number (late answers to an earlier attempt) are ignored. A
transaction is retried transparently, up to ``retries`` times, when the
response is corrupt, the board reports BAD_CRC, or nothing valid arrives
within ``timeout``; after the first timeout of a transaction the client pads
the link so that a half-received frame in the firmware's parser completes
and is rejected (the firmware has no inter-byte timeout).
"""
from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from typing import TypeVar

import serial

from . import protocol as p
from .errors import BoardCrashed, BoardProtocolError, BoardTimeout, WrongModel

log = logging.getLogger(__name__)

#: returns None while the board is alive, else a description of its death
Liveness = Callable[[], "str | None"]


T = TypeVar("T")
_DEATH_GRACE = 1.0   # seconds to wait for a process whose link dropped to exit


class _Transient(Exception):
    """A failed attempt that is worth retrying."""

    def __init__(self, reason: str, timed_out: bool) -> None:
        super().__init__(reason)
        self.timed_out = timed_out


class FixpointClient:
    """Talks to one board. Not thread-safe; one transaction at a time."""

    def __init__(self, port: serial.SerialBase, *, timeout: float = 2.0, run_timeout: float = 60.0,
                 retries: int = 3, max_payload: int = 1024, liveness: Liveness | None = None,
                 log_tail: Callable[[], str] | None = None, poll_interval: float = 0.05,
                 first_seq: int = 0) -> None:
        self.port = port
        self.timeout = timeout
        self.run_timeout = run_timeout
        self.retries = retries
        self.max_payload = max_payload
        self.info: p.IdentifyInfo | None = None
        self.attempts = 0              # total requests sent, for diagnostics and tests
        self._liveness = liveness
        self._log_tail = log_tail or (lambda: "")
        self._seq = first_seq & 0xFF
        self._decoder = p.FrameDecoder()
        port.timeout = poll_interval    # reads return after at most one poll slice
        port.write_timeout = timeout    # a stalled reader must not block us forever

    # ---- high-level commands ------------------------------------------------

    def identify(self, expected_hash: str | None = None) -> p.IdentifyInfo:
        """Who is there; raises WrongModel if ``expected_hash`` differs."""
        info = _parse(p.parse_identify, self._ok(p.Command.IDENTIFY))
        self.info = info
        self.max_payload = info.max_payload
        if expected_hash is not None and info.model_hash != expected_hash:
            raise WrongModel(f"board '{info.board_name}' runs model '{info.model_name}' "
                             f"(hash {info.model_hash[:16]}...), expected hash {expected_hash[:16]}...")
        return info

    def load_input(self, data: bytes, offset: int = 0) -> None:
        """Write ``data`` to the model input at ``offset``, in frame-sized chunks."""
        step = self.max_payload - 4
        for pos in range(0, len(data), step):
            chunk = bytes(data[pos: pos + step])
            self._ok(p.Command.LOAD_INPUT, p.load_input_payload(offset + pos, chunk))

    def run(self, timeout: float | None = None) -> p.RunResult:
        """Run one inference; raises BoardProtocolError if the model failed."""
        frame = self._ok(p.Command.RUN, timeout=timeout or self.run_timeout,
                         accept=(p.Status.OK, p.Status.MODEL_ERROR, p.Status.NOT_READY))
        result = _parse(p.parse_run, frame)
        if result.status != p.Status.OK:
            raise BoardProtocolError(f"RUN: {result.status.name}, model returned {result.model_rc}",
                                     status=int(result.status))
        return result

    def read_output(self, length: int | None = None, offset: int = 0) -> bytes:
        """Read ``length`` output bytes (default: all of them from ``offset``)."""
        if length is None:
            length = self._info().output_size - offset
        return self._read_region(p.Command.READ_OUTPUT, offset, length)

    def read_timing(self) -> p.TimingInfo:
        return _parse(p.parse_timing, self._ok(p.Command.READ_TIMING))

    def reset(self) -> None:
        """Re-initialise the model and clear input and timing statistics."""
        self._ok(p.Command.RESET)

    def ping(self, data: bytes = b"") -> bytes:
        return self._ok(p.Command.PING, data).payload[1:]

    def infer(self, data: bytes) -> tuple[bytes, p.RunResult]:
        """load_input + run + read_output."""
        self.load_input(data)
        result = self.run()
        return self.read_output(), result

    def run_layers(self, n: int, timeout: float | None = None) -> None:
        """Debug: run only the first ``n`` layers on the loaded input."""
        frame = self._ok(p.Command.RUN_LAYERS, struct.pack("<I", n), timeout=timeout or self.run_timeout,
                         accept=(p.Status.OK, p.Status.MODEL_ERROR, p.Status.NOT_READY))
        status, rc = p.Status(frame.payload[0]), struct.unpack_from("<i", frame.payload, 1)[0]
        if status != p.Status.OK:
            raise BoardProtocolError(f"RUN_LAYERS {n}: {status.name}, model returned {rc}", status=int(status))

    def read_arena(self, offset: int, length: int) -> bytes:
        """Debug: ``length`` bytes of the activation arena from ``offset``."""
        return self._read_region(p.Command.READ_ARENA, offset, length)

    def _read_region(self, command: int, offset: int, length: int) -> bytes:
        """READ_OUTPUT / READ_ARENA in frames of at most one payload each."""
        step = self.max_payload - 1
        out = bytearray()
        while len(out) < length:
            n = min(step, length - len(out))
            payload = p.read_output_payload(offset + len(out), n)
            out += self._ok(command, payload).payload[1:]
        return bytes(out)

    def close(self) -> None:
        self.port.close()

    # ---- transactions -------------------------------------------------------

    def transact(self, cmd: int, payload: bytes = b"", *, timeout: float | None = None) -> p.Frame:
        """Send one request and return its response frame, retrying as documented."""
        timeout = self.timeout if timeout is None else timeout
        name = _cmd_name(cmd)
        last: _Transient | None = None
        padded = False
        for attempt in range(self.retries + 1):
            if last is not None:
                log.info("%s: retry %d/%d after %s", name, attempt, self.retries, last)
            try:
                return self._attempt(cmd, payload, timeout)
            except _Transient as exc:
                last = exc
                # One padding completes any partial frame; more would only
                # queue up in front of the retries on a slow link.
                if exc.timed_out and not padded:
                    self._pad_link()
                    padded = True
        assert last is not None
        message = f"{name}: {last} (after {self.retries + 1} attempts, {timeout:.2f} s each)"
        raise BoardTimeout(message) if last.timed_out else BoardProtocolError(message)

    def _ok(self, cmd: int, payload: bytes = b"", *, timeout: float | None = None,
            accept: tuple[p.Status, ...] = (p.Status.OK,)) -> p.Frame:
        frame = self.transact(cmd, payload, timeout=timeout)
        if frame.status not in accept:
            status = _status_name(frame.status)
            raise BoardProtocolError(f"{_cmd_name(cmd)}: board answered {status}", status=frame.status)
        return frame

    def _attempt(self, cmd: int, payload: bytes, timeout: float) -> p.Frame:
        seq = self._seq
        self._seq = (self._seq + 1) & 0xFF
        self.attempts += 1
        self._write(p.encode_frame(seq, cmd, payload))
        frame = self._await(seq, cmd, time.monotonic() + timeout)
        if frame.status == p.Status.BAD_CRC:
            raise _Transient("board reported a CRC error", timed_out=False)
        return frame

    def _await(self, seq: int, cmd: int, deadline: float) -> p.Frame:
        want = cmd | p.RESPONSE_FLAG
        while True:
            if time.monotonic() >= deadline:
                raise _Transient("no response", timed_out=True)
            for event in self._decoder.feed(self._read_some()):
                if event.kind != "frame":
                    raise _Transient(f"corrupt response ({event.kind})", timed_out=False)
                frame = event.frame
                if frame.seq == seq and frame.cmd == want:
                    return frame
                if frame.is_response:
                    log.debug("ignoring stale response seq=%d cmd=0x%02x", frame.seq, frame.cmd)

    # ---- link I/O -------------------------------------------------------------

    def _read_some(self) -> bytes:
        try:
            data = self.port.read(1)
            waiting = self.port.in_waiting if data else 0
            if waiting:
                data += self.port.read(waiting)
        except serial.SerialException as exc:
            raise self._crashed(f"link lost ({exc})") from None
        if not data:
            self._check_alive()
        return data

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except serial.SerialTimeoutException:
            raise _Transient("write blocked", timed_out=True) from None
        except serial.SerialException as exc:
            raise self._crashed(f"link lost ({exc})") from None

    def _pad_link(self) -> None:
        """Complete whatever partial frame the firmware holds: it needs at most
        max_payload + overhead more bytes, and zeros contain no sync byte."""
        self._decoder.clear()
        try:
            self._write(bytes(self.max_payload + p.FRAME_OVERHEAD))
        except _Transient:
            log.debug("link padding blocked; the board is not reading")

    def _check_alive(self) -> None:
        if self._liveness is not None:
            death = self._liveness()
            if death is not None:
                raise self._crashed(death)

    def _crashed(self, what: str) -> BoardCrashed:
        """A dropped link usually means the process is exiting: give it a
        moment so the error can say how it ended (exit code, signal)."""
        if self._liveness is not None:
            deadline = time.monotonic() + _DEATH_GRACE
            while (death := self._liveness()) is None and time.monotonic() < deadline:
                time.sleep(0.02)
            what = death or what
        return BoardCrashed(f"board crashed: {what}", self._log_tail())

    def _info(self) -> p.IdentifyInfo:
        return self.info if self.info is not None else self.identify()


def _parse(parser: Callable[[bytes], T], frame: p.Frame) -> T:
    """Decode a response payload; a malformed one is a protocol error."""
    try:
        return parser(frame.payload)
    except (ValueError, struct.error) as exc:
        raise BoardProtocolError(f"{_cmd_name(frame.cmd & ~p.RESPONSE_FLAG)}: malformed response "
                                 f"({exc})") from None


def _cmd_name(cmd: int) -> str:
    try:
        return p.Command(cmd).name
    except ValueError:
        return f"command 0x{cmd:02x}"


def _status_name(status: int) -> str:
    try:
        return p.Status(status).name
    except ValueError:
        return f"status {status}"
