"""Wire format of the Fixpoint serial protocol (docs/serial-protocol.md).

Pure data: frame encoding, a resynchronising stream decoder (the Python twin
of runtime/firmware/fw_frame.c) and the payload layouts of each response.
"""

from __future__ import annotations

import enum
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

SYNC = b"\xa5\x5a"
HEADER_BYTES = 6  # sync(2) len(2) seq(1) cmd(1)
CRC_BYTES = 4
FRAME_OVERHEAD = HEADER_BYTES + CRC_BYTES
PROTOCOL_VERSION = 2
RESPONSE_FLAG = 0x80
RESPONSE_HEADER = 5  # every response payload: status u8 | session u32
READY_PREFIX = b"FIXPOINT READY "


class Command(enum.IntEnum):
    IDENTIFY = 0x01
    LOAD_INPUT = 0x02
    RUN = 0x03
    READ_OUTPUT = 0x04
    READ_TIMING = 0x05
    RESET = 0x06
    PING = 0x07
    RUN_LAYERS = 0x08  # debug read-back: run layers [0, n) only
    READ_ARENA = 0x09  # debug read-back: arena bytes
    RUN_STATUS = 0x0A  # outcome of the last executed RUN (lost-response recovery)
    SESSION = 0x0B  # set the session id echoed in every response
    LOAD_NEXT = 0x0C  # double buffering: into the staging buffer (IDENTIFY flag bit 1)
    RUN_NEXT = 0x0D  # staging -> input, RUN; the response carries the output
    STATE_RESET = 0x0E  # streaming (IDENTIFY flag bit 2): recurrent state back to its initial value
    STEP = 0x0F  # streaming: one step at a given stream index; output and state inline
    READ_STATE = 0x10  # streaming: recurrent state bytes


class Status(enum.IntEnum):
    OK = 0
    BAD_CRC = 1
    UNKNOWN_COMMAND = 2
    BAD_LENGTH = 3
    BAD_RANGE = 4
    MODEL_ERROR = 5
    NOT_READY = 6
    INPUT_STALE = 7  # RUN: the board's input no longer has the named CRC
    OUTPUT_STALE = 8  # READ_OUTPUT: the output is not that of the named run
    FRAME_TOO_LONG = 9  # header length above max_payload; CRC unchecked


#: Statuses that say the frame did not arrive intact: the request is sent again.
TRANSIENT_STATUSES = frozenset({Status.BAD_CRC, Status.FRAME_TOO_LONG})


class CounterUnit(enum.IntEnum):
    INSTRUCTIONS = 0
    CYCLES = 1
    NANOSECONDS = 2


def crc32(data: bytes) -> int:
    """CRC-32/IEEE, as zlib computes it."""
    return zlib.crc32(data) & 0xFFFFFFFF


@dataclass(frozen=True)
class Frame:
    seq: int
    cmd: int
    payload: bytes

    @property
    def is_response(self) -> bool:
        return bool(self.cmd & RESPONSE_FLAG)

    @property
    def status(self) -> int:
        """First payload byte of a response (-1 if the payload is empty)."""
        return self.payload[0] if self.payload else -1

    @property
    def session(self) -> int | None:
        """The session id a response carries (None if the payload is too short)."""
        if len(self.payload) < RESPONSE_HEADER:
            return None
        return struct.unpack_from("<I", self.payload, 1)[0]

    @property
    def body(self) -> bytes:
        """A response's payload after status and session."""
        return self.payload[RESPONSE_HEADER:]


def encode_frame(seq: int, cmd: int, payload: bytes = b"") -> bytes:
    """One frame: A5 5A | len u16 | seq | cmd | payload | crc32 over len..payload."""
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload of {len(payload)} bytes does not fit a frame")
    body = struct.pack("<HBB", len(payload), seq & 0xFF, cmd & 0xFF) + payload
    return SYNC + body + struct.pack("<I", crc32(body))


@dataclass(frozen=True)
class DecodeEvent:
    """What the decoder found: a good frame, or a rejected one (kind != "frame")."""

    kind: str  # "frame" | "bad_crc" | "bad_length"
    frame: Frame  # for rejects: seq/cmd from the header, payload empty


class FrameDecoder:
    """Byte-stream to frames, surviving garbage, truncation and oversized frames.

    Same algorithm as the firmware: hunt for A5 5A, read the header, reject a
    length above ``max_payload`` immediately, check the CRC, and after any
    reject continue from the byte after the rejected frame's first sync byte,
    so a good frame hidden inside the rejected bytes is still found.
    """

    def __init__(self, max_payload: int = 0xFFFF) -> None:
        self.max_payload = max_payload
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held back, waiting for the rest of a frame."""
        return len(self._buf)

    def clear(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes) -> Iterator[DecodeEvent]:
        self._buf += data
        while True:
            event = self._next_event()
            if event is None:
                return
            yield event

    def _next_event(self) -> DecodeEvent | None:
        buf = self._buf
        start = buf.find(SYNC)
        if start < 0:
            # keep a trailing A5: it may be the first half of the next sync
            del buf[: len(buf) - 1 if buf.endswith(SYNC[:1]) else len(buf)]
            return None
        del buf[:start]
        if len(buf) < HEADER_BYTES:
            return None
        length, seq, cmd = struct.unpack_from("<HBB", buf, 2)
        if length > self.max_payload:
            del buf[:1]
            return DecodeEvent("bad_length", Frame(seq, cmd, b""))
        total = HEADER_BYTES + length + CRC_BYTES
        if len(buf) < total:
            return None
        body = bytes(buf[2 : HEADER_BYTES + length])
        (crc,) = struct.unpack_from("<I", buf, HEADER_BYTES + length)
        if crc != crc32(body):
            del buf[:1]
            return DecodeEvent("bad_crc", Frame(seq, cmd, b""))
        del buf[:total]
        return DecodeEvent("frame", Frame(seq, cmd, body[4:]))


# ---- response payloads (after status u8 | session u32) ---------------------


@dataclass(frozen=True)
class IdentifyInfo:
    protocol_version: int
    counter_unit: CounterUnit
    model_ready: bool
    max_payload: int
    input_size: int
    output_size: int
    arena_size: int
    init_rc: int
    model_hash: str
    build_id: str
    board_name: str
    model_name: str
    staging: bool = False  # LOAD_NEXT / RUN_NEXT available (double buffering)
    streaming: bool = False  # STATE_RESET / STEP / READ_STATE available (a model with recurrent state)


@dataclass(frozen=True)
class RunResult:
    status: Status
    model_rc: int
    counter_unit: CounterUnit
    count: int  # instructions / cycles / ns spent in fp_model_run()
    token: int = 0  # the host's name for this run (READ_OUTPUT names it)
    input_crc: int = 0  # CRC-32 of the input the board ran on


@dataclass(frozen=True)
class TimingInfo:
    counter_unit: CounterUnit
    runs: int
    last: int
    min: int
    max: int
    init: int  # cost of the last fp_model_init()


_IDENTIFY_FIXED = struct.Struct("<BBBHIIIi")
_RUN = struct.Struct("<IiBQI")  # token, rc, unit, count, input_crc
_TIMING = struct.Struct("<BIQQQQ")
_REGION_OFFSET = struct.Struct("<I")


def _strings(data: bytes, count: int) -> list[str]:
    out, pos = [], 0
    for _ in range(count):
        if pos >= len(data):
            raise ValueError("truncated string field")
        n = data[pos]
        raw = data[pos + 1 : pos + 1 + n]
        if len(raw) != n:
            raise ValueError("truncated string field")
        out.append(raw.decode("ascii", errors="replace"))
        pos += 1 + n
    return out


def parse_identify(frame: Frame) -> IdentifyInfo:
    """version u8 | unit u8 | flags u8 | max_payload u16 | input u32 | output u32 |
    arena u32 | init_rc i32 | 4 x (u8 length + ascii)."""
    body = frame.body
    if len(body) < _IDENTIFY_FIXED.size:
        raise ValueError(f"IDENTIFY response of {len(body)} bytes is too short")
    version, unit, flags, max_payload, n_in, n_out, arena, init_rc = _IDENTIFY_FIXED.unpack_from(body)
    if version != PROTOCOL_VERSION:
        raise ValueError(f"firmware speaks protocol version {version}, this host {PROTOCOL_VERSION}")
    model_hash, build_id, board, model = _strings(body[_IDENTIFY_FIXED.size :], 4)
    return IdentifyInfo(
        version,
        CounterUnit(unit),
        bool(flags & 1),
        max_payload,
        n_in,
        n_out,
        arena,
        init_rc,
        model_hash,
        build_id,
        board,
        model,
        staging=bool(flags & 2),
        streaming=bool(flags & 4),
    )


def parse_run(frame: Frame) -> RunResult:
    """RUN response: status is the outcome; body token u32 | rc i32 | unit u8 | count u64 | crc u32."""
    token, rc, unit, count, crc = _RUN.unpack(frame.body)
    return RunResult(Status(frame.status), rc, CounterUnit(unit), count, token, crc)


def parse_run_next(frame: Frame) -> tuple[RunResult, bytes]:
    """RUN_NEXT response: the RUN body, then (after a successful run, when it fits) the whole output."""
    body = frame.body
    if len(body) < _RUN.size:
        raise ValueError(f"RUN_NEXT body of {len(body)} bytes")
    token, rc, unit, count, crc = _RUN.unpack_from(body)
    return RunResult(Status(frame.status), rc, CounterUnit(unit), count, token, crc), bytes(body[_RUN.size :])


def parse_run_status(frame: Frame) -> RunResult:
    """RUN_STATUS response: body outcome u8, then the RUN body of the last executed run."""
    body = frame.body
    if len(body) != 1 + _RUN.size:
        raise ValueError(f"RUN_STATUS body of {len(body)} bytes")
    token, rc, unit, count, crc = _RUN.unpack_from(body, 1)
    return RunResult(Status(body[0]), rc, CounterUnit(unit), count, token, crc)


def parse_timing(frame: Frame) -> TimingInfo:
    """unit u8 | runs u32 | last u64 | min u64 | max u64 | init u64."""
    unit, runs, last, lo, hi, init = _TIMING.unpack(frame.body)
    return TimingInfo(CounterUnit(unit), runs, last, lo, hi, init)


def load_input_payload(offset: int, chunk: bytes) -> bytes:
    return struct.pack("<I", offset) + chunk


def run_payload(token: int, input_crc: int) -> bytes:
    return struct.pack("<II", token, input_crc)


def run_layers_payload(n: int, input_crc: int) -> bytes:
    return struct.pack("<II", n, input_crc)


def read_arena_payload(offset: int, length: int) -> bytes:
    return struct.pack("<IH", offset, length)


def read_output_payload(token: int, offset: int, length: int) -> bytes:
    return struct.pack("<IIH", token, offset, length)


def region_overhead(prefix: int) -> int:
    """Response bytes of READ_OUTPUT (prefix 4: the token) / READ_ARENA (prefix 0)
    besides the data: header, echoed prefix and offset."""
    return RESPONSE_HEADER + prefix + _REGION_OFFSET.size
