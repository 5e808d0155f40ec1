"""HIL benchmark: per board and example model, samples/s, link utilisation, instructions, sizes.

    python bench/bench_hil.py [--boards host,mps2-an386,...] [--models mlp,...] [-n 200]
                              [--parallel cnn_bn_res:mps2-an386] [--rounds 5]

Also measures two instances of one board running the same HIL job at once
against one alone (`--parallel MODEL:BOARD`, "" to skip), alternated
`--rounds` times with the medians reported: the per-board throughput of a
timed HIL loop and what a farm gets from a second board on this machine
(wall-clock figures: run on a quiet machine); and one job on the plain path
against double buffering, alternated (`--double-buffer MODEL:BOARD`).

Writes bench/results/hil.md and hil.json. Every run is also a bit-exactness
check; a mismatch is reported in the table (and makes the script exit 1).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from fixpoint.boards import list_boards, load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.hil import HilJob, run_hil
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import CalibrationJob, run_calibration

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "models"
RESULTS = ROOT / "bench" / "results"


def emulated_boards() -> list[str]:
    return [b for b in list_boards() if load_board(b).kind in ("host", "qemu")]


def hil_job(model: str, board_name: str, n: int, work: Path) -> HilJob:
    board = load_board(board_name)
    folder = EXAMPLES / model
    job = CalibrationJob(
        model_path=folder / "model.onnx",
        data_path=folder / "calib.npz",
        profile=board.requant_profile(),
        calibration=CalibrationConfig(progress=False),
        lowering=LowerOptions(engines=list(board.accelerator.engines) or None),
        board_name=board.name,
    )
    outputs = run_calibration(job, work / model / board.name / "plan")
    with np.load(folder / "eval.npz") as data:
        x, labels = data["input"][:n], data["label"][:n]
    return HilJob(
        plan=outputs.plan,
        board=board.name,
        x=x,
        labels=labels,
        model_path=folder / "model.onnx",
        work_dir=work / model / board.name,
        progress=False,
        localize=False,
    )


def bench_one(model: str, board_name: str, n: int, work: Path) -> dict:
    result = run_hil(hil_job(model, board_name, n, work))
    board = load_board(board_name)
    return {
        "model": model,
        "board": board.name,
        "samples": result.n_samples,
        "bit_exact": result.bit_exact,
        "samples_per_s": result.samples_per_second,
        "link_kB_per_s": result.link_bytes_per_second / 1000,
        "link_share": result.link_share,
        "counter_unit": result.counter_unit,
        "count_per_inference": result.count_mean,
        "arena_bytes": result.arena_bytes,
        "flash_bytes": result.flash_bytes,
        "ram_bytes": result.ram_bytes,
        "board_top1": result.board_top1,
        "float_top1": result.float_top1,
    }


def _timed_hil(job: HilJob, barrier, out) -> None:
    """Child process: one HIL loop, timed from a start shared with its sibling
    (the barrier) to its last sample; build and launch are not counted."""
    span = {"start": 0.0, "end": 0.0}

    def on_stage(name: str) -> None:
        if name == "hil":
            barrier.wait()
            span["start"] = time.monotonic()

    def on_sample(_index: int, _outcome: str) -> None:
        span["end"] = time.monotonic()

    result = run_hil(HilJob(**{**job.__dict__, "on_stage": on_stage, "on_sample": on_sample}))
    out.put({"start": span["start"], "end": span["end"], "samples": result.n_samples, "bit_exact": result.bit_exact})


def _loops_at_once(base: HilJob, copies: int, tag: str) -> tuple[float, bool]:
    """``copies`` instances of the board, each HIL loop in its own process (as the farm
    runs them: no shared interpreter lock), started together; samples/s over the time
    until the slowest loop's last sample, and whether every sample was bit-exact."""
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(copies), ctx.Queue()
    jobs = [
        HilJob(**{**base.__dict__, "work_dir": base.work_dir.parent / f"{base.work_dir.name}-{tag}{i}"})
        for i in range(copies)
    ]
    procs = [ctx.Process(target=_timed_hil, args=(job, barrier, out)) for job in jobs]
    for proc in procs:
        proc.start()
    spans = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    wall = max(s["end"] for s in spans) - min(s["start"] for s in spans)
    samples = sum(s["samples"] for s in spans)
    return samples / max(wall, 1e-9), all(s["bit_exact"] == s["samples"] for s in spans)


def bench_parallel(model: str, board_name: str, n: int, work: Path, rounds: int = 3) -> dict:
    """One board alone against two instances of it at once, alternated ``rounds`` times
    (the load of a shared machine drifts); the medians of each are the figures. The
    "alone" runs are also the per-board throughput figure of the issue."""
    base = hil_job(model, board_name, n, work)
    alone: list[float] = []
    two: list[float] = []
    exact = True
    for r in range(rounds):
        rate, ok = _loops_at_once(base, 1, f"alone{r}-")
        alone.append(rate)
        exact = exact and ok
        rate, ok = _loops_at_once(base, 2, f"two{r}-")
        two.append(rate)
        exact = exact and ok
        logging.getLogger(__name__).info("round %d: one %.1f, two %.1f samples/s", r, alone[-1], two[-1])
    one_median, two_median = statistics.median(alone), statistics.median(two)
    return {
        "model": model,
        "board": board_name,
        "samples": n,
        "bit_exact": exact,
        "rounds": rounds,
        "one_board_samples_per_s": one_median,
        "two_boards_samples_per_s": two_median,
        "speedup": two_median / max(one_median, 1e-9),
        "per_round": {"one": alone, "two": two},
    }


def bench_double_buffer(model: str, board_name: str, n: int, work: Path, rounds: int = 3) -> dict:
    """Plain path vs double buffering, alternated ``rounds`` times (load drifts); best of each."""
    base = hil_job(model, board_name, n, work)
    rates: dict[bool, list[float]] = {False: [], True: []}
    exact = True
    for _ in range(rounds):
        for double in (False, True):
            result = run_hil(
                HilJob(
                    **{
                        **base.__dict__,
                        "double_buffer": double,
                        "work_dir": work / model / f"{board_name}-db{int(double)}",
                    }
                )
            )
            exact = exact and result.bit_exact == n
            rates[double].append(result.samples_per_second)
    plain, double = max(rates[False]), max(rates[True])
    return {
        "model": model,
        "board": board_name,
        "samples": n,
        "bit_exact": exact,
        "plain_samples_per_s": plain,
        "double_samples_per_s": double,
        "speedup": double / max(plain, 1e-9),
        "rounds": {"plain": rates[False], "double": rates[True]},
    }


def double_buffer_markdown(row: dict) -> str:
    return (
        "\n## Double buffering\n\n"
        f"`--double-buffer {row['model']}:{row['board']}`: the same HIL job ({row['samples']} samples) on the "
        "plain path (LOAD_INPUT, RUN, READ_OUTPUT) and double-buffered (LOAD_NEXT behind RUN_NEXT, output "
        "inline), alternated; best of each.\n\n"
        "| model | board | bit-exact | plain samples/s | double-buffered samples/s | speedup |\n"
        "|---|---|---|---|---|---|\n"
        f"| {row['model']} | {row['board']} | {'yes' if row['bit_exact'] else 'NO'} | "
        f"{row['plain_samples_per_s']:.1f} | {row['double_samples_per_s']:.1f} | {row['speedup']:.2f}x |\n"
    )


def parallel_markdown(row: dict) -> str:
    rounds = row["per_round"]
    per_round = "; ".join(f"{a:.1f} / {b:.1f}" for a, b in zip(rounds["one"], rounds["two"]))
    return (
        "\n## One board, and two boards in parallel\n\n"
        f"`--parallel {row['model']}:{row['board']} --rounds {row['rounds']}`: the same HIL job "
        f"({row['samples']} samples) on one board, then on two instances of it at once, alternated "
        f"{row['rounds']} times; each HIL loop in its own process, as the farm runs jobs. A round's rate is all "
        "samples over the time from the loops' common start (after build and launch) to the slowest loop's "
        "last sample. The figures are the medians over the rounds; the per-round rates (one / two) are "
        f"{per_round} samples/s.\n\n"
        "| model | board | bit-exact | one board samples/s (median) | two boards samples/s (median) | "
        "speedup |\n"
        "|---|---|---|---|---|---|\n"
        f"| {row['model']} | {row['board']} | {'yes' if row['bit_exact'] else 'NO'} | "
        f"{row['one_board_samples_per_s']:.1f} | {row['two_boards_samples_per_s']:.1f} | "
        f"{row['speedup']:.2f}x |\n"
    )


def to_markdown(rows: list[dict], n: int) -> str:
    head = (
        "| model | board | bit-exact | samples/s | link kB/s (while transferring) | link share | "
        "count / inference | arena B | flash B | RAM B | board top-1 | float top-1 |"
    )
    lines = [
        f"# HIL benchmark ({n} eval samples per model and board)",
        "",
        "Command: `python bench/bench_hil.py` (via `make bench`). Counts are instructions on QEMU "
        "(`-icount`), nanoseconds on the host board. Samples are double-buffered where the firmware has a staging "
        "buffer (docs/serial-protocol.md).",
        "",
        head,
        "|" + "---|" * 12,
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['board']} | {r['bit_exact']}/{r['samples']} | {r['samples_per_s']:.1f} | "
            f"{r['link_kB_per_s']:.1f} | {r['link_share'] * 100:.0f}% | {r['count_per_inference']:.0f} "
            f"{r['counter_unit']} | {r['arena_bytes']} | {r['flash_bytes']} | {r['ram_bytes']} | "
            f"{_pct(r['board_top1'])} | {_pct(r['float_top1'])} |"
        )
    return "\n".join(lines) + "\n"


def _pct(v) -> str:
    return "n/a" if v is None else f"{v * 100:.1f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default=",".join(emulated_boards()))
    parser.add_argument("--models", default=",".join(sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())))
    parser.add_argument("-n", "--samples", type=int, default=200)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench-hil")
    parser.add_argument(
        "--parallel",
        default="cnn_bn_res:mps2-an386",
        metavar="MODEL:BOARD",
        help="two instances of BOARD against one ('' to skip)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternated one-board / two-board rounds")
    parser.add_argument(
        "--double-buffer",
        default="cnn_bn_res:mps2-an386",
        metavar="MODEL:BOARD",
        help="plain path against double buffering ('' to skip)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = []
    for model in args.models.split(","):
        for board in args.boards.split(","):
            row = bench_one(model, board, args.samples, args.work)
            print(
                f"{model:12s} {board:14s} {row['bit_exact']}/{row['samples']} bit-exact "
                f"{row['samples_per_s']:8.1f} samples/s",
                flush=True,
            )
            rows.append(row)
    markdown = to_markdown(rows, args.samples)
    parallel = None
    if args.parallel:
        model, _, board = args.parallel.partition(":")
        parallel = bench_parallel(model, board, args.samples, args.work, args.rounds)
        print(
            f"{model} on {board}: one {parallel['one_board_samples_per_s']:.1f} samples/s, two "
            f"{parallel['two_boards_samples_per_s']:.1f} samples/s ({parallel['speedup']:.2f}x)",
            flush=True,
        )
        markdown += parallel_markdown(parallel)
    double = None
    if args.double_buffer:
        model, _, board = args.double_buffer.partition(":")
        double = bench_double_buffer(model, board, args.samples, args.work)
        print(
            f"{model} on {board}: plain {double['plain_samples_per_s']:.1f} samples/s, double-buffered "
            f"{double['double_samples_per_s']:.1f} samples/s ({double['speedup']:.2f}x)",
            flush=True,
        )
        markdown += double_buffer_markdown(double)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hil.md").write_text(markdown)
    (RESULTS / "hil.json").write_text(
        json.dumps({"rows": rows, "parallel": parallel, "double_buffer": double}, indent=1)
    )
    ok = all(r["bit_exact"] == r["samples"] for r in rows) and all(
        extra is None or extra["bit_exact"] for extra in (parallel, double)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
