"""Every example model on the heterogeneous board mps2-an386-npu: engines used, command-stream
elision, power-of-two scale cost of the shift-only engine, accuracy drop against float next to the
same model on the plain mps2-an386, and (with --board N) N samples on the QEMU board.

    .venv/bin/python bench/engines_board.py [--board N] [--models a,b]

Writes bench/results/engines_board.md (and .json).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np

from fixpoint.boards import load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.evaluate import evaluate
from fixpoint.hil import HilJob, run_hil
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import CalibrationJob, run_calibration
from fixpoint.sim.executor import quantize_input, run_plan
from fixpoint.sim.stream import compile_stream

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "models"
BOARD, PLAIN = "mps2-an386-npu", "mps2-an386"
log = logging.getLogger("bench.engines_board")


def _calibrate(model: str, board_name: str, work: Path, pow2: bool = True):
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
    out_dir = work / f"{model}-{board_name}-{'pow2' if pow2 else 'free'}"
    if pow2:
        return run_calibration(job, out_dir)
    with mock.patch("fixpoint.pipeline.constrain_for_engines", lambda g, q, p, o: (q, {})):
        return run_calibration(job, out_dir)


def _drop(out, x, labels) -> float:
    return evaluate(out.graph.source_path, out.graph, out.plan, x, labels, per_layer=False, progress=False).drop


def measure(model: str, work: Path, board_samples: int) -> dict:
    with np.load(EXAMPLES / model / "eval.npz") as data:
        x, labels = data["input"], data["label"]
    hetero, free, plain = (
        _calibrate(model, BOARD, work),
        _calibrate(model, BOARD, work, pow2=False),
        _calibrate(model, PLAIN, work),
    )
    plan = hetero.plan
    streamed = compile_stream(plan, BOARD)
    q = [quantize_input(plan, x)]
    a, b = streamed.compiled.run(q).outputs, run_plan(plan, q).outputs
    exact = int(np.sum(np.all((a[0] == b[0]).reshape(len(x), -1), axis=1)))
    engines: dict[str, int] = {}
    for layer in plan.layers:
        engines[layer.engine] = engines.get(layer.engine, 0) + 1
    scales = plan.meta.get("engine_scales", {})
    row = {
        "model": model,
        "layers": len(plan.layers),
        "engines": engines,
        "shift_layers_without_pow2": sum(layer.engine == "shift" for layer in free.plan.layers),
        "pow2_tensors": len(scales.get("tensors", {})),
        "pow2_max_sqnr_cost_db": max([t["sqnr_cost_db"] for t in scales.get("tensors", {}).values()], default=0.0),
        "stream_writes": streamed.stream.total_writes,
        "full_writes": streamed.stream.full_writes,
        "elided_pct": round(100 * streamed.stream.elided, 1),
        "stream_words": len(streamed.stream.words),
        "sim_stream_bit_exact": f"{exact}/{len(x)}",
        "drop_npu_pp": round(_drop(hetero, x, labels), 2),
        "drop_npu_without_pow2_pp": round(_drop(free, x, labels), 2),
        "drop_plain_pp": round(_drop(plain, x, labels), 2),
    }
    if board_samples:
        n = min(board_samples, len(x))
        result = run_hil(
            HilJob(
                plan=plan,
                board=BOARD,
                x=x[:n],
                labels=labels[:n],
                work_dir=work / f"hil-{model}",
                max_drop_pp=100.0,
                progress=False,
            )
        )
        row["board_bit_exact"] = f"{result.bit_exact}/{n}"
    return row


def _markdown(rows: list[dict], command: str) -> str:
    lines = [
        "# Heterogeneous board mps2-an386-npu: engines, command stream, shift-only scales",
        "",
        f"Command: `{command}`",
        "",
        "| model | layers per engine | shift layers w/o pow2 | pow2 tensors (max SQNR cost) | stream writes "
        "(full) | elided | sim stream bit-exact | board bit-exact | drop npu (w/o pow2) | drop mps2-an386 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        eng = ", ".join(f"{k} {v}" for k, v in sorted(r["engines"].items()))
        lines.append(
            f"| {r['model']} | {eng} | {r['shift_layers_without_pow2']} | {r['pow2_tensors']} "
            f"({r['pow2_max_sqnr_cost_db']:.2f} dB) | {r['stream_writes']} ({r['full_writes']}) | "
            f"{r['elided_pct']}% | {r['sim_stream_bit_exact']} | {r.get('board_bit_exact', '-')} | "
            f"{r['drop_npu_pp']:.2f} pp ({r['drop_npu_without_pow2_pp']:.2f}) | {r['drop_plain_pp']:.2f} pp |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", type=int, default=0, metavar="N", help="also run N eval samples on QEMU")
    parser.add_argument("--models", default="", help="comma-separated (default: every example model)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    models = (
        args.models.split(",")
        if args.models
        else sorted(p.name for p in EXAMPLES.iterdir() if (p / "model.onnx").is_file())
    )
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(m, Path(tmp), args.board) for m in models]
    command = "python bench/engines_board.py" + (f" --board {args.board}" if args.board else "")
    out = ROOT / "bench" / "results"
    (out / "engines_board.json").write_text(json.dumps(rows, indent=1) + "\n")
    (out / "engines_board.md").write_text(_markdown(rows, command))
    print(_markdown(rows, command))


if __name__ == "__main__":
    main()
