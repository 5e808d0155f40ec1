#!/usr/bin/env python3
"""Check the model zoo end to end and write docs/zoo.md (``make zoo-check``; no torch needed).

For every ``examples/zoo/NAME/model.onnx``: ``fixpoint calibrate`` with the default settings,
``fixpoint eval`` of the integer plan against the float model on the model's eval set (top-1,
drop and agreement for classifier outputs, SQNR for every output), then ``fixpoint hil`` on each
board of ``--boards`` with a few samples (every output byte compared with the simulation). A model
the front end rejects is reported with its ``error:`` line and fails the check; so does a trained
classifier losing more than ``MAX_DROP_PP``.

Usage:
    python examples/zoo/check_zoo.py                      # all models, boards host,mps2-an386,riscv32-virt
    python examples/zoo/check_zoo.py --only unet --boards host --hil-samples 2
    python examples/zoo/check_zoo.py --out docs/zoo.md --work build/zoo

Run ``make zoo-data`` (or ``python examples/zoo/zoo_data.py``) first; the Makefile target does.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import onnx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import zoo_data  # noqa: E402

log = logging.getLogger("check_zoo")

#: A trained classifier may lose at most this much top-1 (percentage points) on its eval set.
MAX_DROP_PP = 1.0
#: Outputs judged by SQNR below this need a note (NOTES) explaining why.
MIN_SQNR_DB = 20.0
#: Top-1 agreement with float a classifier output keeps on small test subsets (tests/zoo).
MIN_AGREEMENT = 0.9
DEFAULT_BOARDS = "host,mps2-an386,riscv32-virt"
#: Why an output is below MIN_SQNR_DB or otherwise noteworthy (model -> text), shown in docs/zoo.md.
NOTES: dict[str, str] = {}


@dataclass
class ModelReport:
    name: str
    ops: list[str]
    inputs: dict[str, list]
    outputs: dict[str, list]
    params: int | None = None
    task_metrics: dict | None = None  # meta.json "float": the float model on its task
    error: str | None = None  # the first error: line of a failed stage
    stage: str = ""  # which stage failed
    eval: dict | None = None  # fixpoint eval --json
    boards: dict[str, str] = field(default_factory=dict)  # board -> "n/n bit-exact" or the error
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return (
            self.error is None and all(v.startswith("bit-exact") for v in self.boards.values()) and not self.problems()
        )

    def problems(self) -> list[str]:
        """Threshold violations of the eval (drop over budget, SQNR under the floor without a note)."""
        out = []
        for o in (self.eval or {}).get("outputs", []):
            # the drop is a difference of two float accuracies: 91.6 - 90.6 comes out as 1.0000000000000009
            if o.get("drop") is not None and o["drop"] > MAX_DROP_PP + 1e-9:
                out.append(f"output '{o['name']}' drops {o['drop']:.2f} pp > {MAX_DROP_PP} pp")
            if not o.get("labeled") and o["sqnr_db"] < MIN_SQNR_DB and self.name not in NOTES:
                out.append(f"output '{o['name']}' SQNR {o['sqnr_db']:.1f} dB < {MIN_SQNR_DB} dB without a note")
        return out


def zoo_models() -> list[str]:
    return sorted(p.parent.name for p in HERE.glob("*/model.onnx"))


def fixpoint(*args: str | Path, timeout: float = 1800) -> subprocess.CompletedProcess:
    """The CLI as a user runs it, from this checkout's sdk."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "sdk"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "fixpoint.cli", "-q", *map(_short, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )


def _short(arg: str | Path) -> str:
    """Paths inside the checkout relative to it, so error lines in docs/zoo.md name no home folder."""
    if isinstance(arg, Path) and arg.is_absolute() and arg.is_relative_to(ROOT):
        return str(arg.relative_to(ROOT))
    return str(arg)


def error_line(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    return (errors or lines or [f"exit code {proc.returncode}"])[-1]


def onnx_facts(path: Path) -> tuple[list[str], dict, dict]:
    m = onnx.load(str(path), load_external_data=False)
    dims = lambda v: [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]  # noqa: E731
    inits = {i.name for i in m.graph.initializer}
    return (
        sorted({n.op_type for n in m.graph.node}),
        {v.name: dims(v) for v in m.graph.input if v.name not in inits},
        {v.name: dims(v) for v in m.graph.output},
    )


def check_model(name: str, boards: list[str], hil_samples: int, work: Path) -> ModelReport:
    folder = HERE / name
    ops, inputs, outputs = onnx_facts(folder / "model.onnx")
    report = ModelReport(name, ops, inputs, outputs)
    meta = folder / "meta.json"
    if meta.is_file():
        facts = json.loads(meta.read_text())
        report.params, report.task_metrics = facts.get("params"), facts.get("float")
    start = time.time()
    model, calib, evalset = folder / "model.onnx", folder / "calib.npz", folder / "eval.npz"
    plan_dir = work / name / "default"
    proc = fixpoint("calibrate", model, "--data", calib, "-o", plan_dir)
    if proc.returncode != 0:
        report.error, report.stage = error_line(proc), "calibrate"
        return report
    proc = fixpoint(
        "eval", model, "--plan", plan_dir / "plan.fxplan", "--data", evalset, "--json", work / name / "eval.json"
    )
    if proc.returncode != 0:
        report.error, report.stage = error_line(proc), "eval"
        return report
    report.eval = json.loads((work / name / "eval.json").read_text())
    for board in boards:
        report.boards[board] = run_board(name, board, hil_samples, work)
    report.seconds = time.time() - start
    return report


def run_board(name: str, board: str, samples: int, work: Path) -> str:
    """Calibrate for the board's requantization profile, run `hil`: 'bit-exact n/n' or what failed."""
    folder, out = HERE / name, work / name / board
    proc = fixpoint("calibrate", folder / "model.onnx", "--data", folder / "calib.npz", "--board", board, "-o", out)
    if proc.returncode != 0:
        return f"calibrate failed: {error_line(proc)}"
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
        samples,
        "--max-drop",
        100,
        "--json",
        out / "hil.json",
        "--work-dir",
        out / "hil",
    )
    if not (out / "hil.json").is_file():
        return f"hil failed: {error_line(proc)}"
    result = json.loads((out / "hil.json").read_text())
    n, exact = result["n_samples"], result["bit_exact"]
    return (
        f"bit-exact {exact}/{n}"
        if exact == n and not result["failures"]
        else f"FAILED {exact}/{n} bit-exact: {error_line(proc)}"
    )


def select_boards(wanted: str) -> list[str]:
    """Board names, or "all" for every emulated board (hardware boards are never run here)."""
    from fixpoint.boards import list_boards, load_board

    names = list_boards() if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    return [n for n in names if load_board(n).kind != "hardware"]


# ---------------------------------------------------------------------------------------------
# docs/zoo.md
# ---------------------------------------------------------------------------------------------


def _num(v, fmt: str = "{:.2f}") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return fmt.format(v)


def model_section(r: ModelReport) -> list[str]:
    shape = lambda d: ", ".join(f"`{k}` {v}" for k, v in d.items())  # noqa: E731
    lines = [
        f"## {r.name}",
        "",
        (zoo_data.DESCRIPTIONS.get(r.name, "")),
        "",
        f"- inputs: {shape(r.inputs)}; outputs: {shape(r.outputs)}"
        + (f"; {r.params:,} parameters" if r.params else ""),
        f"- ONNX ops: {', '.join(f'`{o}`' for o in r.ops)}",
    ]
    if r.task_metrics:
        lines.append(
            "- float model on its task (train_zoo.py, onnxruntime, eval split): "
            + "; ".join(
                f"`{o}` " + ", ".join(f"{k.removeprefix('float_')} {v:.4f}" for k, v in m.items())
                for o, m in r.task_metrics.items()
            )
        )
    if r.error:
        error = r.error if len(r.error) <= 300 else r.error[:300] + " ..."
        lines += [f"- **not supported yet** ({r.stage}): `{error}`", ""]
        return lines
    n = r.eval["n_samples"]
    lines += [
        "- bit-exact boards: " + (", ".join(f"{b} ({v})" for b, v in r.boards.items()) or "not run"),
        "",
        f"| output ({n} eval samples) | float top-1 | integer top-1 | drop (pp) | agreement | SQNR (dB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for o in r.eval["outputs"]:
        pct = lambda v: _num(None if v is None else 100 * v)  # noqa: E731
        lines.append(
            f"| `{o['name']}` | {pct(o.get('float_top1'))} | {pct(o.get('int_top1'))} | "
            f"{_num(o.get('drop'))} | {pct(o['agreement'])} | {_num(o['sqnr_db'], '{:.1f}')} |"
        )
    if r.name in NOTES:
        lines += ["", f"Note: {NOTES[r.name]}"]
    for p in r.problems():
        lines.append(f"\n**Check failed:** {p}")
    return lines + [""]


def write_doc(reports: list[ModelReport], path: Path, boards: list[str], hil_samples: int) -> None:
    lines = [
        "# Model zoo",
        "",
        "<!-- Generated by `make zoo-check` (examples/zoo/check_zoo.py). Do not edit by hand. -->",
        "",
        "Small versions of the models MCU users deploy, briefly trained on synthetic data that",
        "`examples/zoo/zoo_data.py` makes (`make zoo-data`); `examples/zoo/train_zoo.py` (torch) regenerates",
        "the committed `model.onnx` files. Each is calibrated with the default settings (`fixpoint calibrate`",
        "without options), evaluated against the float model on its eval set (`fixpoint eval`) and run",
        f"on boards ({', '.join(boards)}, {hil_samples} samples each, every output byte compared with the",
        "simulation by `fixpoint hil`). Classifier outputs are judged by top-1 (a trained classifier may",
        f"lose at most {MAX_DROP_PP:g} pp), regressor, detector and segmenter outputs by the SQNR of the",
        f"dequantized output against float (under {MIN_SQNR_DB:g} dB needs a note).",
        "",
        "| model | ops | float | integer | drop (pp) | SQNR (dB) per output | bit-exact boards | status |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    for r in reports:
        lines.append(summary_row(r))
    lines.append("")
    for r in reports:
        lines += model_section(r)
    path.write_text("\n".join(lines).rstrip() + "\n")


def summary_row(r: ModelReport) -> str:
    ops = ", ".join(r.ops)
    if r.error:
        return f"| {r.name} | {ops} | - | - | - | - | - | not supported yet ({r.stage}) |"
    e = r.eval
    pct = lambda v: "-" if v is None else f"{100 * v:.2f}%"  # noqa: E731
    sqnr = "; ".join(f"{o['name']} {_num(o['sqnr_db'], '{:.1f}')}" for o in e["outputs"])
    exact = ", ".join(b for b, v in r.boards.items() if v.startswith("bit-exact")) or "-"
    status = "pass" if r.passed else "FAIL"
    return (
        f"| {r.name} | {ops} | {pct(e.get('float_metric'))} | {pct(e.get('int_metric'))} | "
        f"{_num(e.get('drop'))} | {sqnr} | {exact} | {status} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=zoo_models(), help="one model (repeatable)")
    parser.add_argument("--boards", default=os.environ.get("FIXPOINT_TEST_BOARDS", DEFAULT_BOARDS))
    parser.add_argument("--hil-samples", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "zoo.md")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "zoo")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="zoo-check: %(message)s")
    zoo_data.write_files(zoo_models())
    try:
        boards = select_boards(args.boards)
    except Exception as exc:  # an unknown board name or a broken board file: one error line, exit 2
        parser.error(f"--boards: {exc}")
    reports = []
    for name in args.only or zoo_models():
        r = check_model(name, boards, args.hil_samples, args.work)
        log.info("%s: %s", name, "pass" if r.passed else f"FAIL {r.error or r.problems() or r.boards}")
        reports.append(r)
    write_doc(reports, args.out, boards, args.hil_samples)
    log.info("wrote %s", args.out)
    return 0 if all(r.passed for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
