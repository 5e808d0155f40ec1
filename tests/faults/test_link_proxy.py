"""The fault-injecting proxy itself, without a board: lossless framing of the
byte stream, each damage doing what it says, and relaying through real
sockets with counted faults and every thread joined."""

from __future__ import annotations

import random
import threading
import time

import serial
from fixpoint.serial import Command, encode_frame
from link_proxy import (
    FRAME_FAULTS,
    RESET,
    UP,
    FaultConfig,
    FaultRates,
    FrameSplitter,
    LinkProxy,
    damage,
)


def _stream(rng: random.Random) -> tuple[bytes, list[bytes]]:
    """Frames mixed with garbage that contains sync bytes and bogus headers."""
    parts, frames = [], []
    for i in range(200):
        frame = encode_frame(i & 0xFF, Command.LOAD_INPUT, rng.randbytes(rng.randrange(0, 80)))
        frames.append(frame)
        noise = rng.choice(
            [
                b"",
                bytes(rng.randrange(30)),
                b"\xa5",
                b"\xa5\x5a\x03\x00",
                b"FIXPOINT READY host\n",
                rng.randbytes(rng.randrange(20)),
            ]
        )
        parts += [noise, frame]
    return b"".join(parts), frames


def test_splitter_is_lossless_and_finds_every_frame() -> None:
    rng = random.Random(5)
    stream, frames = _stream(rng)
    splitter, segments, pos, now = FrameSplitter(max_payload=1024), [], 0, 0.0
    while pos < len(stream):
        step = rng.randrange(1, 64)
        segments += splitter.feed(stream[pos : pos + step], now)
        pos += step
    segments += splitter.feed(b"", now + 1.0)  # flushes whatever is still waiting
    assert b"".join(s.data for s in segments) == stream
    found = [s.data for s in segments if s.frame is not None]
    # garbage may swallow a frame that follows a bogus header until the flush,
    # but never invent one
    assert set(found) <= set(frames) and len(found) >= 0.9 * len(frames)


def test_damage_does_what_it_says() -> None:
    rng = random.Random(1)
    data = encode_frame(7, Command.RUN, b"12345678")
    flipped = damage("bit_flip", data, rng)
    assert len(flipped) == len(data)
    assert sum((a ^ b).bit_count() for a, b in zip(flipped, data)) == 1
    dropped = damage("drop_byte", data, rng)
    assert len(dropped) == len(data) - 1
    assert any(dropped == data[:i] + data[i + 1 :] for i in range(len(data)))
    assert damage("drop_frame", data, rng) == b""
    assert damage("dup_frame", data, rng) == data + data
    assert damage("stall", data, rng) == data


def test_proxy_relays_and_counts_faults() -> None:
    """Board side: pyserial's loop:// echoes every byte. Upwards every frame is
    duplicated, downwards nothing happens: the client reads each frame twice."""
    board = serial.serial_for_url("loop://", timeout=0.05)
    config = FaultConfig(up=FaultRates(dup_frame=1.0), seed=3, max_seconds=60.0)
    with LinkProxy(board, config, max_payload=1024) as proxy:
        client = proxy.connect()
        proxy.arm()
        frames = [encode_frame(i, Command.PING, bytes([i]) * i) for i in range(10)]
        for frame in frames:
            client.write(frame)
        want = b"".join(f + f for f in frames)
        got, deadline = b"", time.monotonic() + 20.0
        while len(got) < len(want) and time.monotonic() < deadline:
            got += client.read(max(1, client.in_waiting))
        assert got == want
        assert proxy.stats.count("dup_frame", UP) == 10 and proxy.stats.total() == 10
    assert not proxy.running
    assert not [t for t in threading.enumerate() if t.name.startswith("link-proxy")]
    assert board.is_open  # the board's port belongs to the runner
    board.close()


def test_every_fault_kind_is_forced_early() -> None:
    """With negligible rates, ``force_every`` alone makes every kind happen
    once, the reset before RUN (the highest reset rate) included."""
    board = serial.serial_for_url("loop://", timeout=0.05)
    tiny = FaultRates(bit_flip=1e-9, drop_byte=1e-9, drop_frame=1e-9, dup_frame=1e-9, stall=1e-9)
    config = FaultConfig(
        up=tiny,
        reset_before={Command.RUN: 1e-9, Command.LOAD_INPUT: 1e-10},
        force_every=4,
        stall_seconds=0.1,
        max_seconds=60.0,
    )
    ready = b"FIXPOINT READY loop\n"
    # the "reset": the board prints its ready line again (loop:// echoes it back)
    with LinkProxy(
        board, config, max_payload=1024, reset=lambda: board.write(ready), ready_line=ready, ready_timeout=5.0
    ) as proxy:
        client = proxy.connect()
        proxy.arm()
        commands = [Command.LOAD_INPUT, Command.RUN, Command.READ_OUTPUT] * 20
        for seq, cmd in enumerate(commands):
            client.write(encode_frame(seq, cmd, b"x"))
            time.sleep(0.005)
        deadline = time.monotonic() + 20.0
        while proxy.stats.frames[UP] < len(commands) and time.monotonic() < deadline:
            time.sleep(0.01)
        counts = {kind: proxy.stats.count(kind, UP) for kind in (*FRAME_FAULTS, RESET)}
        assert all(n == 1 for n in counts.values()), counts
        assert dict(proxy.stats.resets_before) == {"RUN": 1}
