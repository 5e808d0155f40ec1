"""Farm benchmark: the same farm with 1 and with 2 workers -- wall time, jobs per minute and HIL
samples per second over the whole run (a farm keeps its boards busy in parallel).

    python bench/bench_farm.py [--boards mps2-an386,riscv32-virt] [--models cnn_bn_res] [-n 200]

Writes bench/results/farm.md and farm.json. Plans and firmware objects are warmed by a first
run, so the timed runs measure launch + HIL (+ the cached build), as a nightly farm mostly does.
Wall-clock figures: measure on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from fixpoint.farm import Farm, History, load_farm

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def farm_text(boards: list[str], models: list[str], samples: int) -> str:
    lines = [
        "[farm]",
        'name = "bench"',
        f"samples = {samples}",
        "",
        "[health]",
        "enabled = false",
        "",
        "[thresholds]",
        "max_drop_pp = 100.0",
    ]
    lines += [x for b in boards for x in ("", "[[boards]]", f'name = "{b}"')]
    lines += [x for m in models for x in ("", "[[models]]", f'name = "{m}"')]
    return "\n".join(lines + ["", "[[configs]]", 'name = "default"']) + "\n"


def timed_run(farm_file: Path, out: Path, workers: int) -> dict:
    spec = load_farm(farm_file)
    spec.workers = workers
    with History(str(out / "history.sqlite")) as history:
        start = time.perf_counter()
        outcome = Farm(spec, history, out).run()
        wall = time.perf_counter() - start
    failed = [r.job_id for r in outcome.results if r.verdict != "PASSED"]
    if failed:
        raise SystemExit(f"bench_farm: jobs failed: {', '.join(failed)} (see {outcome.run_dir})")
    samples = sum(r.n_samples for r in outcome.results)
    return {
        "workers": workers,
        "jobs": len(outcome.results),
        "samples": samples,
        "wall_s": wall,
        "jobs_per_min": len(outcome.results) / wall * 60,
        "samples_per_s": samples / wall,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default="mps2-an386,riscv32-virt")
    parser.add_argument("--models", default="cnn_bn_res")
    parser.add_argument("-n", "--samples", type=int, default=200)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    boards, models = args.boards.split(","), args.models.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-farm-") as tmp:
        out = Path(tmp)
        farm_file = out / "bench.toml"
        farm_file.write_text(farm_text(boards, models, args.samples))
        timed_run(farm_file, out, 2)  # warm: plans and firmware objects
        rows = [timed_run(farm_file, out, w) for w in (1, 2)]
    speedup = rows[0]["wall_s"] / rows[1]["wall_s"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "farm.json").write_text(
        json.dumps({"boards": boards, "models": models, "rows": rows, "speedup": speedup}, indent=1) + "\n"
    )
    lines = [
        "# Farm throughput",
        "",
        f"`python bench/bench_farm.py --boards {args.boards} --models {args.models} "
        f"-n {args.samples}`: {len(boards) * len(models)} jobs, warmed plans and object cache.",
        "",
        "| workers | jobs | samples | wall s | jobs/min | samples/s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['workers']} | {r['jobs']} | {r['samples']} | {r['wall_s']:.1f} | {r['jobs_per_min']:.2f} | "
        f"{r['samples_per_s']:.1f} |"
        for r in rows
    ]
    lines += ["", f"2 workers vs 1: {speedup:.2f}x (wall-clock; depends on the machine's load)."]
    (RESULTS / "farm.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
