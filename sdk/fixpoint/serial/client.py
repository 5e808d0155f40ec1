"""Protocol client (the labgrid "driver"): request/response over any pyserial
object, e.g. ``serial.serial_for_url("socket://127.0.0.1:4321")``,
``"/dev/ttyACM0"``, ``"loop://"`` or ``"spy://..."``.

A result is either what was asked for or an exception (docs/serial-protocol.md,
"Exactness"):

* the client keeps a copy of the input it loaded; RUN names its CRC-32 and a
  fresh token, the board refuses a RUN whose input is no longer intact
  (INPUT_STALE, e.g. overwritten by the arena or cleared by a reset) and the
  client reloads before running again;
* READ_OUTPUT names the run's token and the board refuses it (OUTPUT_STALE)
  unless its output still belongs to that run; the data comes back with the
  token and offset echoed, and the client checks both;
* every response carries the session id the client set after IDENTIFY; a
  board that was reset answers with session 0, and the client resumes: a new
  session, the input reloaded, the sample run again (``stats.resets_detected``);
* a lost or garbled RUN response is recovered by polling RUN_STATUS after one
  link ``timeout``, so it costs a link timeout, not ``run_timeout``.

Transactions are retried transparently, up to ``retries`` times, when the
response is corrupt, the board reports a damaged frame (BAD_CRC,
FRAME_TOO_LONG), or nothing valid arrives within ``timeout``; after the first
timeout of a transaction the client pads the link so that a half-received
frame in the firmware's parser completes and is rejected (the firmware has no
inter-byte timeout).
"""

from __future__ import annotations

import logging
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import serial

from . import protocol as p
from .errors import BoardProtocolError, BoardReset, BoardTimeout, WrongModel
from .link import Link, Liveness
from .link import Transient as _Transient

log = logging.getLogger(__name__)

T = TypeVar("T")
_NO_SESSION_CHECK = (p.Command.IDENTIFY, p.Command.SESSION)


@dataclass
class LinkStats:
    """What the client did to keep results exact; for reports and tests."""

    requests: int = 0  # frames sent
    retries: int = 0  # requests sent again after a transient failure
    polls: int = 0  # RUN_STATUS polls after a silent or garbled RUN
    reloads: int = 0  # inputs sent again because the board's copy was stale
    reruns: int = 0  # runs repeated because the output was stale or lost
    resets_detected: int = 0  # responses that showed the board had been reset
    transfer_seconds: float = 0.0  # time infer() spent loading inputs and reading outputs
    staged_runs: int = 0  # samples run double-buffered (LOAD_NEXT / RUN_NEXT, serial/staged.py)
    staging_fallbacks: int = 0  # samples that fell back to the plain path (stale staging, lost answer)


class OutputStale(BoardProtocolError):
    """READ_OUTPUT refused: the board's output is no longer that of the run."""


class FixpointClient:
    """Talks to one board. Not thread-safe; one transaction at a time."""

    def __init__(
        self,
        port: serial.SerialBase,
        *,
        timeout: float = 2.0,
        run_timeout: float = 60.0,
        retries: int = 3,
        max_payload: int = 1024,
        liveness: Liveness | None = None,
        log_tail: Callable[[], str] | None = None,
        poll_interval: float = 0.05,
        first_seq: int = 0,
    ) -> None:
        self.port = port
        self._link = Link(
            port, liveness=liveness, log_tail=log_tail, poll_interval=poll_interval, write_timeout=timeout
        )
        self.timeout = timeout
        self.run_timeout = run_timeout
        self.inline_output = b""  # the output a RUN_NEXT response carried (serial/staged.py)
        self.retries = retries
        self.max_payload = max_payload
        self.info: p.IdentifyInfo | None = None
        self.stats = LinkStats()
        self.session = 0  # the id the board echoes; 0 = not set (no check)
        self._seq = first_seq & 0xFF
        self._token = 0
        self._input: bytearray | None = None  # what the board's input should hold
        self._last_run: p.RunResult | None = None
        # Bounded by max_payload: a response whose length field took a bit flip is
        # rejected at once instead of swallowing the responses behind it.
        self._decoder = p.FrameDecoder(max_payload)

    @property
    def attempts(self) -> int:
        """Total requests sent (diagnostics and tests)."""
        return self.stats.requests

    # ---- session ------------------------------------------------------------

    def identify(self, expected_hash: str | None = None) -> p.IdentifyInfo:
        """Who is there; starts a session. Raises WrongModel if ``expected_hash`` differs."""
        info = _parse(p.parse_identify, self._ok(p.Command.IDENTIFY))
        self.info = info
        self.max_payload = self._decoder.max_payload = info.max_payload
        if expected_hash is not None and info.model_hash != expected_hash:
            raise WrongModel(
                f"board '{info.board_name}' runs model '{info.model_name}' "
                f"(hash {info.model_hash[:16]}...), expected hash {expected_hash[:16]}..."
            )
        if self._input is None or len(self._input) != info.input_size:
            self._input = bytearray(info.input_size)
        self.open_session()
        return info

    def open_session(self) -> int:
        """Give the board a fresh random session id; every later response must echo it."""
        session = int.from_bytes(os.urandom(4), "little") or 1
        frame = self._ok(p.Command.SESSION, struct.pack("<I", session))
        if frame.session != session:
            raise BoardProtocolError(f"SESSION: board echoed session {frame.session}, expected {session}")
        self.session = session
        return session

    def _resume_after_reset(self, exc: BoardReset) -> None:
        self.stats.resets_detected += 1
        log.warning("%s; resuming with a new session", exc)
        self._last_run = None
        self.open_session()

    # ---- input, run, output -------------------------------------------------

    def load_input(self, data: bytes, offset: int = 0) -> None:
        """Write ``data`` to the model input at ``offset``, in frame-sized chunks.

        The client remembers the whole input (bytes never loaded count as
        zero); RUN proves the board holds exactly that.
        """
        shadow = self._shadow()
        if offset < 0 or offset + len(data) > len(shadow):
            raise BoardProtocolError(
                f"LOAD_INPUT: {len(data)} bytes at offset {offset} do not fit the model input of {len(shadow)} bytes"
            )
        shadow[offset : offset + len(data)] = data
        try:
            self._send_input(offset, len(data))
        except BoardReset as exc:
            self._resume_after_reset(exc)
            self._send_input(0, len(shadow))

    def _send_input(self, offset: int, length: int) -> None:
        shadow = self._shadow()
        step = self.max_payload - 4
        for pos in range(offset, offset + length, step):
            chunk = bytes(shadow[pos : min(pos + step, offset + length)])
            self._ok(p.Command.LOAD_INPUT, p.load_input_payload(pos, chunk))

    def _reload(self) -> None:
        self.stats.reloads += 1
        self._send_input(0, len(self._shadow()))

    def run(self, timeout: float | None = None) -> p.RunResult:
        """Run one inference on the loaded input; raises BoardProtocolError if the
        model failed, BoardTimeout if no outcome arrives within ``timeout``
        (default ``run_timeout``)."""
        crc = p.crc32(bytes(self._shadow()))
        last = "no attempt"
        # At least two rounds: a stale input is reloaded once even with retries=0.
        for _ in range(max(2, self.retries + 1)):
            try:
                result = self._run_once(crc, timeout or self.run_timeout)
            except BoardReset as exc:
                self._resume_after_reset(exc)
                self._reload()
                last = str(exc)
                continue
            if result.status == p.Status.INPUT_STALE:
                log.debug("RUN: the board's input is stale; reloading")
                self._reload()
                last = "the board's input kept changing"
                continue
            if result.status != p.Status.OK:
                raise BoardProtocolError(
                    f"RUN: {result.status.name}, model returned {result.model_rc}", status=int(result.status)
                )
            if result.input_crc != crc:
                raise BoardProtocolError(f"RUN: board ran on input CRC {result.input_crc:08x}, expected {crc:08x}")
            self._last_run = result
            return result
        raise BoardProtocolError(f"RUN: no run on the intended input after {self.retries + 1} attempts ({last})")

    def read_output(self, length: int | None = None, offset: int = 0) -> bytes:
        """Read ``length`` output bytes (default: all of them from ``offset``) of the last run."""
        if self._last_run is None:
            raise OutputStale("READ_OUTPUT: no completed run to read the output of")
        if length is None:
            length = self._info().output_size - offset
        token = self._last_run.token
        prefix = struct.pack("<I", token)
        try:
            return self._read_region(p.Command.READ_OUTPUT, offset, length, prefix)
        except OutputStale:
            self._last_run = None
            raise

    def infer(self, data: bytes) -> tuple[bytes, p.RunResult]:
        """load_input + run + read_output: the output of exactly ``data``, or an exception."""
        start = time.perf_counter()
        self.load_input(data)
        self.stats.transfer_seconds += time.perf_counter() - start
        last: Exception | None = None
        for _ in range(self.retries + 1):
            try:
                result = self.run()
                start = time.perf_counter()
                output = self.read_output()
                self.stats.transfer_seconds += time.perf_counter() - start
                return output, result
            except BoardReset as exc:
                self._resume_after_reset(exc)
                last = exc
            except OutputStale as exc:
                last = exc
            self.stats.reruns += 1
        raise BoardProtocolError(f"no intact output after {self.retries + 1} runs ({last})")

    def read_timing(self) -> p.TimingInfo:
        return _parse(p.parse_timing, self._ok(p.Command.READ_TIMING))

    def reset(self) -> None:
        """Re-initialise the model and clear input and timing statistics."""
        self._ok(p.Command.RESET)
        self._input = bytearray(len(self._shadow()))
        self._last_run = None

    def ping(self, data: bytes = b"") -> bytes:
        return self._ok(p.Command.PING, data).body

    def run_layers(self, n: int, timeout: float | None = None) -> None:
        """Debug: run only the first ``n`` layers on the loaded input (reloaded when stale)."""
        crc = p.crc32(bytes(self._shadow()))
        self._last_run = None
        for _ in range(self.retries + 1):
            frame = self._ok(
                p.Command.RUN_LAYERS,
                p.run_layers_payload(n, crc),
                timeout=timeout or self.run_timeout,
                accept=(p.Status.OK, p.Status.MODEL_ERROR, p.Status.NOT_READY, p.Status.INPUT_STALE),
            )
            status = p.Status(frame.status)
            if status == p.Status.INPUT_STALE:
                self._reload()
                continue
            if status != p.Status.OK:
                rc = struct.unpack_from("<i", frame.body)[0]
                raise BoardProtocolError(f"RUN_LAYERS {n}: {status.name}, model returned {rc}", status=int(status))
            return
        raise BoardProtocolError(f"RUN_LAYERS {n}: the board's input kept changing")

    def read_arena(self, offset: int, length: int) -> bytes:
        """Debug: ``length`` bytes of the activation arena from ``offset``."""
        return self._read_region(p.Command.READ_ARENA, offset, length, b"")

    def _read_region(self, command: int, offset: int, length: int, prefix: bytes) -> bytes:
        """READ_OUTPUT / READ_ARENA in frames of at most one payload each; the
        response echoes ``prefix`` (the run token) and the offset, checked here."""
        step = self.max_payload - p.region_overhead(len(prefix))
        out = bytearray()
        while len(out) < length:
            n = min(step, length - len(out))
            at = offset + len(out)
            frame = self._ok(command, prefix + p.read_arena_payload(at, n), accept=(p.Status.OK, p.Status.OUTPUT_STALE))
            if frame.status == p.Status.OUTPUT_STALE:
                raise OutputStale(
                    f"{_cmd_name(command)}: the board's output is no longer that of the last run", status=frame.status
                )
            body = frame.body
            echo = prefix + struct.pack("<I", at)
            if body[: len(echo)] != echo or len(body) != len(echo) + n:
                raise BoardProtocolError(
                    f"{_cmd_name(command)}: response for another request ({len(body)} bytes, expected {len(echo) + n})"
                )
            out += body[len(echo) :]
        return bytes(out)

    def close(self) -> None:
        self._link.close()

    # ---- RUN with lost-response recovery ---------------------------------------

    def _run_once(self, crc: int, run_timeout: float) -> p.RunResult:
        """Send RUN and wait for its outcome. When the link is silent for one
        ``timeout`` (or a response arrives garbled), ask RUN_STATUS: if the board
        ran this token, that is the outcome; if not, the RUN never arrived and
        is sent again (the board's CRC check makes that safe)."""
        self._token = (self._token + 1) & 0xFFFFFFFF or 1
        token = self._token
        payload = p.run_payload(token, crc)
        deadline = time.monotonic() + run_timeout + self.timeout
        sends = 0
        while sends <= self.retries:
            sends += 1
            if sends > 1:
                self.stats.retries += 1
            try:
                seq = self._send(p.Command.RUN, payload)
            except _Transient:
                continue
            outcome = self._await_run(seq, token, deadline)
            if outcome is not None:
                return outcome
        raise BoardTimeout(f"RUN: no outcome (after {sends} attempts)")

    def _await_run(self, run_seq: int, token: int, deadline: float, cmd: int = p.Command.RUN) -> p.RunResult | None:
        """The outcome of RUN (or RUN_NEXT) ``run_seq``, or None when it must be sent again.
        A RUN_NEXT response's inline output is left in ``self.inline_output``."""
        want = {run_seq: cmd}
        self.inline_output = b""
        interval, padded = self.timeout, False
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise BoardTimeout(f"RUN: no response within {self.run_timeout:.2f} s (+ one link timeout)")
            try:
                frame = self._await(want, min(deadline, now + interval))
            except _Transient:
                frame = None  # garbled: perhaps our answer; ask
            if frame is not None and frame.cmd == cmd | p.RESPONSE_FLAG:
                if frame.status in p.TRANSIENT_STATUSES:
                    return None  # the board never saw an intact RUN
                if cmd == p.Command.RUN_NEXT:
                    result, self.inline_output = _parse(p.parse_run_next, frame)
                    return result
                return _parse(p.parse_run, frame)
            if frame is not None and frame.status in p.TRANSIENT_STATUSES:
                frame = None  # the poll itself was damaged
            if frame is not None:  # a RUN_STATUS answer
                if frame.status != p.Status.OK:
                    raise BoardProtocolError(
                        f"RUN_STATUS: board answered {_status_name(frame.status)}", status=frame.status
                    )
                last = _parse(p.parse_run_status, frame)
                if last.token == token:
                    return last
                return None  # ours never ran: the request was lost
            if frame is None and interval > self.timeout and not padded:
                self._pad_link()  # a poll went unanswered too
                padded = True
            self.stats.polls += 1
            try:
                want[self._send(p.Command.RUN_STATUS, b"")] = p.Command.RUN_STATUS
            except _Transient:
                log.debug("RUN_STATUS poll blocked; the board is busy or not reading")
            interval *= 2  # a long run is not flooded with polls

    # ---- transactions -------------------------------------------------------

    def transact(self, cmd: int, payload: bytes = b"", *, timeout: float | None = None) -> p.Frame:
        """Send one request and return its response frame, retrying as documented."""
        timeout = self.timeout if timeout is None else timeout
        name = _cmd_name(cmd)
        last: _Transient | None = None
        padded = False
        for attempt in range(self.retries + 1):
            if last is not None:
                self.stats.retries += 1
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

    def _ok(
        self,
        cmd: int,
        payload: bytes = b"",
        *,
        timeout: float | None = None,
        accept: tuple[p.Status, ...] = (p.Status.OK,),
    ) -> p.Frame:
        frame = self.transact(cmd, payload, timeout=timeout)
        if frame.status not in accept:
            status = _status_name(frame.status)
            raise BoardProtocolError(f"{_cmd_name(cmd)}: board answered {status}", status=frame.status)
        return frame

    def _attempt(self, cmd: int, payload: bytes, timeout: float) -> p.Frame:
        seq = self._send(cmd, payload)
        frame = self._await({seq: cmd}, time.monotonic() + timeout)
        if frame is None:
            raise _Transient("no response", timed_out=True)
        if frame.status in p.TRANSIENT_STATUSES:
            raise _Transient(f"board reported {_status_name(frame.status)}", timed_out=False)
        return frame

    def _send(self, cmd: int, payload: bytes) -> int:
        seq = self._seq
        self._seq = (self._seq + 1) & 0xFF
        self.stats.requests += 1
        self._link.write(p.encode_frame(seq, cmd, payload))
        return seq

    def _await(self, want: dict[int, int], deadline: float) -> p.Frame | None:
        """The first response to one of ``want`` ({seq: cmd}), or None at ``deadline``.

        Raises _Transient when a corrupt frame arrived and no answer followed it
        in the same read (it may have been ours: resend now rather than wait),
        and BoardReset on a foreign session.
        """
        while time.monotonic() < deadline:
            corrupt = None
            for event in self._decoder.feed(self._link.read_some()):
                if event.kind != "frame":
                    corrupt = event.kind  # perhaps a late answer to an earlier request
                    continue
                frame = event.frame
                cmd = want.get(frame.seq)
                if cmd is not None and frame.cmd == cmd | p.RESPONSE_FLAG:
                    self._check_session(cmd, frame)
                    return frame
                if cmd is not None and frame.status in p.TRANSIENT_STATUSES:
                    # Our request arrived damaged in its command byte: the board
                    # echoes what it parsed. Still a request to send again.
                    raise _Transient(f"board reported {_status_name(frame.status)}", timed_out=False)
                if frame.is_response:
                    log.debug("ignoring stale response seq=%d cmd=0x%02x", frame.seq, frame.cmd)
            if corrupt is not None:
                raise _Transient(f"corrupt response ({corrupt})", timed_out=False)
        return None

    def _check_session(self, cmd: int, frame: p.Frame) -> None:
        if frame.session is None:
            raise _Transient("response without a session", timed_out=False)
        if self.session and cmd not in _NO_SESSION_CHECK and frame.session != self.session:
            raise BoardReset(
                f"{_cmd_name(cmd)}: the board was reset (session {frame.session}, expected {self.session})"
            )

    def _pad_link(self) -> None:
        self._decoder.clear()
        self._link.pad(self.max_payload + p.FRAME_OVERHEAD)

    def _info(self) -> p.IdentifyInfo:
        return self.info if self.info is not None else self.identify()

    def _shadow(self) -> bytearray:
        if self._input is None:
            self._info()
        assert self._input is not None
        return self._input


def _parse(parser: Callable[[p.Frame], T], frame: p.Frame) -> T:
    """Decode a response; a malformed one is a protocol error naming the command."""
    try:
        return parser(frame)
    except (ValueError, struct.error) as exc:
        name = _cmd_name(frame.cmd & ~p.RESPONSE_FLAG)
        raise BoardProtocolError(f"{name}: malformed response ({exc})") from None


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
