"""Measure the serial link of boards: round-trip time and payload throughput
in both directions, with the loopback model (runtime/firmware/models/).

    python -m fixpoint.boards.linkbench [board ...]      (default: all runnable)

A benchmark, not a test: numbers depend on the host's load.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .build import build_firmware
from .loader import list_boards, load_board
from .paths import firmware_dir
from .runner import open_board

log = logging.getLogger(__name__)

LOOPBACK_MODEL = firmware_dir() / "models" / "loopback_model.c"
LOOPBACK_HASH = "4c4f4f504241434b" + "0" * 48


@dataclass(frozen=True)
class LinkStats:
    board: str
    rtt_ms: float  # median empty PING round trip
    up_kbs: float  # host -> target payload kB/s (LOAD_INPUT)
    down_kbs: float  # target -> host payload kB/s (READ_OUTPUT)


def measure(board_name: str, work: Path, volume: int = 16384, pings: int = 50) -> LinkStats:
    firmware = build_firmware(board_name, [LOOPBACK_MODEL], out_dir=work / board_name)
    with open_board(board_name, firmware, expected_hash=LOOPBACK_HASH) as session:
        client = session.client
        rtts = []
        for _ in range(pings):
            start = time.perf_counter()
            client.ping()
            rtts.append(time.perf_counter() - start)
        data = bytes(range(256)) * (volume // 256)
        start = time.perf_counter()
        client.load_input(data)
        up = time.perf_counter() - start
        client.run()
        start = time.perf_counter()
        echoed = client.read_output(len(data))
        down = time.perf_counter() - start
        if echoed != data:
            raise RuntimeError(f"{board_name}: loopback data corrupted")
    return LinkStats(board_name, 1000 * statistics.median(rtts), len(data) / up / 1000, len(data) / down / 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("boards", nargs="*", help="board names (default: all but hardware)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    names = args.boards or [n for n in list_boards() if load_board(n).kind != "hardware"]
    print(f"{'board':16} {'rtt ms':>8} {'up kB/s':>9} {'down kB/s':>10}")
    with tempfile.TemporaryDirectory(prefix="fixpoint-linkbench-") as tmp:
        for name in names:
            stats = measure(name, Path(tmp))
            print(f"{stats.board:16} {stats.rtt_ms:8.2f} {stats.up_kbs:9.1f} {stats.down_kbs:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
