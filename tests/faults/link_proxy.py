"""A fault-injecting byte proxy between a FixpointClient and a real board.

    client --socket://127.0.0.1:N--> LinkProxy --board's own port--> firmware

The client talks to the proxy over a real TCP socket (pyserial
``socket://``); the proxy relays to the port the runner opened for the board
(the pty of the host board, the UART socket of a QEMU board) -- the session's
own client must stay idle meanwhile. Each direction has a pump thread that
cuts the byte stream into whole frames and other bytes (losslessly; frames
are recognised with ``FrameDecoder``) and, with a seeded RNG, damages frames:
a flipped bit, a dropped byte, the whole frame dropped or sent twice, a stall
(the frame and everything after it held for longer than the client's
timeout), and -- towards the board only -- a real board reset just before a
request is forwarded (mostly before RUN, i.e. between LOAD_INPUT and RUN).
Bytes that are not frames (the ready line, the client's link padding) pass
unchanged: damaging them tests nothing the frame faults do not.

Bounded: the proxy binds only 127.0.0.1, serves one client, holds at most
``MAX_HELD`` bytes per direction, stops by itself after ``max_seconds`` or
when either side goes away, and ``close()`` joins every thread it started.
"""

from __future__ import annotations

import logging
import random
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import final

import serial
from fixpoint.serial.protocol import (
    CRC_BYTES,
    HEADER_BYTES,
    RESPONSE_FLAG,
    SYNC,
    Command,
    Frame,
    FrameDecoder,
)

log = logging.getLogger(__name__)

UP, DOWN = "client->board", "board->client"
FRAME_FAULTS = ("bit_flip", "drop_byte", "drop_frame", "dup_frame", "stall")
RESET = "reset"
MAX_HELD = 1 << 20  # bytes held back per direction (stalls); beyond that they are dropped
_READ_SLICE = 0.02  # seconds a pump blocks in one read: bounds its reaction to stop()
_PARTIAL_FLUSH = 0.05  # seconds an incomplete frame may wait before it passes as raw bytes


@dataclass(frozen=True)
class FaultRates:
    """Probability per relayed frame of each fault (at most one fault per frame)."""

    bit_flip: float = 0.0
    drop_byte: float = 0.0
    drop_frame: float = 0.0
    dup_frame: float = 0.0
    stall: float = 0.0

    def get(self, kind: str) -> float:
        return float(getattr(self, kind))


@dataclass(frozen=True)
class FaultConfig:
    up: FaultRates = field(default_factory=FaultRates)  # client -> board
    down: FaultRates = field(default_factory=FaultRates)  # board -> client
    #: probability of a board reset just before a request with this command is forwarded
    reset_before: Mapping[int, float] = field(default_factory=dict)
    stall_seconds: float = 3.0
    seed: int = 0
    #: every this many frames of a direction, a fault kind that has not happened yet
    #: there is forced (where it applies), so that a short run still sees every kind
    force_every: int = 0
    max_seconds: float = 600.0


@dataclass(frozen=True)
class Segment:
    """A slice of the stream: a whole valid frame (``frame`` set) or other bytes."""

    data: bytes
    frame: Frame | None = None


class FrameSplitter:
    """Cuts a byte stream into frames and raw bytes without losing or reordering any."""

    def __init__(self, max_payload: int) -> None:
        self.max_payload = max_payload
        self._buf = bytearray()
        self._waiting_since: float | None = None

    def feed(self, data: bytes, now: float) -> list[Segment]:
        self._buf += data
        out: list[Segment] = []
        while (segment := self._next()) is not None:
            out.append(segment)
        if not self._buf:
            self._waiting_since = None
        elif self._waiting_since is None:
            self._waiting_since = now
        elif now - self._waiting_since > _PARTIAL_FLUSH:
            # the rest of this "frame" is not coming (damaged upstream, or not a frame)
            out.append(Segment(bytes(self._buf)))
            self._buf.clear()
            self._waiting_since = None
        return out

    def _next(self) -> Segment | None:
        buf = self._buf
        start = buf.find(SYNC)
        if start != 0:
            # bytes before a sync; keep a trailing A5, it may start the next sync
            end = start if start > 0 else len(buf) - (1 if buf.endswith(SYNC[:1]) else 0)
            return self._take(end) if end > 0 else None
        if len(buf) < HEADER_BYTES:
            return None
        length = int.from_bytes(buf[2:4], "little")
        if length > self.max_payload:
            return self._take(1)
        total = HEADER_BYTES + length + CRC_BYTES
        if len(buf) < total:
            return None
        events = list(FrameDecoder(self.max_payload).feed(bytes(buf[:total])))
        if len(events) == 1 and events[0].kind == "frame":
            return self._take(total, events[0].frame)
        return self._take(1)  # bad CRC: a sync inside other bytes; move on by one byte

    def _take(self, n: int, frame: Frame | None = None) -> Segment:
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return Segment(data, frame)


class FaultStats:
    """Thread-safe counts of injected faults per (direction, kind)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self.frames: Counter[str] = Counter()  # frames relayed per direction
        self.resets_before: Counter[str] = Counter()  # resets by the command that followed

    def add(self, direction: str, kind: str) -> None:
        with self._lock:
            self._counts[(direction, kind)] += 1

    def count(self, kind: str, direction: str | None = None) -> int:
        with self._lock:
            return sum(n for (d, k), n in self._counts.items() if k == kind and direction in (None, d))

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())


class _Injector:
    """Decides, per frame, which fault (if any) to inject."""

    def __init__(
        self,
        direction: str,
        rates: FaultRates,
        config: FaultConfig,
        stats: FaultStats,
        rng: random.Random,
        armed: threading.Event,
    ) -> None:
        self.direction = direction
        self.armed = armed
        self.rates = rates
        self.config = config
        self.stats = stats
        self.rng = rng
        self.frames = 0

    def choose(self, frame: Frame) -> str | None:
        if not self.armed.is_set():
            return None
        self.frames += 1
        options = self._options(frame)
        forced = self._forced(options, frame)
        if forced is not None:
            return forced
        draw = self.rng.random()
        for kind, rate in options.items():
            if draw < rate:
                return kind
            draw -= rate
        return None

    def _options(self, frame: Frame) -> dict[str, float]:
        options = {kind: self.rates.get(kind) for kind in FRAME_FAULTS if self.rates.get(kind) > 0}
        if self.direction == UP and not frame.cmd & RESPONSE_FLAG:
            reset = self.config.reset_before.get(frame.cmd, 0.0)
            if reset > 0:
                options[RESET] = reset
        return options

    def _forced(self, options: dict[str, float], frame: Frame) -> str | None:
        every = self.config.force_every
        if not every or self.frames % every:
            return None
        missing = [kind for kind in options if kind != RESET and self.stats.count(kind, self.direction) == 0]
        # the reset to force is the one the run is about: before RUN, normally
        main = self._main_reset_command()
        if RESET in options and frame.cmd == main and not self.stats.resets_before[_cmd_name(main)]:
            missing.append(RESET)
        return missing[0] if missing else None

    def _main_reset_command(self) -> int | None:
        rates = self.config.reset_before
        return max(rates, key=lambda cmd: rates[cmd]) if rates else None


def damage(kind: str, data: bytes, rng: random.Random) -> bytes:
    """The bytes that go out instead of ``data`` for a frame fault."""
    if kind == "bit_flip":
        out = bytearray(data)
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        return bytes(out)
    if kind == "drop_byte":
        i = rng.randrange(len(data))
        return data[:i] + data[i + 1 :]
    if kind == "drop_frame":
        return b""
    if kind == "dup_frame":
        return data + data
    return data  # stall and reset delay or disturb, but deliver the frame intact


def _cmd_name(cmd: int) -> str:
    try:
        return Command(cmd & ~RESPONSE_FLAG).name
    except ValueError:
        return f"0x{cmd:02x}"


class _Relay:
    """One direction: read, cut into segments, damage, hold (stalls), write."""

    def __init__(
        self,
        direction: str,
        read: Callable[[], bytes | None],
        write: Callable[[bytes], None],
        injector: _Injector,
        max_payload: int,
        proxy: LinkProxy,
    ) -> None:
        self.direction = direction
        self.read = read
        self.write = write
        self.injector = injector
        self.splitter = FrameSplitter(max_payload)
        self.proxy = proxy
        self.held = bytearray()
        self.hold_until = 0.0

    def run(self) -> None:
        proxy = self.proxy
        try:
            while not proxy.stopping.is_set() and time.monotonic() < proxy.deadline:
                data = self.read()
                if data is None:
                    log.debug("%s: the source closed", self.direction)
                    break
                if data and self.direction == DOWN:
                    proxy.watch_ready(data)
                for segment in self.splitter.feed(data, time.monotonic()):
                    self._relay(segment)
                self._flush()
        except (OSError, serial.SerialException) as exc:
            log.info("%s: link lost (%s)", self.direction, exc)
        finally:
            proxy.stopping.set()  # one side gone: nothing left to relay

    def _relay(self, segment: Segment) -> None:
        if segment.frame is None:
            self._emit(segment.data)
            return
        self.proxy.stats.frames[self.direction] += 1  # one writer per key
        kind = self.injector.choose(segment.frame)
        if kind is None:
            self._emit(segment.data)
            return
        self.proxy.stats.add(self.direction, kind)
        log.debug("%s: %s on %s seq=%d", self.direction, kind, _cmd_name(segment.frame.cmd), segment.frame.seq)
        if kind == "stall":
            self.hold_until = max(self.hold_until, time.monotonic() + self.proxy.config.stall_seconds)
        elif kind == RESET:
            self._flush()  # what came before the reset reaches the old firmware
            self.proxy.reset_board(segment.frame.cmd)
        self._emit(damage(kind, segment.data, self.injector.rng))

    def _emit(self, data: bytes) -> None:
        if len(self.held) + len(data) > MAX_HELD:
            log.warning("%s: more than %d bytes held, dropping %d", self.direction, MAX_HELD, len(data))
            self.proxy.stats.add(self.direction, "overflow")
            return
        self.held += data

    def _flush(self) -> None:
        if self.held and time.monotonic() >= self.hold_until:
            data, self.held = bytes(self.held), bytearray()
            self.write(data)


@final
class LinkProxy:
    """Relays between one client (``connect()``) and ``board_port``, injecting faults.

    ``reset`` resets the board without waiting (``BoardSession.reset_board``
    with ``wait_ready=False``); the proxy then waits for ``ready_line`` on the
    board's side before it forwards anything more, because a QEMU UART drops
    bytes until the rebooted firmware has enabled its receiver.
    """

    def __init__(
        self,
        board_port: serial.SerialBase,
        config: FaultConfig,
        *,
        max_payload: int,
        reset: Callable[[], None] | None = None,
        ready_line: bytes = b"",
        ready_timeout: float = 30.0,
    ) -> None:
        self.board_port = board_port
        self.config = config
        self.max_payload = max_payload
        self.stats = FaultStats()
        self.stopping = threading.Event()
        self.deadline = time.monotonic() + config.max_seconds
        self._reset = reset
        self._ready_line = ready_line
        self._ready_timeout = ready_timeout
        self._ready = threading.Event()
        self._armed = threading.Event()
        self._tail = bytearray()
        self._rng = random.Random(config.seed)
        self._saved = (board_port.timeout, board_port.write_timeout)
        self._threads: list[threading.Thread] = []
        self._conn: socket.socket | None = None
        self._client_port: serial.SerialBase | None = None
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self.url = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> LinkProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> serial.SerialBase:
        """Open the client's end of the link (pyserial ``socket://``) and start relaying."""
        if self._client_port is not None:
            raise RuntimeError("the proxy serves one client")
        self._client_port = serial.serial_for_url(self.url, timeout=0.05)
        _nodelay(getattr(self._client_port, "_socket", None))
        self._listener.settimeout(10.0)
        self._conn, _ = self._listener.accept()
        self._conn.settimeout(5.0)  # bounds a send to a client that stopped reading
        _nodelay(self._conn)
        self.board_port.timeout = _READ_SLICE
        self.board_port.write_timeout = 5.0
        self._start(UP, self._read_client, self._write_board)
        self._start(DOWN, self._read_board, self._write_client)
        return self._client_port

    def close(self) -> None:
        """Stop relaying, join the pumps, close the client's end; the board port stays open."""
        self.stopping.set()
        for thread in self._threads:
            thread.join()
        for handle in (self._client_port, self._conn, self._listener):
            if handle is not None:
                handle.close()
        self.board_port.timeout, self.board_port.write_timeout = self._saved

    def arm(self) -> None:
        """Start injecting faults (the link is clean until then, e.g. for IDENTIFY)."""
        self._armed.set()

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    # ---- resets (called from the client->board pump) ---------------------------

    def reset_board(self, before: int) -> None:
        if self._reset is None:
            raise RuntimeError("reset faults need a reset callback")
        self.stats.resets_before[_cmd_name(before)] += 1
        self._ready.clear()
        self._reset()
        deadline = time.monotonic() + self._ready_timeout
        while not self._ready.wait(0.05):
            if self.stopping.is_set() or time.monotonic() > deadline:
                log.warning("no ready line within %.1f s of a reset", self._ready_timeout)
                return

    def watch_ready(self, data: bytes) -> None:
        """Called with every byte from the board, before any damage."""
        if not self._ready_line:
            return
        self._tail += data
        if self._ready_line in self._tail:
            self._ready.set()
            self._tail.clear()
        else:
            del self._tail[: -len(self._ready_line)]

    # ---- the two ends ------------------------------------------------------------

    def _start(self, direction: str, read: Callable[[], bytes | None], write: Callable[[bytes], None]) -> None:
        rates = self.config.up if direction == UP else self.config.down
        injector = _Injector(
            direction, rates, self.config, self.stats, random.Random(self._rng.getrandbits(64)), self._armed
        )
        relay = _Relay(direction, read, write, injector, self.max_payload, self)
        thread = threading.Thread(target=relay.run, name=f"link-proxy {direction}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _read_client(self) -> bytes | None:
        assert self._conn is not None
        ready, _, _ = select.select([self._conn], [], [], _READ_SLICE)
        if not ready:
            return b""
        data = self._conn.recv(65536)
        return data or None  # b"": the client closed its end

    def _write_client(self, data: bytes) -> None:
        assert self._conn is not None
        self._conn.sendall(data)

    def _read_board(self) -> bytes | None:
        port = self.board_port
        data = port.read(1)
        waiting = port.in_waiting if data else 0
        return data + port.read(waiting) if waiting else data

    def _write_board(self, data: bytes) -> None:
        try:
            self.board_port.write(data)
        except serial.SerialTimeoutException:
            # the firmware did not read for seconds: its loss, like a UART overrun
            log.warning("%s: write to the board timed out, bytes lost", UP)
            self.stats.add(UP, "overflow")


def _nodelay(sock: socket.socket | None) -> None:
    """Frames are small; send them now rather than after the peer's ACK."""
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
