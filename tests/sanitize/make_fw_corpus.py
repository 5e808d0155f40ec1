"""Generate the seed corpus and the dictionary of the firmware fuzz target
(tests/sanitize/fuzz_fw.c, run by tests/sanitize/fw_fuzz.sh).

Every frame comes from ``fixpoint.serial.protocol`` (``encode_frame``, the
``Command`` enum and the request payload builders), so regenerating after a
protocol change gives seeds of the new protocol; commit the result:

    .venv/bin/python tests/sanitize/make_fw_corpus.py           # rewrite
    .venv/bin/python tests/sanitize/make_fw_corpus.py --check   # exit 1 if stale

Seeds: every command with an empty payload and with zero payloads of the
sizes requests use; meaningful requests at and just past every limit (chunk
sizes, buffer ends, offsets that wrap, the payload limit), for the two payload
limits the fuzzer is built with; whole host sessions; and the faults the parser
must survive: truncated frames, bad CRCs, too-long headers, frames hidden in
rejected ones, garbage full of sync bytes, the host's zero padding.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fixpoint.serial import protocol as p

HERE = Path(__file__).resolve().parent
CORPUS_DIR = HERE / "fw_corpus"
DICT_PATH = HERE / "fw_fuzz.dict"

#: FW_MAX_PAYLOAD of the fuzz builds; fw_fuzz.sh defaults to the first.
PAYLOADS = (256, 1024)
#: Fixed request payload sizes worth a zero-filled seed for every command.
ZERO_SIZES = (1, 4, 6, 8, 10, 12)


def model_size(payload: int) -> int:
    """Loopback model buffer size of a fuzz build (fw_fuzz.sh: LOOPBACK_SIZE)."""
    return 2 * payload + 88


def zero_input_crc(payload: int) -> int:
    """CRC-32 of the model input after boot or RESET (all zeros): what RUN names."""
    return p.crc32(bytes(model_size(payload)))


class Stream:
    """Frames with consecutive sequence numbers, as a host sends them."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.seq = 0

    def frame(self, cmd: int, payload: bytes = b"") -> Stream:
        self.data += p.encode_frame(self.seq, cmd, payload)
        self.seq = (self.seq + 1) & 0xFF
        return self

    def raw(self, data: bytes) -> Stream:
        self.data += data
        return self


def frame(cmd: int, payload: bytes = b"", seq: int = 1) -> bytes:
    return p.encode_frame(seq, cmd, payload)


def every_command() -> Iterator[tuple[str, bytes]]:
    for cmd in p.Command:
        name = cmd.name.lower()
        yield f"{name}-empty", frame(cmd)
        for n in ZERO_SIZES:
            yield f"{name}-zeros{n}", frame(cmd, bytes(n))
    for code in (0x00, 0x7F, 0x80 | p.Command.IDENTIFY, 0xFF):
        yield f"unknown-{code:02x}", frame(code, b"\x01\x02\x03\x04")


def limits(payload: int) -> Iterator[tuple[str, bytes]]:
    """Requests at and just past each limit of a build with this max payload."""
    size = model_size(payload)
    crc0 = zero_input_crc(payload)
    chunk = payload - 4  # LOAD_INPUT data per frame
    region = payload - p.region_overhead(4)  # READ_OUTPUT data per frame
    arena = payload - p.region_overhead(0)  # READ_ARENA data per frame
    C = p.Command
    yield "load-first", frame(C.LOAD_INPUT, p.load_input_payload(0, bytes(range(16))))
    yield "load-full", frame(C.LOAD_INPUT, p.load_input_payload(0, bytes(chunk)))
    yield "load-last", frame(C.LOAD_INPUT, p.load_input_payload(size - chunk, b"\x55" * chunk))
    yield "load-past-end", frame(C.LOAD_INPUT, p.load_input_payload(size - 3, b"abcd"))
    yield "load-wrap", frame(C.LOAD_INPUT, p.load_input_payload(0xFFFFFFFF, b"ab"))
    yield "run-zero-input", frame(C.RUN, p.run_payload(1, crc0))
    yield "run-stale-input", frame(C.RUN, p.run_payload(2, crc0 ^ 1))
    for n in (0, 1, 2, 0xFFFFFFFF):
        yield f"run-layers-{n:x}", frame(C.RUN_LAYERS, p.run_layers_payload(n, crc0))
    yield "read-output-small", frame(C.READ_OUTPUT, p.read_output_payload(1, 0, 16))
    yield "read-output-full", frame(C.READ_OUTPUT, p.read_output_payload(1, 0, region))
    yield "read-output-over", frame(C.READ_OUTPUT, p.read_output_payload(1, 0, region + 1))
    yield "read-output-past-end", frame(C.READ_OUTPUT, p.read_output_payload(1, size - 8, 16))
    yield "read-output-huge", frame(C.READ_OUTPUT, p.read_output_payload(0, 0xFFFFFFFF, 0xFFFF))
    yield "read-arena-full", frame(C.READ_ARENA, p.read_arena_payload(0, arena))
    yield "read-arena-over", frame(C.READ_ARENA, p.read_arena_payload(0, arena + 1))
    yield "read-arena-past-end", frame(C.READ_ARENA, p.read_arena_payload(size - 4, 8))
    yield "read-arena-wrap", frame(C.READ_ARENA, p.read_arena_payload(0xFFFFFFFF, 2))
    for n in (payload - p.RESPONSE_HEADER, payload - p.RESPONSE_HEADER + 1, payload):
        yield f"ping-{n}", frame(C.PING, bytes(i & 0xFF for i in range(n)))
    yield "too-long", frame(C.PING, bytes(payload + 1))[: p.HEADER_BYTES + 8]


def session(payload: int) -> bytes:
    """What a host does in one inference, with the slips it recovers from."""
    size = model_size(payload)
    data = bytes((i * 7 + 3) & 0xFF for i in range(size))
    crc = p.crc32(data)
    chunk, region = payload - 4, payload - p.region_overhead(4)
    C = p.Command
    s = Stream().frame(C.IDENTIFY).frame(C.SESSION, b"\x78\x56\x34\x12")
    for pos in range(0, size, chunk):
        s.frame(C.LOAD_INPUT, p.load_input_payload(pos, data[pos : pos + chunk]))
    s.frame(C.READ_OUTPUT, p.read_output_payload(7, 0, 16))  # before any run: stale
    s.frame(C.RUN, p.run_payload(7, crc)).frame(C.RUN_STATUS)
    for pos in range(0, size, region):
        s.frame(C.READ_OUTPUT, p.read_output_payload(7, pos, min(region, size - pos)))
    s.frame(C.READ_OUTPUT, p.read_output_payload(6, 0, 16))  # another run's token
    s.frame(C.RUN_LAYERS, p.run_layers_payload(1, crc)).frame(C.READ_ARENA, p.read_arena_payload(0, 32))
    s.frame(C.READ_TIMING).frame(C.RESET).frame(C.RUN, p.run_payload(8, crc))  # reset: input stale
    return bytes(s.frame(C.RUN_STATUS).frame(C.PING, b"bye").data)


#: The loopback model's toy stream (runtime/firmware/models/loopback_model.c, FW_STREAMING).
STEP_BYTES, STATE_BYTES = 32, 240


def streaming(payload: int) -> bytes:
    """A host's stream: reset, steps in order, a resend, out-of-order steps, a failing step
    (first input byte 0xEE), state read-back at and past its end, a soft RESET in between."""
    C = p.Command
    region = payload - p.region_overhead(0)

    def step(index: int, fill: int) -> bytes:
        return index.to_bytes(4, "little") + bytes((fill + i) & 0xFF for i in range(STEP_BYTES))

    s = Stream().frame(C.IDENTIFY).frame(C.STATE_RESET)
    s.frame(C.STEP, step(0, 1)).frame(C.STEP, step(1, 9)).frame(C.STEP, step(1, 9))  # resend: replayed
    s.frame(C.STEP, step(5, 2)).frame(C.STEP, step(0xFFFFFFFF, 3)).frame(C.STEP, step(2, 0xEE))
    s.frame(C.STEP, step(2, 4)[:-1])  # short: BAD_LENGTH
    s.frame(C.READ_STATE, p.read_arena_payload(0, min(region, STATE_BYTES)))
    s.frame(C.READ_STATE, p.read_arena_payload(STATE_BYTES - 8, 16))
    s.frame(C.READ_STATE, p.read_arena_payload(0xFFFFFFFF, 2))
    s.frame(C.RESET).frame(C.STEP, step(3, 5)).frame(C.STEP, step(0, 6))
    return bytes(s.frame(C.STATE_RESET, b"\x00").frame(C.PING, b"bye").data)


def faults() -> Iterator[tuple[str, bytes]]:
    """Byte streams the parser must resynchronise on; each ends with a good frame."""
    C = p.Command
    good = frame(C.PING, b"good", seq=9)
    load = frame(C.LOAD_INPUT, p.load_input_payload(0, bytes(range(20))), seq=3)
    for cut in (1, 2, 5, 6, 7, len(load) - 1):
        yield f"truncated-{cut}", load[:cut] + good
    bad = bytearray(load)
    bad[-1] ^= 0x01
    yield "bad-crc", bytes(bad) + good
    bad = bytearray(load)
    bad[8] ^= 0x80
    yield "bad-payload", bytes(bad) + good
    yield "len-ffff", p.SYNC + b"\xff\xff\x01\x01" + good
    # A rejected frame whose payload holds a whole good one: found on replay.
    outer = p.SYNC + (len(good) + 2).to_bytes(2, "little") + b"\x02\x07"
    yield "hidden-frame", outer + b"\x00" + good + b"\x00" + bytes(4) + good
    yield "hidden-sync", p.SYNC + b"\x08\x00\x03\x07" + p.SYNC + b"\x00\x00\x04\x01" + bytes(8) + good
    yield "sync-runs", b"\xa5\xa5\x5a\xa5\x5a\x5a\xa5" + good + b"\xa5"
    yield "padding-recovery", load[:12] + bytes(max(PAYLOADS) + p.FRAME_OVERHEAD) + good
    yield "responses", frame(C.PING | p.RESPONSE_FLAG, bytes(5)) + good
    rng = random.Random(2024)
    for k in range(4):
        noise = bytearray(rng.randrange(256) for _ in range(96))
        for _ in range(6):
            at = rng.randrange(len(noise) - 1)
            noise[at : at + 2] = p.SYNC
        yield f"garbage-{k}", bytes(noise) + good


def corpus() -> dict[str, bytes]:
    """File name -> content of every seed."""
    seeds: dict[str, bytes] = dict(every_command())
    for payload in PAYLOADS:
        seeds.update((f"p{payload}-{name}", data) for name, data in limits(payload))
        seeds[f"p{payload}-session"] = session(payload)
        seeds[f"p{payload}-streaming"] = streaming(payload)
    seeds.update(faults())
    seeds["all-commands"] = b"".join(frame(cmd, seq=i) for i, cmd in enumerate(p.Command))
    return {f"{name}.bin": data for name, data in sorted(seeds.items())}


def _escape(data: bytes) -> str:
    return "".join(f"\\x{b:02X}" for b in data)


def dictionary() -> str:
    """libFuzzer dictionary: sync bytes, command codes, headers, lengths, CRCs."""
    entries = [("sync", p.SYNC), ("sync0", p.SYNC[:1])]
    for cmd in p.Command:
        name = cmd.name.lower()
        entries += [
            (f"cmd_{name}", bytes([cmd])),
            (f"resp_{name}", bytes([cmd | p.RESPONSE_FLAG])),
            (f"header_{name}", p.SYNC + b"\x00\x00\x00" + bytes([cmd])),
        ]
    lengths = {4, 6, 8, 10, 0xFFFF}
    for payload in PAYLOADS:
        lengths |= {
            payload - p.region_overhead(4),
            payload - p.region_overhead(0),
            payload - p.RESPONSE_HEADER,
            payload - 4,
            payload,
            payload + 1,
            model_size(payload),
        }
        entries.append((f"zero_input_crc_{payload}", zero_input_crc(payload).to_bytes(4, "little")))
    entries += [(f"len_{n}", n.to_bytes(2, "little")) for n in sorted(lengths)]
    lines = [
        "# libFuzzer dictionary of tests/sanitize/fuzz_fw.c.",
        "# Generated by tests/sanitize/make_fw_corpus.py from fixpoint.serial.protocol; do not edit.",
    ]
    lines += [f'{name}="{_escape(value)}"' for name, value in entries]
    return "\n".join(lines) + "\n"


def _write(path: Path, data: bytes) -> None:
    """Atomically: a half-written seed would be a wrong seed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)  # mkstemp's 0600 is no mode for a committed file
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether the files are up to date")
    args = parser.parse_args(argv)
    want = {CORPUS_DIR / name: data for name, data in corpus().items()}
    want[DICT_PATH] = dictionary().encode()
    # Every file counts: a stray one (say, a unit a fuzzer run wrote there) is stale too.
    have = {path: path.read_bytes() for path in CORPUS_DIR.glob("*") if path.is_file()}
    if DICT_PATH.is_file():
        have[DICT_PATH] = DICT_PATH.read_bytes()
    stale = sorted(
        str(path.relative_to(HERE)) for path in want.keys() | have.keys() if want.get(path) != have.get(path)
    )
    if args.check:
        if stale:
            print(
                f"make_fw_corpus: {len(stale)} file(s) out of date, e.g. {stale[0]}; run {Path(__file__).name}",
                file=sys.stderr,
            )
        return 1 if stale else 0
    CORPUS_DIR.mkdir(exist_ok=True)
    for path in have.keys() - want.keys():
        path.unlink()
    for path, data in want.items():
        if have.get(path) != data or path.stat().st_mode & 0o777 != 0o644:
            _write(path, data)
    total = sum(len(data) for path, data in want.items() if path != DICT_PATH)
    print(f"make_fw_corpus: {len(want) - 1} seeds ({total} bytes), {len(stale)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
