#!/usr/bin/env python3
"""Peak memory of `fixpoint simulate` against the size of its data file.

`fixpoint simulate` streams its samples (``.npy`` through short-lived memory
maps, ``.npz`` members inflated chunk by chunk) and streams its output ``.npz``
(one temporary ``.npy`` per output array, zipped at the end), so its peak RSS
must not grow with the file size. This script generates mlp-shaped float32
sample files ([N, 64], random normal) of each ``--sizes`` in a temporary folder
-- written in chunks, so the generator itself stays small -- calibrates the
mlp example once, runs ``python -m fixpoint.cli -q simulate`` on every file as
a subprocess and reads that child's own peak RSS (``ru_maxrss`` from
``os.wait4``: exact, no sampling). It reports peak RSS, wall time and samples/s
per file, and per format the ratio of the largest to the smallest file's peak
RSS (target <= 1.2), in ``bench/results/data_memory.md`` and ``.json``.

Usage:
    bench/bench_data_memory.py                           # 10 MB and 1 GB, .npy and .npz
    bench/bench_data_memory.py --sizes 10M,100M --formats npy
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MLP = ROOT / "examples" / "models" / "mlp"
FEATURES = 64
TARGET_RATIO = 1.2
CHUNK_ROWS = 1 << 14  # rows generated per write: 4 MB of float32

log = logging.getLogger("bench_data_memory")


@dataclass
class Run:
    format: str
    file_bytes: int
    samples: int
    peak_rss_mb: float
    wall_s: float

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.wall_s if self.wall_s else 0.0


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("B")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def _header(rows: int) -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": (rows, FEATURES)})
    return buf.getvalue()


def _write_rows(fp, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for start in range(0, rows, CHUNK_ROWS):
        count = min(CHUNK_ROWS, rows - start)
        fp.write(rng.standard_normal((count, FEATURES), dtype=np.float32).tobytes())


def make_samples(path: Path, size: int) -> int:
    """An .npy or .npz (member 'input', DEFLATE level 1) of about ``size`` bytes; returns the row count."""
    rows = max(1, size // (4 * FEATURES))
    if path.suffix == ".npy":
        with open(path, "wb") as fp:
            fp.write(_header(rows))
            _write_rows(fp, rows, seed=rows)
    else:
        with (
            zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
            zf.open("input.npy", "w", force_zip64=True) as member,
        ):
            member.write(_header(rows))
            _write_rows(member, rows, seed=rows)
    return rows


def fixpoint_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "fixpoint.cli", "-q", *map(str, args)]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "sdk"), os.environ.get("PYTHONPATH", "")])}


def make_plan(work: Path) -> Path:
    out = work / "plan"
    subprocess.run(
        fixpoint_cmd("calibrate", MLP / "model.onnx", "--data", MLP / "calib.npz", "--board", "host", "-o", out),
        check=True,
        env=child_env(),
    )
    return out / "plan.fxplan"


def measure(cmd: list[str]) -> tuple[float, float]:
    """(peak RSS in MB, wall seconds) of one child process, from its own rusage."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=child_env())
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    return usage.ru_maxrss / 1024.0, wall  # ru_maxrss is in KiB on Linux


def check_output(path: Path, rows: int) -> None:
    """The output holds one row per sample (read from the member headers only)."""
    from fixpoint.dataio.sources import read_npy_header

    with zipfile.ZipFile(path) as zf, zf.open("output_int.npy") as member:
        shape = read_npy_header(member, str(path))[0]
    if shape[0] != rows:
        raise SystemExit(f"{path}: output has {shape[0]} rows for {rows} samples")


def bench(work: Path, sizes: list[int], formats: list[str]) -> list[Run]:
    plan = make_plan(work)
    runs = []
    for fmt in formats:
        for size in sizes:
            data = work / f"samples_{size}.{fmt}"
            log.info("generating %s (%d bytes)", data.name, size)
            rows = make_samples(data, size)
            out = work / f"out_{size}_{fmt}.npz"
            log.info("simulating %d samples from %s", rows, data.name)
            peak, wall = measure(fixpoint_cmd("simulate", "--plan", plan, "--data", data, "-o", out))
            check_output(out, rows)
            runs.append(Run(fmt, data.stat().st_size, rows, peak, wall))
            log.info("%s: peak RSS %.1f MB, %.1f s", data.name, peak, wall)
            data.unlink()
            out.unlink()
    return runs


def ratios(runs: list[Run]) -> dict[str, float]:
    """Per format: peak RSS of the largest file over that of the smallest."""
    result = {}
    for fmt in dict.fromkeys(r.format for r in runs):
        mine = sorted((r for r in runs if r.format == fmt), key=lambda r: r.file_bytes)
        result[fmt] = mine[-1].peak_rss_mb / mine[0].peak_rss_mb
    return result


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.1f}"


def render(runs: list[Run], by_format: dict[str, float], command: str, load: tuple[float, float]) -> str:
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{datetime.date.today().isoformat()}; load average {load[0]:.2f} before, {load[1]:.2f} after "
        "(wall times stretch with other load, peak RSS does not)"
    )
    lines = [
        "# Data memory: peak RSS of `fixpoint simulate` vs data file size",
        "",
        f"* command: `{command}`",
        f"* machine: {machine}",
        (
            "* data: mlp-shaped float32 samples [N, 64], random normal; .npz = one DEFLATE (level 1) member "
            "'input'; the plan is the mlp example calibrated for the host board"
        ),
        (
            "* peak RSS: `ru_maxrss` of the `python -m fixpoint.cli -q simulate` child (os.wait4), including "
            "the interpreter, numpy and the compiled runtime; wall: whole process"
        ),
        f"* target: peak RSS of the largest over the smallest file <= {TARGET_RATIO}",
        "",
        "| format | file MB | samples | peak RSS MB | wall s | samples/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.format} | {_mb(r.file_bytes)} | {r.samples:,} | {r.peak_rss_mb:.1f} | {r.wall_s:.1f} | "
        f"{r.samples_per_s:,.0f} |"
        for r in runs
    ]
    lines += ["", "| format | peak RSS largest / smallest | target |", "|---|---:|---|"]
    lines += [
        f"| {fmt} | {ratio:.3f} | {'met' if ratio <= TARGET_RATIO else 'MISSED'} (<= {TARGET_RATIO}) |"
        for fmt, ratio in by_format.items()
    ]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10M,1G", help="data file sizes, comma separated (default %(default)s)")
    parser.add_argument("--formats", default="npy,npz", help="npy, npz or both (default %(default)s)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the generated files (default: temp)")
    parser.add_argument("--out", type=Path, default=RESULTS / "data_memory.md", help="markdown table (.json beside)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sizes = sorted(parse_size(s) for s in args.sizes.split(",") if s)
    formats = [f for f in args.formats.split(",") if f]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        runs = bench(Path(tmp), sizes, formats)
    load = (load_before, os.getloadavg()[0])
    by_format = ratios(runs)
    command = " ".join(["bench/bench_data_memory.py", *(argv if argv is not None else sys.argv[1:])])
    text = render(runs, by_format, command, load)
    write_atomic(args.out, text)
    write_atomic(
        args.out.with_suffix(".json"),
        json.dumps(
            {
                "runs": [{**asdict(r), "samples_per_s": r.samples_per_s} for r in runs],
                "ratio": by_format,
                "target_ratio": TARGET_RATIO,
                "load_average": load,
            },
            indent=1,
        ),
    )
    print(text)
    return 0 if all(r <= TARGET_RATIO for r in by_format.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
