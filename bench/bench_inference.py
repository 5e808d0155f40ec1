#!/usr/bin/env python3
"""Whole-inference instructions, flash and RAM per example and zoo model per board.

For every ``examples/models/*`` and ``examples/zoo/*`` model (``zoo/<name>``) and every board of
``--boards`` this calibrates the model (``fixpoint calibrate``, default options; once per distinct
requantization profile, boards with the same profile share the plan), then runs ``fixpoint hil``
with a few eval samples (``-n``; every output byte is compared with the simulation) and reads from
its JSON result the firmware's counter per inference (instructions under QEMU ``-icount``), flash
(text + data) and RAM (data + bss) of the image; from the image (``nm``) the bytes of the
model's constant blob (weights, biases, multipliers), so that ``code`` = flash - constants is the
runtime, model tables and firmware harness.

Instruction counts and sizes are deterministic: the figures do not depend on the machine's load.

Usage:
    bench/bench_inference.py                                   # all models, the four default boards
    bench/bench_inference.py --models cnn_bn_res,zoo/unet --boards mps2-an386 -n 2

Writes bench/results/inference.md and .json; exits 1 when a run is not bit-exact or fails.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdk"))

from fixpoint.boards import load_board  # noqa: E402

RESULTS = ROOT / "bench" / "results"
EXAMPLES = ROOT / "examples" / "models"
ZOO = ROOT / "examples" / "zoo"
DEFAULT_BOARDS = "mps2-an386,mps3-an547,riscv32-virt,mps2-an385"
CONSTS = re.compile(r"^[a-z0-9_]+_consts$")

log = logging.getLogger("bench_inference")


def model_folder(model: str) -> Path:
    return ZOO / model.removeprefix("zoo/") if model.startswith("zoo/") else EXAMPLES / model


def all_models() -> list[str]:
    """Every example model, then every zoo model with its data (``make zoo-data``)."""
    examples = sorted(p.name for p in EXAMPLES.iterdir() if (p / "model.onnx").is_file())
    zoo = sorted(f"zoo/{p.name}" for p in ZOO.iterdir() if (p / "model.onnx").is_file() and (p / "eval.npz").is_file())
    return examples + zoo


def fixpoint(*args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "sdk"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "fixpoint.cli", "-q", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=ROOT,
    )


def error_line(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.startswith("error:")]
    return lines[0] if lines else (proc.stderr.strip().splitlines() or ["failed"])[-1]


def const_bytes(work: Path, board: str) -> int:
    """Bytes of the model's constant blob in the firmware image the hil run built."""
    images = sorted(work.rglob("*.elf"))
    if not images:
        return 0
    nm = shutil.which(load_board(board).compiler.tool("nm"))
    if nm is None:
        return 0
    out = subprocess.run(
        [nm, "--size-sort", "--radix=d", str(images[0])], capture_output=True, text=True, check=True
    ).stdout
    return sum(int(p[0]) for p in (ln.split() for ln in out.splitlines()) if len(p) == 3 and CONSTS.match(p[2]))


def run_one(model: str, board: str, plan: Path, samples: int, work: Path) -> dict:
    folder = model_folder(model)
    out = work / model / board
    proc = fixpoint(
        "hil",
        "--board",
        board,
        "--plan",
        plan,
        "--data",
        folder / "eval.npz",
        "--model",
        folder / "model.onnx",
        "-n",
        samples,
        "--max-drop",
        100,
        "--json",
        out / "hil.json",
        "--work-dir",
        out / "hil",
    )
    row = {"model": model, "board": board}
    if not (out / "hil.json").is_file():
        return {**row, "error": error_line(proc)}
    r = json.loads((out / "hil.json").read_text())
    consts = const_bytes(out / "hil", board)
    return {
        **row,
        "samples": r["n_samples"],
        "bit_exact": r["bit_exact"],
        "unit": r.get("counter_unit", ""),
        "count": r.get("count_mean"),
        "flash": r.get("flash_bytes", 0),
        "ram": r.get("ram_bytes", 0),
        "arena": r.get("arena_bytes", 0),
        "consts": consts,
        "code": r.get("flash_bytes", 0) - consts,
    }


def bench_model(model: str, boards: list[str], samples: int, work: Path) -> list[dict]:
    folder = model_folder(model)
    plans: dict[str, Path] = {}
    rows = []
    for board in boards:
        profile = repr(load_board(board).requant_profile())
        if profile not in plans:
            out = work / model / f"plan-{board}"
            proc = fixpoint(
                "calibrate", folder / "model.onnx", "--data", folder / "calib.npz", "--board", board, "-o", out
            )
            if proc.returncode != 0:
                rows.append({"model": model, "board": board, "error": f"calibrate: {error_line(proc)}"})
                continue
            plans[profile] = out / "plan.fxplan"
        row = run_one(model, board, plans[profile], samples, work)
        log.info(
            "%s %s: %s",
            model,
            board,
            row.get("error")
            or f"{row['bit_exact']}/{row['samples']} bit-exact, {row['count']:.0f} {row['unit']}, flash {row['flash']}",
        )
        rows.append(row)
    return rows


def render(rows: list[dict], boards: list[str], samples: int, command: str) -> str:
    lines = [
        "# Whole inference per model and board: instructions, flash, RAM",
        "",
        f"* command: `{command}` ({datetime.date.today().isoformat()}); part of `make bench`",
        f"* {samples} eval samples per model and board through `fixpoint hil` (each output byte compared with "
        "the simulation); count = the firmware's counter per inference, instructions under QEMU -icount "
        "(exact, load-independent)",
        "* flash = text + data of the image, RAM = data + bss; consts = the model's constant blob "
        "(weights, biases, multipliers); code = flash - consts (runtime, model tables, firmware harness)",
        "* each model calibrated with default options, once per distinct requantization profile",
        "",
    ]
    head = "| model |" + "".join(f" {b} instructions | {b} flash | {b} code | {b} RAM |" for b in boards)
    lines += [head, "|---|" + "---:|" * (4 * len(boards))]
    by = {(r["model"], r["board"]): r for r in rows}
    for model in dict.fromkeys(r["model"] for r in rows):
        cells = [model]
        for b in boards:
            r = by.get((model, b))
            if r is None or "error" in r:
                cells += ["error", "-", "-", "-"]
            else:
                mark = "" if r["bit_exact"] == r["samples"] else f" (NOT bit-exact {r['bit_exact']}/{r['samples']})"
                cells += [f"{r['count']:,.0f}{mark}", f"{r['flash']:,}", f"{r['code']:,}", f"{r['ram']:,}"]
        lines.append("| " + " | ".join(cells) + " |")
    errors = [r for r in rows if "error" in r]
    if errors:
        lines += ["", "Failures:", ""] + [f"* {r['model']} on {r['board']}: {r['error']}" for r in errors]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boards", default=DEFAULT_BOARDS)
    parser.add_argument("--models", default="", help="comma separated (zoo models as zoo/<name>; default: all)")
    parser.add_argument("-n", "--samples", type=int, default=2, help="eval samples per model and board")
    parser.add_argument("--out", type=Path, default=RESULTS / "inference.md", help="markdown table (.json beside)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    boards = [b for b in args.boards.split(",") if b]
    models = [m for m in args.models.split(",") if m] or all_models()
    with tempfile.TemporaryDirectory(prefix="fixpoint-bench-inference-") as tmp:
        rows = [r for m in models for r in bench_model(m, boards, args.samples, Path(tmp))]
    command = " ".join(["bench/bench_inference.py", *(argv if argv is not None else sys.argv[1:])])
    write_atomic(args.out, render(rows, boards, args.samples, command))
    write_atomic(args.out.with_suffix(".json"), json.dumps({"boards": boards, "rows": rows}, indent=1) + "\n")
    bad = [r for r in rows if "error" in r or r["bit_exact"] != r["samples"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
