#!/usr/bin/env python3
"""Simulator throughput against onnxruntime on the same models.

For each (ONNX model, lowered plan, data .npz) case this measures:

* the Fixpoint host simulator as calibration, ``eval`` and HIL run it
  (``CompiledPlan.run`` on the whole batch: one C call runs every sample
  through ``fp_graph_run``), on already-quantized inputs, single threaded,
  with the host's kernel variants (``--kernels auto``: the ``_opt`` kernels)
  and with the reference kernels (``--kernels ref``);
* the same with ``--threads`` threads (default: every CPU);
* onnxruntime on the float model and on an int8 QDQ model made by
  ``onnxruntime.quantization.quantize_static`` (per-channel weights, the
  case's data as calibration set), ``intra_op_num_threads=1``, one sample per
  call (the models have a batch of 1);

and writes samples/s, MAC/s (multiply-accumulates of the conv, depthwise and
fully connected layers, counted from the plan) and the ratio to onnxruntime
int8 as a markdown table to ``bench/results/sim.md``. Each figure is the best
of ``--repeat`` timed passes over ``--samples`` samples, after one warm-up
pass.

For the example CNNs (models with conv layers) a second table gives the time
of the range search, ``fixpoint calibrate --search --no-cache`` on the
model's calibration set, with the host's kernels and with the reference
kernels (wall clock and the child process's CPU time, which a loaded machine
inflates less); ``--no-search`` skips it.

Usage:
    bench/bench_sim.py --case model.onnx plan.fxplan data.npz [--case ...]
    bench/bench_sim.py            # every examples/models/<name>, plans made with
                                  # `fixpoint calibrate` into build/bench/<name>
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench" / "results" / "sim.md"


@dataclass
class Row:
    model: str
    engine: str
    samples_per_s: float
    macs: int
    vs_ort_int8: float | None = None

    @property
    def mac_per_s(self) -> float:
        return self.samples_per_s * self.macs


def plan_macs(plan) -> int:
    """Multiply-accumulates per sample of the weighted layers of a plan."""
    total = 0
    for layer in plan.layers:
        out = int(np.prod(plan.tensors[layer.output].shape))
        w = layer.arrays.get("weights")
        if layer.op == "conv2d":
            total += out * int(np.prod(w.shape[1:]))
        elif layer.op == "depthwise_conv2d":
            total += out * int(w.shape[1] * w.shape[2])
        elif layer.op == "fully_connected":
            total += out * int(w.shape[1])
    return total


def load_samples(data_path: Path, input_name: str, count: int) -> np.ndarray:
    data = np.load(data_path)
    key = input_name if input_name in data else next(k for k in data.files if k not in ("label", "labels"))
    x = np.asarray(data[key], dtype=np.float32)
    return x[:count]


def best_rate(run, n: int, repeat: int) -> float:
    """Samples per second of the fastest of ``repeat`` passes (after a warm-up)."""
    run()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return n / best


def ort_session(model_path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


def ort_rate(model_path: Path, x: np.ndarray, repeat: int) -> float:
    session = ort_session(model_path)
    name = session.get_inputs()[0].name
    samples = [x[i : i + 1] for i in range(len(x))]

    def run():
        for s in samples:
            session.run(None, {name: s})

    return best_rate(run, len(x), repeat)


def quantize_qdq(model_path: Path, x: np.ndarray, out_path: Path) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    name = ort_session(model_path).get_inputs()[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{name: x[i : i + 1]} for i in range(min(len(x), 128))])

        def get_next(self):
            return next(self.items, None)

    logging.disable(logging.WARNING)  # quantize_static's advice to pre-process the model
    try:
        quantize_static(
            str(model_path),
            str(out_path),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
        )
    finally:
        logging.disable(logging.NOTSET)
    return out_path


def sim_rate(plan, x: np.ndarray, repeat: int, kernels: str = "auto", threads: int = 1) -> float:
    from fixpoint.sim.executor import compile_plan, quantize_input

    compiled = compile_plan(plan, kernels)
    q = quantize_input(plan, x)
    return best_rate(lambda: compiled.run([q], threads=threads), len(x), repeat)


def bench_case(onnx_path: Path, plan_path: Path, data_path: Path, samples: int, repeat: int, threads: int) -> list[Row]:
    from fixpoint.plan import load_plan

    plan = load_plan(plan_path)
    input_name = ort_session(onnx_path).get_inputs()[0].name
    x = load_samples(data_path, input_name, samples)
    macs = plan_macs(plan)
    model = onnx_path.parent.name if onnx_path.stem == "model" else onnx_path.stem
    datapaths = "/".join(sorted({layer.datapath for layer in plan.layers}))
    rows = [
        Row(model, f"fixpoint sim, _opt kernels ({datapaths}), batched, 1 thread", sim_rate(plan, x, repeat), macs),
        Row(
            model,
            f"fixpoint sim, _opt kernels, batched, {threads} threads",
            sim_rate(plan, x, repeat, threads=threads),
            macs,
        ),
        Row(
            model,
            "fixpoint sim, reference kernels (--kernels ref), batched, 1 thread",
            sim_rate(plan, x, repeat, kernels="ref"),
            macs,
        ),
        Row(model, "onnxruntime float32, 1 thread", ort_rate(onnx_path, x, repeat), macs),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        qdq = quantize_qdq(onnx_path, x, Path(tmp) / "qdq.onnx")
        ort_int8 = ort_rate(qdq, x, repeat)
        rows.append(Row(model, "onnxruntime int8 QDQ (per-channel), 1 thread", ort_int8, macs))
    for row in rows:
        row.vs_ort_int8 = row.samples_per_s / ort_int8
    return rows


@dataclass
class SearchRow:
    model: str
    kernels: str
    wall_s: float
    cpu_s: float


def search_time(onnx_path: Path, calib: Path, kernels: str) -> SearchRow:
    """Wall and CPU seconds of one `fixpoint calibrate --search` (no cache) with the given kernels."""
    model = onnx_path.parent.name if onnx_path.stem == "model" else onnx_path.stem
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "fixpoint.cli",
                "-q",
                "calibrate",
                str(onnx_path),
                "--data",
                str(calib),
                "--search",
                "--no-cache",
                "--kernels",
                kernels,
                "-o",
                tmp,
            ],
            check=True,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return SearchRow(model, kernels, wall, cpu)


def render_search(rows: list[SearchRow]) -> str:
    lines = [
        "",
        "## Range search (`fixpoint calibrate --search`)",
        "",
        "One search per model on its calibration set (`--no-cache`), single-threaded simulator; "
        "the last column is the reference kernels' CPU time over this row's.",
        "",
        "| model | kernels | wall s | CPU s | speed-up vs ref |",
        "|---|---|---:|---:|---:|",
    ]
    ref = {r.model: r.cpu_s for r in rows if r.kernels == "ref"}
    for r in rows:
        factor = f"{ref[r.model] / r.cpu_s:.2f}x" if r.model in ref and r.cpu_s > 0 else ""
        lines.append(f"| {r.model} | {r.kernels} | {r.wall_s:.1f} | {r.cpu_s:.1f} | {factor} |")
    return "\n".join(lines) + "\n"


def _si(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value:.1f} "


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_note(load: float, cpus: int) -> str:
    """A sentence on the machine's load when the run started (os.getloadavg, 1 minute)."""
    text = f"Load average {load:.1f} on {cpus} CPUs when the run started"
    if load > 0.5 * cpus:
        return text + (
            ": the machine was loaded, so absolute rates are low and noisy; the ratios compare "
            "figures measured back to back in one process."
        )
    return text + "."


def render(rows: list[Row], samples: int, repeat: int, load: float | None = None) -> str:
    import onnxruntime

    lines = [
        "# Simulator throughput vs onnxruntime",
        "",
        f"Generated by `bench/bench_sim.py` on {datetime.date.today().isoformat()}: {cpu_name()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, onnxruntime {onnxruntime.__version__}. "
        f"Best of {repeat} passes over {samples} samples. The simulator runs the batch in one C call "
        "(`CompiledPlan.run`, as calibration, eval and HIL do; outputs bit-identical for every kernel choice "
        "and thread count); onnxruntime one sample per call. "
        "MACs count the conv / depthwise / fully connected multiply-accumulates of one sample; "
        "the last column is samples/s relative to onnxruntime int8 single thread (acceptance: the simulator's "
        "single-thread row at least 0.5x).",
        *([] if load is None else ["", load_note(load, os.cpu_count() or 1)]),
        "",
        "| model | MACs / sample | engine | samples/s | MAC/s | vs ORT int8 |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        ratio = f"{r.vs_ort_int8:.2f}x" if r.vs_ort_int8 is not None else ""
        lines.append(
            f"| {r.model} | {_si(r.macs)} | {r.engine} | {r.samples_per_s:,.0f} | {_si(r.mac_per_s)} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def example_search_cases() -> list[tuple[Path, Path]]:
    """(model, calibration set) of every example CNN (a model with a Conv node)."""
    import onnx

    cases = []
    for model_dir in sorted((ROOT / "examples" / "models").iterdir()):
        onnx_path, calib = model_dir / "model.onnx", model_dir / "calib.npz"
        if (
            onnx_path.is_file()
            and calib.is_file()
            and any(n.op_type == "Conv" for n in onnx.load(str(onnx_path), load_external_data=False).graph.node)
        ):
            cases.append((onnx_path, calib))
    return cases


def example_cases() -> list[tuple[Path, Path, Path]]:
    """Every example model, calibrated (cached by `fixpoint calibrate`) into build/bench/<name>."""
    cases = []
    for model_dir in sorted((ROOT / "examples" / "models").iterdir()):
        onnx_path, calib, data = model_dir / "model.onnx", model_dir / "calib.npz", model_dir / "eval.npz"
        if not (onnx_path.is_file() and calib.is_file() and data.is_file()):
            continue
        out = ROOT / "build" / "bench" / model_dir.name
        subprocess.run(
            [
                sys.executable,
                "-m",
                "fixpoint.cli",
                "-q",
                "calibrate",
                str(onnx_path),
                "--data",
                str(calib),
                "-o",
                str(out),
            ],
            check=True,
        )
        cases.append((onnx_path, out / "plan.fxplan", data))
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--case",
        nargs=3,
        action="append",
        metavar=("ONNX", "PLAN", "DATA"),
        type=Path,
        help="an ONNX model, its lowered plan and a .npz of inputs (repeatable)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"markdown table (default {DEFAULT_OUT})")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="threads of the multi-thread simulator row (default: every CPU)",
    )
    parser.add_argument(
        "--no-search", action="store_true", help="skip the range-search table (it runs only for the example models)"
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    cases = args.case or example_cases()
    if not cases:
        parser.error("no cases: pass --case ONNX PLAN DATA")
    rows = []
    for onnx_path, plan_path, data_path in cases:
        rows += bench_case(onnx_path, plan_path, data_path, args.samples, args.repeat, args.threads)
    text = render(rows, args.samples, args.repeat, load)
    if not args.case and not args.no_search:
        text += render_search([search_time(m, c, k) for m, c in example_search_cases() for k in ("auto", "ref")])
    write_atomic(args.out, text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
