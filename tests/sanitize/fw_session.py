"""Run the host-board firmware, built with ASan + UBSan, through a short
protocol session on a pseudo-terminal, so that the real main loop (fw_main.c
with the host UART and counter, the parser, every command handler) runs
instrumented. Stage 4 of .ci/sanitize.sh.

Build: ``fixpoint.boards.build.build_firmware`` for the ``host`` board with the
sanitizer flags appended to the board's compiler and linker flags, so the
image has exactly the sources and flags of a host build (the fixture model of
tests/firmware) plus instrumentation; objects are cached under the output
folder, apart from the regular cache.

Launch: as ``fixpoint.boards.runner`` launches the host board -- the firmware's
stdin/stdout on the master side of a pty, the client on the slave -- but with
its stderr in a log file, where any sanitizer report lands.

Session: the client's own calls (identify, load_input, run, read_output,
read_arena, run_layers, ping, read_timing, reset), error statuses through
``transact``, garbage and a truncated frame on the raw link (the client's
padding recovery). Passes when every check holds, the firmware exits 0 once
the link is closed, and its log holds no sanitizer report.

Usage: fw_session.py [--out DIR] [--rounds N] [--seed S]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import logging
import os
import random
import subprocess
import sys
import time
import tty
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import serial
from fixpoint.boards.build import build_firmware
from fixpoint.boards.loader import load_board
from fixpoint.serial import BoardError, BoardProtocolError, Command, FixpointClient, Status
from fixpoint.serial import protocol as p

REPO = Path(__file__).resolve().parents[2]


def _fixture_model() -> ModuleType:
    """tests/firmware/fixture_model.py: the board tests' model source, hash, sizes and Python twin."""
    path = REPO / "tests" / "firmware" / "fixture_model.py"
    spec = importlib.util.spec_from_file_location("fixture_model", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIXTURE = _fixture_model()
INPUT_SIZE: int = FIXTURE.INPUT_SIZE
OUTPUT_SIZE: int = FIXTURE.OUTPUT_SIZE
MODEL_HASH: str = FIXTURE.MODEL_HASH
expected_output: Callable[[bytes], bytes] = FIXTURE.expected_output

BOARD = "host"
SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all")
CFLAGS = (*SANITIZE, "-fno-omit-frame-pointer", "-O1")  # after the build's -O2: wins
ARENA_SIZE = INPUT_SIZE + OUTPUT_SIZE  # tests/firmware/fixtures/test_model.c
REPORT_MARKERS = ("Sanitizer", "runtime error:")
READY_TIMEOUT = 20.0
EXIT_TIMEOUT = 20.0


class SessionFailed(Exception):
    """A check of the session failed."""


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SessionFailed(what)


def build(out: Path) -> Path:
    """The host firmware with the fixture model (as tests/firmware builds it), sanitized."""
    board = load_board(BOARD)
    compiler = dataclasses.replace(
        board.compiler, cflags=(*board.compiler.cflags, *CFLAGS), ldflags=(*board.compiler.ldflags, *SANITIZE)
    )
    defines = {
        "FIXTURE_MODEL_HASH": f'"{MODEL_HASH}"',
        "FIXTURE_INPUT_SIZE": f"{INPUT_SIZE}u",
        "FIXTURE_OUTPUT_SIZE": f"{OUTPUT_SIZE}u",
    }
    return build_firmware(
        dataclasses.replace(board, compiler=compiler),
        [FIXTURE.MODEL_SOURCE],
        out_dir=out,
        defines=defines,
        cache=out / "objcache",
        jobs=2,
    )


class Firmware:
    """The firmware process on a pty: stdin/stdout on the master, the slave
    opened (raw) as the serial port before the child starts, so that nothing
    it prints can be lost."""

    def __init__(self, image: Path, log_path: Path) -> None:
        self.log_path = log_path
        master, slave = os.openpty()
        try:
            tty.setraw(slave)
            self.port = serial.serial_for_url(os.ttyname(slave), baudrate=115200, timeout=0.05)
            env = dict(os.environ)
            env.setdefault("ASAN_OPTIONS", "abort_on_error=1:detect_stack_use_after_return=1")
            env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
            with open(log_path, "wb") as log_file:
                self.proc = subprocess.Popen(
                    [str(image)], stdin=master, stdout=master, stderr=log_file, env=env, start_new_session=True
                )
        finally:
            os.close(master)  # the child holds it: its exit hangs up the pty
            os.close(slave)  # and closing the port is an EOF for the child

    def death(self) -> str | None:
        code = self.proc.poll()
        return None if code is None else f"firmware exited with {code}"

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])

    def wait_ready(self) -> None:
        want = p.READY_PREFIX + BOARD.encode() + b"\n"
        seen = b""
        deadline = time.monotonic() + READY_TIMEOUT
        while want not in seen:
            check(time.monotonic() < deadline, f"no ready line within {READY_TIMEOUT} s (got {seen!r})")
            check(self.death() is None, f"{self.death()} before the ready line")
            seen += self.port.read(max(1, self.port.in_waiting))

    def close(self) -> int:
        """Close the link (EOF for the firmware) and return its exit status."""
        self.port.close()
        try:
            return self.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise SessionFailed(f"firmware still running {EXIT_TIMEOUT} s after the link closed") from None


def expect_error(status: Status, call: Callable[[], object], what: str) -> None:
    """``call`` must fail with the board's ``status``."""
    try:
        call()
    except BoardProtocolError as exc:
        check(exc.status == status, f"{what}: {exc} (wanted {status.name})")
        return
    raise SessionFailed(f"{what}: succeeded, wanted {status.name}")


def expect_status(client: FixpointClient, status: Status, cmd: int, payload: bytes, what: str) -> None:
    """A raw request the client would never send must be answered with ``status``."""
    frame = client.transact(cmd, payload)
    check(frame.status == status, f"{what}: status {frame.status}, wanted {status.name}")


def inference(client: FixpointClient, data: bytes) -> None:
    client.load_input(data)
    result = client.run()
    check(result.status == Status.OK and result.model_rc == 0, f"RUN: {result}")
    check(client.read_output() == expected_output(data), "output differs from the fixture model's")


def garbage_then_ping(client: FixpointClient, rng: random.Random) -> None:
    """Noise, a doubled sync, an over-long header and a bad-CRC frame (cmd 0x55,
    answered but never taken for ours): the next request must go through."""
    noise = bytes(b if b != p.SYNC[0] else 0 for b in rng.randbytes(200))
    bad = bytearray(p.encode_frame(0xEE, 0x55, bytes(8)))
    bad[-1] ^= 0xFF
    client.port.write(noise + b"\xa5" + p.SYNC + b"\xff\xff\xef\x55" + bytes(bad) + b"\xa5")
    check(client.ping(b"after garbage") == b"after garbage", "PING after garbage")


def truncated_then_ping(client: FixpointClient) -> None:
    """A frame cut short swallows the next request: the client must time out,
    pad the link and retry -- and the swallowed request is still found when
    the padded frame is rejected and its bytes replayed."""
    retries = client.stats.retries
    timeout, client.timeout = client.timeout, 1.0
    try:
        client.port.write(p.encode_frame(0xEE, 0x55, bytes(100))[:20])
        check(client.ping(b"after truncation") == b"after truncation", "PING after a truncated frame")
    finally:
        client.timeout = timeout
    check(client.stats.retries > retries, "a truncated frame should have cost a retry")


def session(client: FixpointClient, rounds: int, rng: random.Random) -> None:
    info = client.identify(MODEL_HASH)
    check((info.board_name, info.input_size, info.output_size) == (BOARD, INPUT_SIZE, OUTPUT_SIZE), f"IDENTIFY: {info}")
    check(info.model_ready, "model not initialised")
    for n in (0, 1, 200, info.max_payload - p.RESPONSE_HEADER):  # the last one: a full frame
        data = rng.randbytes(n)
        check(client.ping(data) == data, f"PING of {n} bytes")
    for _ in range(rounds):
        inference(client, rng.randbytes(INPUT_SIZE))
    timing = client.read_timing()
    check(timing.runs == rounds and timing.min <= timing.last <= timing.max, f"READ_TIMING: {timing}")
    data = rng.randbytes(INPUT_SIZE)
    inference(client, data)
    check(client.read_output(100, OUTPUT_SIZE - 100) == expected_output(data)[-100:], "READ_OUTPUT tail")
    check(client.read_arena(0, ARENA_SIZE)[:INPUT_SIZE] == data, "READ_ARENA of the input")
    client.run_layers(1)
    expect_error(Status.MODEL_ERROR, lambda: client.run_layers(2), "RUN_LAYERS past the last layer")
    client.load_input(b"FAIL")
    expect_error(Status.MODEL_ERROR, client.run, "RUN of a failing model")
    expect_status(
        client,
        Status.BAD_RANGE,
        Command.LOAD_INPUT,
        p.load_input_payload(INPUT_SIZE - 2, b"abcd"),
        "LOAD_INPUT past the end",
    )
    expect_status(
        client, Status.BAD_RANGE, Command.READ_ARENA, p.read_arena_payload(ARENA_SIZE - 4, 8), "READ_ARENA past the end"
    )
    expect_status(client, Status.BAD_LENGTH, Command.IDENTIFY, b"x", "IDENTIFY with a payload")
    expect_status(client, Status.UNKNOWN_COMMAND, 0x7F, b"", "command 0x7f")
    garbage_then_ping(client, rng)
    truncated_then_ping(client)
    client.reset()
    check(client.read_timing().runs == 0, "READ_TIMING after RESET")
    inference(client, bytes(INPUT_SIZE))
    client.identify(MODEL_HASH)


def sanitizer_report(log_text: str) -> str:
    """The start of the first sanitizer report in the log ('' if none): the
    part that names the bug (the tail is ASan's shadow-byte legend)."""
    lines = log_text.splitlines()
    for i, line in enumerate(lines):
        if any(marker in line for marker in REPORT_MARKERS):
            return "\n".join(lines[max(0, i - 1) : i + 30])
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "sanitize" / "firmware")
    parser.add_argument("--rounds", type=int, default=5, help="inferences on random inputs")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    image = build(args.out)
    firmware = Firmware(image, args.out / "host-fw.log")
    client: FixpointClient | None = None
    failure = ""
    try:
        firmware.wait_ready()
        # No log tail in the client's errors: the report excerpt below says more.
        client = FixpointClient(firmware.port, timeout=5.0, run_timeout=30.0, retries=3, liveness=firmware.death)
        session(client, args.rounds, random.Random(args.seed))
    except (SessionFailed, BoardError) as exc:
        failure = str(exc)
    finally:
        code = firmware.close()
    report = sanitizer_report(firmware.log_path.read_text(errors="replace"))
    if failure or code != 0 or report:
        print(f"fw session: FAILED: {failure or f'firmware exit status {code}'}", file=sys.stderr)
        print(f"--- {firmware.log_path} ---\n{report or firmware.log_tail()}", file=sys.stderr)
        return 1
    assert client is not None
    print(
        f"fw session: {client.attempts} requests ({client.stats.retries} retried) to {image}, "
        f"exit status 0, no sanitizer report"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
