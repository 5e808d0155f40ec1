"""Every runnable board, for real: build the fixture-model firmware, launch it
(QEMU or a native process on a pty), and check identify / load / run / read
bit-exactly, recovery from garbage and corrupt frames, error statuses, exact
instruction counts, and that a CPU fault surfaces as BoardCrashed."""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixture_model import (
    INPUT_SIZE,
    MODEL_HASH,
    MODEL_SOURCE,
    OUTPUT_SIZE,
    RUNNABLE_BOARDS,
    assert_reaped,
    assert_same_bytes,
    expected_output,
)
from fixpoint.boards.build import build_firmware
from fixpoint.boards.runner import BoardSession, open_board
from fixpoint.serial import (
    BoardCrashed,
    BoardProtocolError,
    Command,
    CounterUnit,
    FrameDecoder,
    Status,
    crc32,
    encode_frame,
)
from fixpoint.serial.protocol import RESPONSE_FLAG


@pytest.fixture(scope="module", params=RUNNABLE_BOARDS)
def session(request: pytest.FixtureRequest, firmware_for: Callable[[str], Path]) -> Iterator[BoardSession]:
    """One running board shared by this module's tests; reaped afterwards."""
    firmware = firmware_for(request.param)
    with open_board(request.param, firmware, expected_hash=MODEL_HASH) as running:
        pid = running.pid
        yield running
    assert_reaped(pid)


def random_input(seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(INPUT_SIZE))


def raw_exchange(session: BoardSession, data: bytes, seq: int) -> tuple[str, int, bytes]:
    """Write raw bytes, return the first response event carrying ``seq``."""
    port = session.client.port
    port.write(data)
    decoder = FrameDecoder()
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        for event in decoder.feed(port.read(max(1, port.in_waiting))):
            if event.frame.seq == seq:
                return event.kind, event.frame.cmd, event.frame.payload
    raise AssertionError(f"no response with seq {seq}")


def test_identify_reports_board_and_model(session: BoardSession) -> None:
    info = session.info
    assert info is not None
    assert info.board_name == session.board.name
    assert (info.model_hash, info.model_name) == (MODEL_HASH, "fixture-fnv")
    assert (info.input_size, info.output_size, info.max_payload) == (INPUT_SIZE, OUTPUT_SIZE, 1024)
    assert info.protocol_version == 2 and info.model_ready and len(info.build_id) == 16
    want_unit = CounterUnit.NANOSECONDS if session.board.kind == "host" else CounterUnit.INSTRUCTIONS
    assert info.counter_unit == want_unit


def test_inference_is_bit_exact(session: BoardSession) -> None:
    client = session.client
    for seed in (1, 2):
        data = random_input(seed)
        output, result = client.infer(data)
        assert result.status == Status.OK and result.model_rc == 0 and result.count > 0
        assert_same_bytes(output, expected_output(data))


def test_instruction_counts_are_exact_and_repeatable(session: BoardSession) -> None:
    client = session.client
    client.reset()
    client.load_input(random_input(3))
    counts = [client.run().count for _ in range(3)]
    timing = client.read_timing()
    assert timing.runs == 3 and timing.last == counts[-1]
    assert (timing.min, timing.max) == (min(counts), max(counts))
    if session.board.kind == "qemu":
        # -icount: the same code on the same data executes the same instructions
        assert len(set(counts)) == 1, counts
        assert 10_000 < counts[0] < 100_000, counts  # ~10 instructions per output byte


def test_long_runs_count_across_counter_wraps(session: BoardSession) -> None:
    """Runs of N, 2N and 3N loop iterations, each twice. On QEMU every run
    spans several SysTick wraps: counts must repeat exactly, and grow linearly
    up to the few instructions of one more or one fewer wrap interrupt (a lost
    or doubled wrap would be off by ~2.6 M)."""
    client = session.client
    counts = []
    for multiple in (1, 2, 3):
        data = b"LOOP" + struct.pack("<I", multiple * 1_000_000) + random_input(5)[8:]
        client.load_input(data)
        first, second = client.run().count, client.run().count
        assert_same_bytes(client.read_output(), expected_output(data))
        if session.board.kind == "qemu":
            assert first == second, (multiple, first, second)
        counts.append(first)
    if session.board.kind == "qemu":
        step = counts[1] - counts[0]
        assert step > 3_300_000, counts  # longer than a SysTick period (2^24 ticks) on every board
        assert abs((counts[2] - counts[1]) - step) <= 16, counts


def test_recovers_from_garbage_and_corrupt_frames(session: BoardSession) -> None:
    client = session.client
    rng = random.Random(11)
    garbage = bytes(rng.randrange(256) for _ in range(600)) + b"\xa5\x5a\x10\x00" + b"\xa5" * 7
    client.port.write(garbage)
    assert client.ping(b"after garbage") == b"after garbage"

    corrupt = bytearray(encode_frame(0x42, Command.PING, b"payload"))
    corrupt[8] ^= 0x01
    session_bytes = struct.pack("<I", client.session)
    kind, cmd, payload = raw_exchange(session, bytes(corrupt), 0x42)
    assert (kind, cmd, payload) == ("frame", Command.PING | RESPONSE_FLAG, bytes([Status.BAD_CRC]) + session_bytes)

    # An over-long header is answered at once, as a transient (the length field may be the damage).
    oversized = b"\xa5\x5a" + struct.pack("<HBB", 0xFFFF, 0x43, Command.PING)
    kind, _, payload = raw_exchange(session, oversized, 0x43)
    assert (kind, payload) == ("frame", bytes([Status.FRAME_TOO_LONG]) + session_bytes)

    # A truncated frame swallows the next request until the client times out
    # and pads the link (the firmware has no inter-byte timeout by design).
    client.port.write(encode_frame(0x44, Command.PING, bytes(100))[:60])
    client.timeout, saved = 1.0, client.timeout  # padding crawls into a loaded QEMU
    try:
        assert client.ping(b"after truncation") == b"after truncation"
    finally:
        client.timeout = saved
    data = random_input(4)
    assert_same_bytes(client.infer(data)[0], expected_output(data))


def test_error_statuses(session: BoardSession) -> None:
    client = session.client
    cases = [
        (0x7E, b"", Status.UNKNOWN_COMMAND),
        (Command.LOAD_INPUT, struct.pack("<I", INPUT_SIZE - 2) + b"abc", Status.BAD_RANGE),
        (Command.LOAD_INPUT, b"\x00\x00", Status.BAD_LENGTH),
        (Command.READ_OUTPUT, struct.pack("<IH", 0, 1), Status.BAD_LENGTH),
        (Command.READ_OUTPUT, struct.pack("<IIH", 0x1234, 0, 1), Status.OUTPUT_STALE),
        (Command.READ_ARENA, struct.pack("<IH", 0xFFFFFFFF, 1), Status.BAD_RANGE),
        (Command.READ_ARENA, struct.pack("<IH", 0, 1024), Status.BAD_LENGTH),
        (Command.RUN, b"x", Status.BAD_LENGTH),
        (Command.RUN, struct.pack("<II", 1, crc32(b"not the input")), Status.INPUT_STALE),
        (Command.SESSION, b"", Status.BAD_LENGTH),
    ]
    for cmd, payload, status in cases:
        frame = client.transact(cmd, payload)
        assert (frame.status, frame.session) == (status, client.session), (cmd, payload)
    client.load_input(b"FAIL")
    with pytest.raises(BoardProtocolError, match="MODEL_ERROR, model returned 7"):
        client.run()


def test_run_twice_then_read_is_the_output_of_the_input(session: BoardSession) -> None:
    """The fixture model overwrites nothing, so the board's own check is shown
    directly: a RUN naming another input is refused, and READ_OUTPUT of a run
    whose output a later LOAD_INPUT invalidated is refused."""
    client = session.client
    data = random_input(7)
    client.load_input(data)
    first = client.run()
    second = client.run()
    assert (first.input_crc, second.input_crc) == (crc32(data), crc32(data))
    assert first.token != second.token
    assert_same_bytes(client.read_output(), expected_output(data))
    stale_token = struct.pack("<IIH", first.token, 0, 16)
    assert client.transact(Command.READ_OUTPUT, stale_token).status == Status.OUTPUT_STALE
    client.load_input(random_input(8))
    fresh_token = struct.pack("<IIH", second.token, 0, 16)
    assert client.transact(Command.READ_OUTPUT, fresh_token).status == Status.OUTPUT_STALE


def test_session_id_is_echoed_and_a_lost_session_is_detected(session: BoardSession) -> None:
    client = session.client
    ours = client.session
    assert ours != 0 and client.transact(Command.PING, b"x").session == ours
    # Another host (or a reset) changes the session: the next response shows it.
    client.transact(Command.SESSION, struct.pack("<I", 0))
    data = random_input(9)
    output, _ = client.infer(data)  # resumes: new session, input reloaded, rerun
    assert_same_bytes(output, expected_output(data))
    assert client.session not in (0, ours) and client.stats.resets_detected >= 1


def test_smallest_max_payload_still_round_trips(tmp_path: Path) -> None:
    """A 256-byte payload limit (the minimum) on the host board: IDENTIFY fits,
    input and output take many chunks."""
    firmware = build_firmware(
        "host", [MODEL_SOURCE], out_dir=tmp_path, max_payload=256, defines={"FIXTURE_MODEL_HASH": f'"{MODEL_HASH}"'}
    )
    with open_board("host", firmware, expected_hash=MODEL_HASH) as running:
        assert running.info is not None and running.info.max_payload == 256
        data = random_input(6)
        assert_same_bytes(running.client.infer(data)[0], expected_output(data))
        assert running.client.transact(Command.PING, bytes(256)).status == Status.BAD_LENGTH


def test_cpu_fault_is_reported_as_crash(firmware_for: Callable[[str], Path], board_name: str) -> None:
    with open_board(board_name, firmware_for(board_name), expected_hash=MODEL_HASH) as running:
        pid = running.pid
        running.client.load_input(b"TRAP")
        with pytest.raises(BoardCrashed) as info:
            running.client.run()
    message = str(info.value)
    if running.board.kind == "host":
        assert "killed by signal" in message
    else:
        assert "exited with code 99" in message and "FIXPOINT FAULT" in message
    assert_reaped(pid)


@pytest.fixture(params=RUNNABLE_BOARDS)
def board_name(request: pytest.FixtureRequest) -> str:
    return request.param
