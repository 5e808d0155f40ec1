"""Frame codec and protocol client, through pyserial's loop:// and spy://.

loop:// echoes everything written, so a test can pre-load "board" responses
and the client also sees its own requests (which it must ignore: they are not
responses). No board is involved here; tests/firmware runs the real ones.
"""

from __future__ import annotations

import os
import random
import struct
import threading
import time
import tty

import pytest
import serial

from fixpoint.serial import (
    BoardProtocolError,
    BoardReset,
    BoardTimeout,
    Command,
    CounterUnit,
    FixpointClient,
    FrameDecoder,
    Status,
    WrongModel,
    crc32,
    encode_frame,
)
from fixpoint.serial.protocol import FRAME_OVERHEAD, RESPONSE_FLAG, Frame, parse_identify

HASH = "ab" * 32


SESSION = 0x5E55_1011


def body(status: int = Status.OK, data: bytes = b"", session: int = 0) -> bytes:
    """A response payload: status u8 | session u32 | data."""
    return struct.pack("<BI", status, session) + data


def identify_payload(model_hash: str = HASH, status: int = Status.OK) -> bytes:
    """IDENTIFY response exactly as docs/serial-protocol.md lays it out."""
    fixed = body(status) + struct.pack("<BBBHIIIi", 2, CounterUnit.INSTRUCTIONS, 1, 1024, 100, 200, 300, 0)
    strings = b"".join(bytes([len(s)]) + s for s in (model_hash.encode(), b"0123456789abcdef", b"loop-board", b"tiny"))
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
    assert frame == b"\xa5\x5a" + body + struct.pack("<I", crc32(body))
    assert len(frame) == FRAME_OVERHEAD + 2


def test_identify_payload_parses() -> None:
    info = parse_identify(Frame(0, Command.IDENTIFY | RESPONSE_FLAG, identify_payload()))
    assert (info.model_hash, info.board_name, info.model_name) == (HASH, "loop-board", "tiny")
    assert (info.input_size, info.output_size, info.arena_size, info.max_payload) == (100, 200, 300, 1024)


def test_decoder_through_loop_survives_garbage_truncation_and_oversize() -> None:
    rng = random.Random(5)
    garbage = bytes(rng.randrange(256) for _ in range(500)).replace(b"\xa5", b"\x00")
    good1 = encode_frame(1, Command.PING, b"first")
    truncated = encode_frame(2, Command.PING, bytes(40))[:20]
    oversized = b"\xa5\x5a" + struct.pack("<HBB", 5000, 3, Command.PING) + bytes(30)
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
    events = [e for i in range(len(frame)) for e in decoder.feed(frame[i : i + 1])]
    assert [(e.kind, e.frame.payload) for e in events] == [("frame", b"x" * 50)]


# ---- client ---------------------------------------------------------------------------


def loop_client(**kwargs: object) -> FixpointClient:
    # loop:// simulates the baud rate on write; a fast one keeps the link
    # padding after a timeout from dominating the timing checks
    port = serial.serial_for_url("loop://", baudrate=10_000_000)
    return FixpointClient(port, **{"timeout": 0.3, "retries": 2, **kwargs})  # type: ignore[arg-type]


@pytest.fixture
def fixed_session(monkeypatch: pytest.MonkeyPatch) -> int:
    """The session id the client picks (normally random)."""
    monkeypatch.setattr("fixpoint.serial.client.os.urandom", lambda n: SESSION.to_bytes(4, "little"))
    return SESSION


def identified_client(**kwargs: object) -> FixpointClient:
    """A client past IDENTIFY (seq 0) and SESSION (seq 1); the next request has seq 2."""
    client = loop_client(**kwargs)
    client.port.write(
        response(0, Command.IDENTIFY, identify_payload()) + response(1, Command.SESSION, body(session=SESSION))
    )
    client.identify(HASH)
    return client


def test_client_identify_and_wrong_model(fixed_session: int) -> None:
    client = identified_client()
    assert client.info is not None and client.info.board_name == "loop-board"
    assert client.session == fixed_session
    client.port.write(response(2, Command.IDENTIFY, identify_payload()))
    with pytest.raises(WrongModel, match="loop-board"):
        client.identify("cd" * 32)


def test_client_detects_a_reset_board_by_its_session(fixed_session: int) -> None:
    client = identified_client()
    client.port.write(response(2, Command.PING, body(data=b"hi", session=0)))
    with pytest.raises(BoardReset, match="PING: the board was reset"):
        client.ping(b"hi")


def test_client_takes_a_lost_run_response_from_run_status(fixed_session: int) -> None:
    """RUN (seq 2) goes unanswered; after one link timeout the client polls
    RUN_STATUS (seq 3), which reports that run: no second run, no run_timeout."""
    client = identified_client(timeout=0.2, run_timeout=30.0)
    crc = crc32(bytes(100))
    outcome = struct.pack("<BIiBQI", Status.OK, 1, 0, CounterUnit.INSTRUCTIONS, 1234, crc)
    # Answer the poll once it has been sent (a loop:// answer written earlier
    # would be read, and dropped, while the client still waits for RUN).
    answer = threading.Timer(
        1.0, client.port.write, (response(3, Command.RUN_STATUS, body(data=outcome, session=SESSION)),)
    )
    answer.start()
    try:
        result = client.run()  # without the poll: BoardTimeout after run_timeout
    finally:
        answer.join()
    assert (result.status, result.count, result.token, result.input_crc) == (Status.OK, 1234, 1, crc)
    assert client.stats.polls >= 1


def test_client_retries_a_corrupt_response_transparently() -> None:
    client = loop_client(timeout=5.0)
    bad = bytearray(response(0, Command.PING, body(data=b"pong")))
    bad[-1] ^= 0xFF
    client.port.write(bytes(bad))
    # The retry (seq 1) is sent at once, not after the timeout; its answer comes later.
    answer = threading.Timer(0.5, client.port.write, (response(1, Command.PING, body(data=b"pong")),))
    answer.start()
    try:
        assert client.ping(b"pong") == b"pong"
    finally:
        answer.join()
    assert client.attempts == 2


def test_client_takes_its_answer_behind_a_damaged_leftover_frame() -> None:
    """A late answer to an earlier request, damaged, arrives just before ours:
    ours is taken, not retried."""
    client = loop_client(first_seq=7)
    leftover = bytearray(response(6, Command.PING, body(data=b"old")))
    leftover[-2] ^= 0x10
    client.port.write(bytes(leftover) + response(7, Command.PING, body(data=b"new")))
    assert client.ping(b"new") == b"new"
    assert client.attempts == 1


def test_client_decoder_rejects_an_over_long_length_at_once() -> None:
    """A response whose length field took a bit flip (above max_payload) must not
    swallow the answers behind it."""
    client = loop_client(max_payload=1024)
    broken = bytearray(response(0, Command.PING, body(data=b"x")))
    broken[3] ^= 0x40  # length high byte: 1 + 5 -> 16390
    client.port.write(bytes(broken))
    answer = threading.Timer(0.1, client.port.write, (response(1, Command.PING, body(data=b"y")),))
    answer.start()
    try:
        assert client.ping(b"y") == b"y"
    finally:
        answer.join()
    assert client.attempts == 2


def test_client_retries_when_the_board_reports_bad_crc() -> None:
    client = loop_client()
    client.port.write(response(0, Command.PING, body(Status.BAD_CRC)) + response(1, Command.PING, body()))
    assert client.ping() == b""
    assert client.attempts == 2


def test_client_ignores_stale_responses() -> None:
    client = loop_client(first_seq=10)
    client.port.write(
        response(9, Command.PING, body(data=b"old"))
        + response(10, Command.RUN, body())
        + response(10, Command.PING, body(data=b"new"))
    )
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
    client.port.write(response(0, Command.PING, body(Status.UNKNOWN_COMMAND)))
    with pytest.raises(BoardProtocolError, match="PING: board answered UNKNOWN_COMMAND") as info:
        client.ping()
    assert info.value.status == Status.UNKNOWN_COMMAND
    assert client.attempts == 1


def test_client_reports_model_error_of_run(fixed_session: int) -> None:
    client = identified_client()
    outcome = struct.pack("<IiBQI", 1, 7, 0, 0, crc32(bytes(100)))
    client.port.write(response(2, Command.RUN, body(Status.MODEL_ERROR, outcome, SESSION)))
    with pytest.raises(BoardProtocolError, match="MODEL_ERROR, model returned 7"):
        client.run()


def test_client_rejects_a_malformed_response() -> None:
    client = loop_client()
    client.port.write(response(0, Command.READ_TIMING, body(data=b"\x01")))
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
        os.write(master, response(0, Command.PING, body(data=b"hi")))
        assert client.ping(b"hi") == b"hi"
        assert os.read(master, 100) == encode_frame(0, Command.PING, b"hi")
        port.close()
    finally:
        os.close(master)
        os.close(slave)
    assert "A5 5A" in trace.read_text().upper()
