"""`make bench`: every benchmark in turn; tables land in bench/results/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS = [
    "bench_sim.py",
    "bench_calibrate.py",
    "bench_hil.py",
    "bench_data_memory.py",
    "bench_kernel_link.py",
    "bench_kernels.py",
    "bench_farm.py",
    "bench_inference.py",
]


def main() -> int:
    failed = []
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        if subprocess.run([sys.executable, str(BENCH / script)], check=False).returncode != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
