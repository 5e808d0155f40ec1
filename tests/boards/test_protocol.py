"""Frame codec and protocol client, through pyserial's loop:// and spy://.

loop:// echoes everything written, so a test can pre-load "board" responses
and the client also sees its own requests (which it must ignore: they are not
responses). No board is involved here; tests/firmware runs the real ones.
"""
from __future__ import annotations

import os
import random
import struct
import time
import tty

import pytest
import serial

from fixpoint.serial import (BoardProtocolError, BoardTimeout, Command, CounterUnit, FixpointClient,
                             FrameDecoder, Status, WrongModel, crc32, encode_frame)
from fixpoint.serial.protocol import FRAME_OVERHEAD, RESPONSE_FLAG, parse_identify

HASH = "ab" * 32


def identify_payload(model_hash: str = HASH, status: int = Status.OK) -> bytes:
    """IDENTIFY response exactly as docs/serial-protocol.md lays it out."""
    fixed = struct.pack("<BBBBHIIIi", status, 1, CounterUnit.INSTRUCTIONS, 1, 1024, 100, 200, 300, 0)
    strings = b"".join(bytes([len(s)]) + s for s in
                       (model_hash.encode(), b"0123456789abcdef", b"loop-board", b"tiny"))
    return fixed + strings


def response(seq: int, cmd: Command, payload: bytes) -> bytes:
    return encode_frame(seq, cmd | RESPONSE_FLAG, payload)


def decode_all(data: bytes, max_payload: int = 1024) -> list[tuple[str, int, int, bytes]]:
    decoder = FrameDecoder(max_payload)
    return [(e.kind, e.frame.seq, e.frame.cmd, e.frame.payload) for e in decoder.feed(data)]


# ---- codec ------------------------------------------------------------------------

def test_crc32_is_ieee() -> None:
    assert crc32(b"123456789") == 0xCBF43926


def test_frame_layout_is_byte_exact() -> None:
    frame = encode_frame(0x12, Command.LOAD_INPUT, b"\x01\x02")
    body = b"\x02\x00\x12\x02\x01\x02"
    assert frame == b"\xA5\x5A" + body + struct.pack("<I", crc32(body))
    assert len(frame) == FRAME_OVERHEAD + 2


def test_identify_payload_parses() -> None:
    info = parse_identify(identify_payload())
    assert (info.model_hash, info.board_name, info.model_name) == (HASH, "loop-board", "tiny")
    assert (info.input_size, info.output_size, info.arena_size, info.max_payload) == (100, 200, 300, 1024)


def test_decoder_through_loop_survives_garbage_truncation_and_oversize() -> None:
    rng = random.Random(5)
    garbage = bytes(rng.randrange(256) for _ in range(500)).replace(b"\xA5", b"\x00")
    good1 = encode_frame(1, Command.PING, b"first")
    truncated = encode_frame(2, Command.PING, bytes(40))[:20]
    oversized = b"\xA5\x5A" + struct.pack("<HBB", 5000, 3, Command.PING) + bytes(30)
    good2 = encode_frame(4, Command.PING, b"second")
    corrupt = bytearray(encode_frame(5, Command.PING, b"third"))
    corrupt[9] ^= 0x40
    good3 = encode_frame(6, Command.PING, b"fourth")
    port = serial.serial_for_url("loop://", timeout=0.2)
    # truncated frame swallows good2 until good3's bytes complete it; then the
    # decoder rejects it and re-scans, finding good2 and good3 inside.
    port.write(garbage + good1 + oversized + truncated + good2 + bytes(corrupt) + good3)
    data = port.read(100_000)
    events = decode_all(data)
    frames = [(seq, payload) for kind, seq, _, payload in events if kind == "frame"]
    assert frames == [(1, b"first"), (4, b"second"), (6, b"fourth")]
    kinds = [(kind, seq) for kind, seq, _, _ in events if kind != "frame"]
    assert ("bad_length", 3) in kinds and ("bad_crc", 5) in kinds


def test_decoder_memory_is_bounded_by_max_payload() -> None:
    decoder = FrameDecoder(max_payload=256)
    rng = random.Random(7)
    for _ in range(200):
        list(decoder.feed(bytes(rng.randrange(256) for _ in range(1000))))
        assert decoder.pending <= 256 + FRAME_OVERHEAD


def test_decoder_finds_frame_split_across_feeds() -> None:
    frame = encode_frame(9, Command.RUN, b"x" * 50)
    decoder = FrameDecoder()
    events = [e for i in range(len(frame)) for e in decoder.feed(frame[i:i + 1])]
    assert [(e.kind, e.frame.payload) for e in events] == [("frame", b"x" * 50)]


# ---- client ---------------------------------------------------------------------------

def loop_client(**kwargs: object) -> FixpointClient:
    # loop:// simulates the baud rate on write; a fast one keeps the link
    # padding after a timeout from dominating the timing checks
    port = serial.serial_for_url("loop://", baudrate=10_000_000)
    return FixpointClient(port, **{"timeout": 0.3, "retries": 2, **kwargs})  # type: ignore[arg-type]


def test_client_identify_and_wrong_model() -> None:
    client = loop_client()
    client.port.write(response(0, Command.IDENTIFY, identify_payload()))
    assert client.identify(HASH).board_name == "loop-board"
    client.port.write(response(1, Command.IDENTIFY, identify_payload()))
    with pytest.raises(WrongModel, match="loop-board"):
        client.identify("cd" * 32)


def test_client_retries_a_corrupt_response_transparently() -> None:
    client = loop_client()
    bad = bytearray(response(0, Command.PING, b"\x00pong"))
    bad[-1] ^= 0xFF
    client.port.write(bytes(bad) + response(1, Command.PING, b"\x00pong"))
    assert client.ping(b"pong") == b"pong"
    assert client.attempts == 2


def test_client_retries_when_the_board_reports_bad_crc() -> None:
    client = loop_client()
    client.port.write(response(0, Command.PING, bytes([Status.BAD_CRC])) + response(1, Command.PING, b"\x00"))
    assert client.ping() == b""
    assert client.attempts == 2


def test_client_ignores_stale_responses() -> None:
    client = loop_client(first_seq=10)
    client.port.write(response(9, Command.PING, b"\x00old") + response(10, Command.RUN, b"\x00")
                      + response(10, Command.PING, b"\x00new"))
    assert client.ping(b"new") == b"new"
    assert client.attempts == 1


def test_client_times_out_after_all_retries_within_the_configured_time() -> None:
    client = loop_client(timeout=0.2, retries=2)
    start = time.monotonic()
    with pytest.raises(BoardTimeout, match="PING: no response .after 3 attempts"):
        client.ping()
    elapsed = time.monotonic() - start
    assert 0.6 <= elapsed < 0.6 + 0.5
    assert client.attempts == 3


def test_client_does_not_retry_a_definite_error_status() -> None:
    client = loop_client()
    client.port.write(response(0, Command.PING, bytes([Status.UNKNOWN_COMMAND])))
    with pytest.raises(BoardProtocolError, match="PING: board answered UNKNOWN_COMMAND") as info:
        client.ping()
    assert info.value.status == Status.UNKNOWN_COMMAND
    assert client.attempts == 1


def test_client_reports_model_error_of_run() -> None:
    client = loop_client()
    client.port.write(response(0, Command.RUN, struct.pack("<BiBQ", Status.MODEL_ERROR, 7, 0, 0)))
    with pytest.raises(BoardProtocolError, match="MODEL_ERROR, model returned 7"):
        client.run()


def test_client_rejects_a_malformed_response() -> None:
    client = loop_client()
    client.port.write(response(0, Command.READ_TIMING, b"\x00\x01"))
    with pytest.raises(BoardProtocolError, match="READ_TIMING: malformed response"):
        client.read_timing()


def test_client_works_through_spy_url_on_a_pty(tmp_path) -> None:
    """spy:// wraps a real device: a pty whose master plays the board."""
    master, slave = os.openpty()
    tty.setraw(slave)
    trace = tmp_path / "trace.txt"
    try:
        port = serial.serial_for_url(f"spy://{os.ttyname(slave)}?file={trace}")
        client = FixpointClient(port, timeout=0.5, retries=0)
        os.write(master, response(0, Command.PING, b"\x00hi"))
        assert client.ping(b"hi") == b"hi"
        assert os.read(master, 100) == encode_frame(0, Command.PING, b"hi")
        port.close()
    finally:
        os.close(master)
        os.close(slave)
    assert "A5 5A" in trace.read_text().upper()
