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

SYNC = b"\xA5\x5A"
HEADER_BYTES = 6          # sync(2) len(2) seq(1) cmd(1)
CRC_BYTES = 4
FRAME_OVERHEAD = HEADER_BYTES + CRC_BYTES
PROTOCOL_VERSION = 1
RESPONSE_FLAG = 0x80
READY_PREFIX = b"FIXPOINT READY "


class Command(enum.IntEnum):
    IDENTIFY = 0x01
    LOAD_INPUT = 0x02
    RUN = 0x03
    READ_OUTPUT = 0x04
    READ_TIMING = 0x05
    RESET = 0x06
    PING = 0x07
    RUN_LAYERS = 0x08     # debug read-back: run layers [0, n) only
    READ_ARENA = 0x09     # debug read-back: arena bytes


class Status(enum.IntEnum):
    OK = 0
    BAD_CRC = 1
    UNKNOWN_COMMAND = 2
    BAD_LENGTH = 3
    BAD_RANGE = 4
    MODEL_ERROR = 5
    NOT_READY = 6


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


def encode_frame(seq: int, cmd: int, payload: bytes = b"") -> bytes:
    """One frame: A5 5A | len u16 | seq | cmd | payload | crc32 over len..payload."""
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload of {len(payload)} bytes does not fit a frame")
    body = struct.pack("<HBB", len(payload), seq & 0xFF, cmd & 0xFF) + payload
    return SYNC + body + struct.pack("<I", crc32(body))


@dataclass(frozen=True)
class DecodeEvent:
    """What the decoder found: a good frame, or a rejected one (kind != "frame")."""

    kind: str                 # "frame" | "bad_crc" | "bad_length"
    frame: Frame              # for rejects: seq/cmd from the header, payload empty


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
        body = bytes(buf[2: HEADER_BYTES + length])
        (crc,) = struct.unpack_from("<I", buf, HEADER_BYTES + length)
        if crc != crc32(body):
            del buf[:1]
            return DecodeEvent("bad_crc", Frame(seq, cmd, b""))
        del buf[:total]
        return DecodeEvent("frame", Frame(seq, cmd, body[4:]))


# ---- response payloads ------------------------------------------------------

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


@dataclass(frozen=True)
class RunResult:
    status: Status
    model_rc: int
    counter_unit: CounterUnit
    count: int                # instructions / cycles / ns spent in fp_model_run()


@dataclass(frozen=True)
class TimingInfo:
    counter_unit: CounterUnit
    runs: int
    last: int
    min: int
    max: int
    init: int                 # cost of the last fp_model_init()


_IDENTIFY_FIXED = struct.Struct("<BBBBHIIIi")   # status first, then the fixed fields
_RUN = struct.Struct("<BiBQ")
_TIMING = struct.Struct("<BBIQQQQ")


def _strings(data: bytes, count: int) -> list[str]:
    out, pos = [], 0
    for _ in range(count):
        if pos >= len(data):
            raise ValueError("truncated string field")
        n = data[pos]
        raw = data[pos + 1: pos + 1 + n]
        if len(raw) != n:
            raise ValueError("truncated string field")
        out.append(raw.decode("ascii", errors="replace"))
        pos += 1 + n
    return out


def parse_identify(payload: bytes) -> IdentifyInfo:
    """status u8 | version u8 | unit u8 | flags u8 | max_payload u16 | input u32 |
    output u32 | arena u32 | init_rc i32 | 4 x (u8 length + ascii)."""
    if len(payload) < _IDENTIFY_FIXED.size:
        raise ValueError(f"IDENTIFY response of {len(payload)} bytes is too short")
    _, version, unit, flags, max_payload, n_in, n_out, arena, init_rc = _IDENTIFY_FIXED.unpack_from(payload)
    model_hash, build_id, board, model = _strings(payload[_IDENTIFY_FIXED.size:], 4)
    return IdentifyInfo(version, CounterUnit(unit), bool(flags & 1), max_payload, n_in, n_out,
                        arena, init_rc, model_hash, build_id, board, model)


def parse_run(payload: bytes) -> RunResult:
    """status u8 | model_rc i32 | unit u8 | count u64."""
    status, rc, unit, count = _RUN.unpack(payload)
    return RunResult(Status(status), rc, CounterUnit(unit), count)


def parse_timing(payload: bytes) -> TimingInfo:
    """status u8 | unit u8 | runs u32 | last u64 | min u64 | max u64 | init u64."""
    _, unit, runs, last, lo, hi, init = _TIMING.unpack(payload)
    return TimingInfo(CounterUnit(unit), runs, last, lo, hi, init)


def load_input_payload(offset: int, chunk: bytes) -> bytes:
    return struct.pack("<I", offset) + chunk


def read_output_payload(offset: int, length: int) -> bytes:
    return struct.pack("<IH", offset, length)
