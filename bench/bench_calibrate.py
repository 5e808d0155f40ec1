"""Benchmark calibration: Fixpoint vs a bare min/max pass vs onnxruntime's quantize_static.

For each example model (examples/models/NAME/{model.onnx,calib.npz[,eval.npz]}; a small
synthetic CNN when there is none) and each set size (100 and 1000 samples; the 1000-sample
set repeats calib.npz with 1 % Gaussian noise), every method runs in a fresh subprocess so
its peak RSS is its own:

  float         plain float inference over the set
  minmax        bare min/max pass: every intermediate observed, min/max only (the baseline)
  fp:POLICY     fixpoint.calibrate.calibrate as `fixpoint calibrate` runs it: the normalized
                graph's activations (BatchNormalization folded, Relu/Clip fused: fewer tensors)
  fp:POLICY:all-onnx   the same over every ONNX activation (exactly the tensors minmax observes)
  ort:METHOD    onnxruntime.quantization.quantize_static (QDQ, per_channel, int8) on the same set

Wall time is the best of --repeats runs, measured inside the worker after imports; peak RSS
is the worker's VmHWM (its own high-water mark; ru_maxrss would inherit the parent's across
exec). Accuracy (when eval.npz exists): see calibrate_accuracy.py.

Usage: python bench/bench_calibrate.py [--models mlp,cnn_bn_res] [--sizes 100,1000]
                                       [--repeats 3] [--no-accuracy] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdk"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibrate_accuracy import accuracy_for, accuracy_table  # noqa: E402
from ort_quant import BATCH, ORT_METHODS, ort_quantize  # noqa: E402

log = logging.getLogger("bench_calibrate")

FIXPOINT_POLICIES = ("max", "percentile", "kl", "l2", "auto")


def _prepare(task: dict) -> Callable[[], dict]:
    """Everything before the timed call: imports, graph loading. Returns the timed call."""
    from fixpoint.calibrate import CalibrationConfig, calibrate, collect_statistics, load_samples
    from fixpoint.calibrate.collect import load_onnx, make_session, observable_names

    model, kind = task["model"], task["kind"]
    load = lambda: load_samples(task["data"], task["input_name"], task["input_shape"])  # noqa: E731
    if kind == "float":

        def run() -> dict:
            data = load()
            session = make_session(load_onnx(model), model)
            for batch in data.batches(BATCH):
                session.run(None, {data.input_name: batch})
            return {}

        return run
    if kind == "minmax":
        names = observable_names(load_onnx(model))
        return lambda: (collect_statistics(model, names, load(), BATCH, progress=False, histogram=False), {})[1]
    if kind == "fixpoint":
        from fixpoint.calibrate.histogram import observe_values

        observe_values(np.zeros(1, np.float32), None, None)  # loads the compiled kernel (an import)
        graph = _normalized_graph(model) if task.get("normalized") else None
        config = CalibrationConfig(policy=task["policy"], progress=False, batch_size=BATCH)
        return lambda: _timed_policies(calibrate(model, graph, load(), config), config)
    if kind == "ort":
        return lambda: ort_quantize(model, task["out"], load(), task["method"])
    raise ValueError(f"unknown task kind {kind}")


def _timed_policies(result, config) -> dict:
    """Time the range choice alone (after the measured call has already done it once)."""
    from fixpoint.calibrate import tensor_quant
    from fixpoint.calibrate.config import resolve_policies

    specs = resolve_policies(list(result.stats), None, config)
    start = time.perf_counter()
    for name, stats in result.stats.items():
        tensor_quant(stats, *specs[name], config)
    return {"policy_s": time.perf_counter() - start, "tensors": len(result.stats)}


def _normalized_graph(model: str):
    from fixpoint.frontend import load_model
    from fixpoint.normalize import normalize

    return normalize(load_model(model))


def worker(task: dict) -> dict:
    import psutil

    logging.disable(logging.WARNING)
    run = _prepare(task)
    base = psutil.Process().memory_info().rss
    wall0, cpu0 = time.perf_counter(), time.process_time()
    extra = run()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"wall_s": wall, "cpu_s": cpu, "peak_mb": _peak_rss() / 2**20, "base_mb": base / 2**20, **extra}


def _peak_rss() -> int:
    """Peak RSS in bytes of this process image.

    Linux keeps ru_maxrss across exec, so a worker forked from a big parent would
    report the parent's size; VmHWM belongs to the new image only.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ----------------------------------------------------------------------------- parent side


def run_task(task: dict, repeats: int) -> dict:
    """Best-of-``repeats`` wall time, each run a fresh interpreter; max peak RSS."""
    runs = []
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", json.dumps(task)], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"worker failed for {task['label']}: {proc.stderr.strip()[-2000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["wall_s"])
    return {**best, "peak_mb": max(r["peak_mb"] for r in runs), "walls": [r["wall_s"] for r in runs]}


def discover_models(selected: list[str] | None, tmp: Path) -> list[dict]:
    models = []
    for folder in sorted((ROOT / "examples" / "models").glob("*")):
        if (folder / "model.onnx").is_file() and (folder / "calib.npz").is_file():
            if not selected or folder.name in selected:
                models.append({"name": folder.name, "dir": folder})
    if not models:
        log.warning("no example models found; benchmarking a synthetic CNN")
        models.append({"name": "synthetic_cnn", "dir": _synthetic_model(tmp / "synthetic_cnn")})
    return models


def _synthetic_model(folder: Path) -> Path:
    """conv-relu x3 with a residual add, pool, gemm on random 1x16x16 inputs."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    inits, nodes = [], []

    def conv(x: str, cin: int, cout: int, name: str) -> str:
        w = rng.normal(0, np.sqrt(2 / (9 * cin)), (cout, cin, 3, 3)).astype(np.float32)
        inits.extend(
            [numpy_helper.from_array(w, name + "_w"), numpy_helper.from_array(np.zeros(cout, np.float32), name + "_b")]
        )
        nodes.append(helper.make_node("Conv", [x, name + "_w", name + "_b"], [name], pads=[1] * 4))
        nodes.append(helper.make_node("Relu", [name], [name + "_relu"]))
        return name + "_relu"

    x = conv("input", 1, 16, "c0")
    y = conv(conv(x, 16, 16, "c1"), 16, 16, "c2")
    nodes += [
        helper.make_node("Add", [x, y], ["res"]),
        helper.make_node("GlobalAveragePool", ["res"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1),
    ]
    inits += [
        numpy_helper.from_array(rng.normal(0, 0.3, (10, 16)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(np.zeros(10, np.float32), "fc_b"),
    ]
    graph = helper.make_graph(
        nodes,
        "synthetic_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 16, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))
    np.savez(folder / "calib.npz", input=rng.random((500, 1, 16, 16), np.float32))
    return folder


def make_sets(model_dir: Path, input_name: str, sizes: list[int], tmp: Path) -> dict[int, Path]:
    """.npy sets of each size: calib.npz repeated, copies after the first with 1 % noise."""
    with np.load(model_dir / "calib.npz") as archive:
        base = archive[input_name if input_name in archive else "input"].astype(np.float32)
    rng = np.random.default_rng(0)
    sets = {}
    for size in sizes:
        reps = -(-size // len(base))
        copies = [base] + [
            base + rng.normal(0, 0.01 * base.std(), base.shape).astype(np.float32) for _ in range(reps - 1)
        ]
        path = tmp / f"{model_dir.name}_{size}.npy"
        np.save(path, np.concatenate(copies)[:size])
        sets[size] = path
    return sets


def tasks_for(model: dict, data: Path, size: int, input_spec: tuple[str, list[int]], tmp: Path) -> list[dict]:
    common = {
        "model": str(model["dir"] / "model.onnx"),
        "data": str(data),
        "input_name": input_spec[0],
        "input_shape": input_spec[1],
        "size": size,
    }
    tasks = [{**common, "kind": "float", "label": "float"}, {**common, "kind": "minmax", "label": "minmax"}]
    tasks += [
        {**common, "kind": "fixpoint", "policy": p, "normalized": True, "label": f"fp:{p}"} for p in FIXPOINT_POLICIES
    ]
    tasks += [{**common, "kind": "fixpoint", "policy": p, "label": f"fp:{p}:all-onnx"} for p in FIXPOINT_POLICIES]
    tasks += [
        {
            **common,
            "kind": "ort",
            "method": m,
            "label": f"ort:{m}",
            "out": str(tmp / f"{model['name']}_{size}_{m}.onnx"),
        }
        for m in ORT_METHODS
    ]
    return tasks


def bench_model(model: dict, sizes: list[int], repeats: int, tmp: Path) -> dict:
    from fixpoint.calibrate import model_input_spec

    spec = model_input_spec(model["dir"] / "model.onnx")
    sets = make_sets(model["dir"], spec[0], sizes, tmp)
    timings: dict[str, dict[int, dict]] = {}
    for size in sizes:
        for task in tasks_for(model, sets[size], size, spec, tmp):
            log.info("%s: %s on %d samples", model["name"], task["label"], size)
            timings.setdefault(task["label"], {})[size] = run_task(task, repeats)
    return {"input": list(spec), "timings": timings}


# ----------------------------------------------------------------------------- accuracy

# ----------------------------------------------------------------------------- results


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base > 0 else "n/a"


def _timing_table(entry: dict, sizes: list[int]) -> list[str]:
    head = ["method"]
    for size in sizes:
        head += [f"{size}: wall s", "x minmax", "CPU s", "peak RSS MB", "RSS growth MB"]
    head += [f"peak {sizes[-1]}/{sizes[0]}", f"policy s ({sizes[-1]})"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base = entry["timings"]["minmax"]
    for label, by_size in entry["timings"].items():
        row = [label]
        for size in sizes:
            r = by_size[size]
            row += [
                f"{r['wall_s']:.3f}",
                _ratio(r["wall_s"], base[size]["wall_s"]),
                f"{r['cpu_s']:.3f}",
                f"{r['peak_mb']:.0f}",
                f"{r['peak_mb'] - r['base_mb']:.1f}",
            ]
        first, last = by_size[sizes[0]], by_size[sizes[-1]]
        row.append(f"{last['peak_mb'] / first['peak_mb']:.3f}")
        row.append(f"{last['policy_s']:.3f}" if "policy_s" in last else "")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def write_results(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Calibration benchmark",
        "",
        f"* command: `{results['command']}`",
        f"* machine: {results['machine']}; after: {results['load_average_after']:.2f}",
        f"* each cell: best wall time of {results['repeats']} fresh processes (after imports), "
        "CPU = user+sys of that run; peak RSS = max VmHWM of the worker; RSS growth = peak "
        "minus RSS after imports",
        "* x minmax: wall time over the bare min/max pass at the same size",
        "* fp:POLICY is `fixpoint calibrate`: it observes the normalized graph's activations "
        "(BatchNormalization folded, Relu/Clip fused); fp:POLICY:all-onnx observes every ONNX "
        "activation, exactly the tensors minmax observes",
        "",
    ]
    for name, entry in results["models"].items():
        lines += [f"## {name} (input `{entry['input'][0]}` {entry['input'][1]})", ""]
        lines += _timing_table(entry, results["sizes"]) + [""]
        if "accuracy" in entry:
            lines += ["### Accuracy", ""] + accuracy_table(entry["accuracy"]) + [""]
    _atomic_write(out / "calibrate.md", "\n".join(lines) + "\n")
    _atomic_write(out / "calibrate.json", json.dumps(results, indent=1) + "\n")
    log.info("wrote %s and %s", out / "calibrate.md", out / "calibrate.json")


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as fp:
        fp.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--models", default="", help="comma-separated example names (default: all)")
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-accuracy", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {
        "command": "python bench/bench_calibrate.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average before start {os.getloadavg()[0]:.2f}",
        "repeats": args.repeats,
        "sizes": sizes,
        "models": {},
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for model in discover_models([m for m in args.models.split(",") if m], tmp):
            entry = bench_model(model, sizes, args.repeats, tmp)
            if not args.no_accuracy and (model["dir"] / "eval.npz").is_file():
                entry["accuracy"] = accuracy_for(model["dir"], tmp)
            results["models"][model["name"]] = entry
    results["load_average_after"] = os.getloadavg()[0]
    write_results(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
