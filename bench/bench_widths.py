#!/usr/bin/env python3
"""Per-layer activation widths on one model: int8, the calibrator's default, chosen layers at int16, int16.

For each variant this runs ``fixpoint calibrate`` (default settings plus the variant's options), ``fixpoint
eval`` on the whole eval set (float vs integer accuracy and output SQNR) and ``fixpoint hil`` on each board
(``-n`` samples, every output byte compared with the simulation; instructions per inference under QEMU
``-icount``), and counts the plan's int16 tensors and requantize layers.

Usage:
    bench/bench_widths.py                                 # zoo/kw_transformer, mps2-an386
    bench/bench_widths.py --model zoo/kw_transformer --boards mps2-an386,riscv32-virt -n 4

Writes bench/results/widths.md and .json; exits 1 when a run fails or is not bit-exact.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdk"))

from fixpoint.plan import load_plan  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ZOO = ROOT / "examples" / "zoo"
# (label, calibrate options): the int16 layers of kw_transformer are its LayerNorms and attention MatMuls
VARIANTS = (
    ("int8 (every layer)", ("--activation-bits-override", "*=8")),
    ("default (measured choice)", ()),
    (
        "layer_norm + batch_matmul int16",
        ("--activation-bits-override", "*LayerNormalization=16", "--activation-bits-override", "*attn/MatMul*=16"),
    ),
    ("int16 (every layer)", ("--activation-bits", "16")),
)

log = logging.getLogger("bench_widths")


def fixpoint(*args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "sdk"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "fixpoint.cli", "-q", *map(str, args)], capture_output=True, text=True, env=env
    )


def checked(proc: subprocess.CompletedProcess, what: str) -> None:
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")] or proc.stderr.splitlines()
        raise RuntimeError(f"{what}: {lines[-1] if lines else f'exit {proc.returncode}'}")


def plan_counts(plan_path: Path) -> dict:
    plan = load_plan(plan_path)
    return {
        "int16_tensors": sum(t.dtype == "int16" for t in plan.tensors),
        "tensors": len(plan.tensors),
        "requantize_layers": sum(la.op == "requantize" for la in plan.layers),
        "layers": len(plan.layers),
        "arena_bytes": plan.arena_size,
    }


def bench_variant(folder: Path, label: str, options: tuple, boards: list[str], samples: int, work: Path) -> dict:
    row: dict = {"variant": label, "options": " ".join(options) or "(none)", "boards": {}}
    for board in boards:
        out = work / f"{len(os.listdir(work))}-{board}"
        proc = fixpoint(
            "calibrate", folder / "model.onnx", "--data", folder / "calib.npz", "--board", board, "-o", out, *options
        )
        checked(proc, f"{label}: calibrate on {board}")
        if "counts" not in row:
            row["counts"] = plan_counts(out / "plan.fxplan")
            proc = fixpoint(
                "eval",
                folder / "model.onnx",
                "--plan",
                out / "plan.fxplan",
                "--data",
                folder / "eval.npz",
                "--json",
                out / "eval.json",
            )
            checked(proc, f"{label}: eval")
            row["eval"] = json.loads((out / "eval.json").read_text())
            row["eval"].pop("per_layer", None)
        proc = fixpoint(
            "hil",
            "--board",
            board,
            "--plan",
            out / "plan.fxplan",
            "--data",
            folder / "eval.npz",
            "--model",
            folder / "model.onnx",
            "-n",
            str(samples),
            "--json",
            out / "hil.json",
            "--work-dir",
            out / "hil",
        )
        checked(proc, f"{label}: hil on {board}")
        row["boards"][board] = json.loads((out / "hil.json").read_text())
    return row


def _hil_cell(result: dict) -> str:
    exact = f"{result['bit_exact']}/{result['n_samples']} bit-exact"
    if result.get("count_mean") is None:
        return exact
    unit = result.get("counter_unit", "counts")
    return f"{exact}, {result['count_mean'] / 1e6:.2f} M {unit}, flash {result['flash_bytes']}"


def render(rows: list[dict], model: str, boards: list[str], samples: int, command: str) -> str:
    lines = [
        f"# Per-layer activation widths: {model}",
        "",
        f"* `{command}` on {datetime.date.today().isoformat()}; eval: the whole eval set through `fixpoint eval`; "
        f"boards: {samples} eval samples through `fixpoint hil` (each output byte compared with the simulation), "
        "instructions per inference under QEMU `-icount` (deterministic)",
        "",
        "| variant | int16 tensors | requantize layers | arena (B) | float top-1 | integer top-1 | drop (pp) | "
        "output SQNR (dB) | " + " | ".join(boards) + " |",
        "|---|---:|---:|---:|---:|---:|---:|---:|" + "---|" * len(boards),
    ]
    for r in rows:
        c, e = r["counts"], r["eval"]
        sqnr = e.get("output_sqnr_db")
        sqnr = "; ".join(f"{v:.1f}" for v in sqnr.values()) if isinstance(sqnr, dict) else f"{sqnr:.1f}"
        cells = [_hil_cell(r["boards"][b]) for b in boards]
        lines.append(
            f"| {r['variant']} | {c['int16_tensors']}/{c['tensors']} | {c['requantize_layers']} | {c['arena_bytes']} | "
            f"{100 * e['float_metric']:.2f}% | {100 * e['int_metric']:.2f}% | {100 * e['drop']:.2f} | {sqnr} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="zoo/kw_transformer")
    parser.add_argument("--boards", default="mps2-an386")
    parser.add_argument("-n", "--samples", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS / "widths.md", help="markdown table (.json beside)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    folder = ZOO / args.model.removeprefix("zoo/")
    boards = [b for b in args.boards.split(",") if b]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_widths_") as tmp:
        for label, options in VARIANTS:
            log.info("%s: %s", args.model, label)
            try:
                rows.append(bench_variant(folder, label, options, boards, args.samples, Path(tmp)))
            except RuntimeError as exc:
                log.error("%s", exc)
                return 1
    command = "bench/bench_widths.py " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(rows, args.model, boards, args.samples, command.strip()))
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1, default=str) + "\n")
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
