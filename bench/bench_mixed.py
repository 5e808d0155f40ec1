"""Mixed precision under a budget on the engine board: one example CNN, a budget that no plan with one
engine for every weighted layer and no plan with one weight width meets, the chosen mix of weight bits,
activation bits and engines, its simulated Pareto front, the time the search took, and (with --hil N)
N eval samples on the QEMU board, bit for bit against the simulation.

    .venv/bin/python bench/bench_mixed.py [--model dwsep] [--board mps2-an386-npu]
        [--budget flash=8,instructions=400000] [--hil 100]

Writes bench/results/mixed_precision.md, mixed_precision.json and mixed_precision/<model>_pareto.svg.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from fixpoint.boards import load_board
from fixpoint.evaluate import evaluate
from fixpoint.hil import HilJob, run_hil
from fixpoint.mixed import parse_budget, plan_costs
from fixpoint.mixed.front import FRONT_PLOT, front_lines
from fixpoint.mixed.space import LayerOptions, build_space
from fixpoint.pipeline import CalibrationJob, run_calibration

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "models"
RESULTS = ROOT / "bench" / "results"
log = logging.getLogger("bench.mixed")


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _restricted(options: list[LayerOptions], keep) -> list[LayerOptions] | None:
    """The layers' options that ``keep(choice)`` accepts (layers without weights keep the base one);
    None when a weighted layer has none left."""
    out = []
    for layer in options:
        picks = [k for k, c in enumerate(layer.choices) if (keep(c) if c.bits else k == 0)]
        if not picks:
            return None
        out.append(
            LayerOptions(
                layer.name,
                [layer.choices[k] for k in picks],
                [layer.loss[k] for k in picks],
                [layer.flash[k] for k in picks],
                [layer.instructions[k] for k in picks],
                [layer.ram[k] for k in picks],
                [layer.alone("flash")[k] for k in picks],
                [layer.alone("instructions")[k] for k in picks],
            )
        )
    return out


def uniform_checks(result, limits: dict[str, float]) -> list[str]:
    """Whether any plan with one engine (or one weight width, or 8-bit activations only) for every
    weighted layer meets the budget, by the search's own exact per-layer costs."""
    base = result.base_costs
    engines = sorted({c.engine for layer in result.options for c in layer.choices if c.bits})
    rows = []
    groups = [(f"every weighted layer on {e}", lambda c, e=e: c.engine == e) for e in engines]
    groups += [(f"every weighted layer at {b}-bit weights", lambda c, b=b: c.bits == b) for b in (8, 4, 2, 1)]
    for text, keep in groups:
        layers = _restricted(result.options, keep)
        if layers is None:
            rows.append(f"| {text} | no: some layer cannot run so |")
            continue
        space = build_space(layers, result.base_loss, base.flash, base.instructions, base.ram, result.boundaries)
        fits = space.fitting(limits)
        rows.append(
            f"| {text} | {'yes' if len(fits) else 'no'}: least flash {int(space.flash.min())} B, least "
            f"instructions {int(space.instructions.min())} |"
        )
    return ["| constraint | a plan meets the budget? |", "|---|---|", *rows]


def model_check(info: dict) -> str:
    """How the cost model's figures of the simulated mixes compare with their real plans'."""
    mixes = [m for m in info["front"] if m.get("modelled")]
    same = {k: sum(m["modelled"][k] == m[k] for m in mixes) for k in ("flash", "instructions")}
    over = [m["modelled"]["ram"] - m["ram"] for m in mixes]
    return (
        f"the cost model against the real plans of the {len(mixes)} simulated mixes: flash equal on "
        f"{same['flash']}, instructions equal on {same['instructions']} (requantize layers priced per mix); "
        f"RAM (an estimate) at or above the real RAM on {sum(d >= 0 for d in over)}, by up to "
        f"{max(over, default=0)} B"
    )


def run(model: str, board_name: str, budget_text: str, hil_samples: int, work: Path) -> dict:
    board = load_board(board_name)
    target = board.get_target()
    folder = EXAMPLES / model
    budget = parse_budget(budget_text)
    job = CalibrationJob.for_board(folder / "model.onnx", folder / "calib.npz", board.name, budget=budget)
    load = os.getloadavg()
    wall, cpu = time.perf_counter(), _cpu_seconds()
    from fixpoint.mixed import search

    captured = {}
    original = search.choose_mixed_precision

    def timed(*args, **kwargs):
        t0, c0 = time.perf_counter(), _cpu_seconds()
        captured["result"] = original(*args, **kwargs)
        captured["search"] = (time.perf_counter() - t0, _cpu_seconds() - c0)
        return captured["result"]

    import fixpoint.pipeline as pipeline

    pipeline.choose_mixed_precision = timed
    try:
        out = run_calibration(replace(job), work / "plan", reuse=False)
    finally:
        pipeline.choose_mixed_precision = original
    seconds, cpu_seconds = time.perf_counter() - wall, _cpu_seconds() - cpu
    result = captured["result"]
    info = out.plan.meta["mixed_precision"]
    final = plan_costs(out.plan, target.engines).as_dict()  # the written plan, priced again
    with np.load(folder / "eval.npz") as data:
        x, labels = data["input"], data["label"]
    acc = evaluate(out.graph.source_path, out.graph, out.plan, x, labels, per_layer=False, progress=False)
    hil = None
    if hil_samples:
        res = run_hil(
            HilJob(
                plan=out.plan,
                board=board.name,
                x=x[:hil_samples],
                labels=labels[:hil_samples],
                work_dir=work / "hil",
                max_drop_pp=100.0,
                progress=False,
            )
        )
        hil = {
            "samples": hil_samples,
            "bit_exact": res.bit_exact,
            "mismatches": len(res.mismatches),
            "failures": len(res.failures),
        }
    return {
        "model": model,
        "board": board.name,
        "budget": budget_text,
        "load": load,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "search_seconds": captured["search"][0],
        "search_cpu_seconds": captured["search"][1],
        "info": info,
        "final": final,
        "uniform": uniform_checks(result, budget.limits()),
        "model_check": model_check(info),
        "eval": {"samples": acc.n_samples, "drop_pp": acc.drop, "summary": acc.summary()},
        "hil": hil,
        "plot": (work / "plan" / FRONT_PLOT).read_bytes(),
    }


def write(row: dict) -> None:
    model = row["model"]
    plots = RESULTS / "mixed_precision"
    plots.mkdir(parents=True, exist_ok=True)
    svg = plots / f"{model}_pareto.svg"
    svg.write_bytes(row.pop("plot"))
    chosen = row["info"]["chosen"]
    lines = [
        f"# Mixed precision under a budget: {model} on {row['board']}",
        "",
        f"* command: `fixpoint calibrate examples/models/{model}/model.onnx --data examples/models/{model}/"
        f"calib.npz --board {row['board']} --budget {row['budget']} -o OUT` (through `bench/bench_mixed.py`)",
        f"* time: the whole calibration {row['seconds']:.1f} s wall / {row['cpu_seconds']:.1f} s CPU, of which "
        f"the budget search {row['search_seconds']:.1f} s wall / {row['search_cpu_seconds']:.1f} s CPU; "
        f"machine load {row['load'][0]:.2f} / {row['load'][1]:.2f} / {row['load'][2]:.2f} (1 / 5 / 15 min) "
        f"on 2 cores",
        f"* chosen: **{chosen['label']}**: flash {chosen['flash']} B, RAM {chosen['ram']} B, "
        f"{chosen['instructions']} modelled instructions; eval set ({row['eval']['samples']} samples) top-1 drop "
        f"{row['eval']['drop_pp']:.2f} pp against float",
        f"* the written plan, priced again: flash {row['final']['flash']} B, RAM {row['final']['ram']} B, "
        f"{row['final']['instructions']} modelled instructions",
        f"* {row['model_check']}",
    ]
    if row["hil"]:
        h = row["hil"]
        lines.append(
            f"* on the QEMU board: **{h['bit_exact']} / {h['samples']} samples bit-exact** with the "
            f"simulation ({h['mismatches']} mismatches, {h['failures']} failures)"
        )
    lines += [
        "",
        "No plan with one engine, or one weight width, for every weighted layer meets the budget (the "
        "search's exact per-layer costs, each uniform space searched as the full one):",
        "",
        *row["uniform"],
        "",
    ]
    lines += front_lines(row["info"], f"mixed_precision/{svg.name}")[2:]
    (RESULTS / "mixed_precision.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (RESULTS / "mixed_precision.json").write_text(json.dumps(row, indent=1, default=str) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dwsep")
    parser.add_argument("--board", default="mps2-an386-npu")
    parser.add_argument("--budget", default="flash=8,instructions=400000")
    parser.add_argument("--hil", type=int, default=100, metavar="N", help="eval samples on the QEMU board (0: none)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="bench_mixed_") as tmp:
        row = run(args.model, args.board, args.budget, args.hil, Path(tmp))
    write(row)
    log.info("%s", (RESULTS / "mixed_precision.md").read_text())


if __name__ == "__main__":
    main()
