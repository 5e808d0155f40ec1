#!/usr/bin/env python3
"""Instructions per layer of an example model's firmware on an emulated Cortex-M board.

Calibrates the model for the board (``fixpoint calibrate``, default options), generates its C
for the board (the kernels the board's core gets), and links it into
``runtime/firmware/kernel_check/kc_profile.c``, which runs layers [0, k) for every k on the
first eval sample and prints the counter (instructions under QEMU ``-icount``: exact). Layer k's
count is the difference of two runs, so it includes the executor's work for that layer.

Usage:
    bench/profile_layers.py cnn_bn_res [--board mps2-an386] [--kernels auto|ref]

Writes bench/results/profile_<model>_<board>.md.
"""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdk"))

from fixpoint.boards import load_board  # noqa: E402
from fixpoint.boards.kernel_fw import (  # noqa: E402
    build_kernel_firmware,
    fast_entry_sources,
    kernel_sources,
    run_kernel_firmware,
)
from fixpoint.boards.paths import runtime_dir  # noqa: E402
from fixpoint.codegen import generate  # noqa: E402
from fixpoint.codegen.resolver import kernel_entries  # noqa: E402
from fixpoint.plan import load_plan  # noqa: E402
from fixpoint.sim.executor import quantize_input  # noqa: E402

RESULTS = ROOT / "bench" / "results"
EXAMPLES = ROOT / "examples" / "models"
LINE = re.compile(r"^layers (\d+) count=(\d+)$", re.M)
RUN = re.compile(r"^run count=(\d+)$", re.M)
log = logging.getLogger("profile_layers")


def first_sample_bytes(plan, model: str) -> bytes:
    with np.load(EXAMPLES / model / "eval.npz") as data:
        x = data["input"][:1]
    return np.ascontiguousarray(quantize_input(plan, x)[0]).tobytes()


def profile(model: str, board_name: str, kernels: str, work: Path) -> tuple[list[dict], int, list[str]]:
    folder = EXAMPLES / model
    subprocess.run(
        [
            sys.executable,
            "-m",
            "fixpoint.cli",
            "-q",
            "calibrate",
            str(folder / "model.onnx"),
            "--data",
            str(folder / "calib.npz"),
            "--board",
            board_name,
            "-o",
            str(work / "plan"),
        ],
        check=True,
    )
    plan = load_plan(work / "plan" / "plan.fxplan")
    board = load_board(board_name)
    generated = generate(plan, board=board, out_dir=work / "gen", kernels=kernels)
    (work / "gen" / "kc_profile_model.h").write_text(f'#include "{generated.prefix}_model.h"\n')
    data = first_sample_bytes(plan, model)
    (work / "gen" / "kc_profile_input.h").write_text(
        "static const uint8_t kc_profile_input[] = {" + ",".join(str(b) for b in data) + "};\n"
    )
    taken = {p.resolve() for p in (*kernel_sources(), *fast_entry_sources())}
    runtime = [p for p in sorted((runtime_dir() / "src").rglob("*.c")) if p.resolve() not in taken]
    image = build_kernel_firmware(
        board,
        "kc_profile.c",
        work / "fw",
        include_dirs=[generated.out_dir],
        extra_sources=[*generated.sources, *runtime],
    )
    run = run_kernel_firmware(board, image, timeout=1800)
    if run.returncode != 0:
        raise RuntimeError(f"profile firmware failed:\n{run.stdout}")
    counts = {int(k): int(n) for k, n in LINE.findall(run.stdout)}
    rows, prev = [], 0
    for k, layer in enumerate(plan.layers, start=1):
        n = counts[k] - prev
        prev = counts[k]
        rows.append({"layer": layer.name, "op": f"{layer.op}/{layer.datapath}", "instructions": n})
    entries = [f"fp_run_{e.run_name}" for e in kernel_entries(plan, board.cpu.core, kernels)]
    return rows, int(RUN.search(run.stdout).group(1)), entries


def render(model: str, board: str, kernels: str, rows: list[dict], total: int, entries: list[str]) -> str:
    lines = [
        f"# Instructions per layer: {model} on {board} (kernels: {kernels})",
        "",
        f"* command: `bench/profile_layers.py {model} --board {board} --kernels {kernels}`; first eval sample; "
        "exact QEMU -icount counts (layer k = run of layers [0, k) minus [0, k - 1))",
        f"* resolver entries: {', '.join(f'`{e}`' for e in entries)}",
        f"* whole `fp_model_run`: {total:,} instructions",
        "",
        "| # | layer | op | instructions | share |",
        "|---:|---|---|---:|---:|",
    ]
    for i, r in enumerate(rows):
        lines.append(
            f"| {i} | {r['layer']} | {r['op']} | {r['instructions']:,} | "
            f"{100 * r['instructions'] / max(total, 1):.1f}% |"
        )
    by_op: dict[str, int] = {}
    for r in rows:
        by_op[r["op"]] = by_op.get(r["op"], 0) + r["instructions"]
    lines += ["", "| op | instructions | share |", "|---|---:|---:|"]
    ranked = sorted(by_op.items(), key=lambda x: -x[1])
    lines += [f"| {op} | {n:,} | {100 * n / max(total, 1):.1f}% |" for op, n in ranked]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--board", default="mps2-an386")
    parser.add_argument("--kernels", default="auto", choices=("auto", "ref"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="fixpoint-profile-") as tmp:
        rows, total, entries = profile(args.model, args.board, args.kernels, Path(tmp))
    text = render(args.model, args.board, args.kernels, rows, total, entries)
    suffix = "" if args.kernels == "auto" else f"_{args.kernels}"
    out = RESULTS / f"profile_{args.model}_{args.board}{suffix}.md"
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
