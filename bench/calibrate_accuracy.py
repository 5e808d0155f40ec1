"""Accuracy half of the calibration benchmark: Fixpoint's policies vs onnxruntime's methods.

Every method calibrates on the model's whole calib.npz and is scored (top-1)
on eval.npz:

* ``float``: the ONNX model in onnxruntime;
* ``ort:METHOD``: quantize_static's QDQ model, scored as ORT runs it here and
  exactly (see ort_quant for why both);
* ``fp:POLICY`` / ``fp:POLICY+bc``: Fixpoint's integer plan, bit-exact host
  simulation, without / with bias correction;
* ``fp:search`` / ``fp:search+bc``: the default ranges re-chosen per tensor by
  the simulated output error (``fixpoint calibrate --search``);
* ``ort-qdq with fp:POLICY ranges``: ORT's QDQ model with our activation
  parameters forced in (scored exactly), which isolates the range choice.

The summary compares Fixpoint's best with onnxruntime's best, in eval samples.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ort_quant import ORT_METHODS, ort_quantize, top1

log = logging.getLogger("bench_calibrate")

POLICIES = ("max", "percentile", "kl", "l1", "l2", "auto")


def accuracy_for(model_dir: Path, tmp: Path) -> dict:
    """Top-1 on eval.npz of every method, calibrated on the whole calib.npz."""
    from fixpoint.calibrate import CalibrationConfig, calibrate, load_samples, model_input_spec

    model = str(model_dir / "model.onnx")
    name, shape = model_input_spec(model)
    data = load_samples(model_dir / "calib.npz", name, shape)
    with np.load(model_dir / "eval.npz") as archive:
        x, labels = archive["input"].astype(np.float32), archive["label"].reshape(-1)
    scores = {"float": top1(model, x, labels)}
    for method in ORT_METHODS:
        out = str(tmp / f"acc_{model_dir.name}_{method}.onnx")
        ort_quantize(model, out, data, method)
        scores[f"ort:{method}"] = top1(out, x, labels)
        scores[f"ort:{method} exact"] = top1(out, x, labels, exact=True)
    graph = _normalized_graph(model)
    result = calibrate(model, graph, data, CalibrationConfig(progress=False))
    stats = result.stats
    for policy in POLICIES:
        quant = _quant_for(stats, graph, policy)
        for correct in (False, True):
            label = f"fp:{policy}" + ("+bc" if correct else "")
            scores[label] = _fixpoint_top1(model, graph, quant, data if correct else None, x, labels)
        out = str(tmp / f"acc_{model_dir.name}_fp_{policy}.onnx")
        ort_quantize(model, out, data, "MinMax", _overrides(quant))
        scores[f"ort-qdq with fp:{policy} ranges"] = top1(out, x, labels, exact=True)
    searched = _searched_quant(graph, result, data)
    for correct in (False, True):
        scores["fp:search" + ("+bc" if correct else "")] = _fixpoint_top1(
            model, graph, searched, data if correct else None, x, labels
        )
    log.info("%s: accuracy of %d methods done", model_dir.name, len(scores))
    return {"calib_samples": len(data), "eval_samples": len(x), "top1": scores, "summary": summarize(scores, len(x))}


def _normalized_graph(model: str):
    from fixpoint.frontend import load_model
    from fixpoint.normalize import normalize

    return normalize(load_model(model))


def _quant_for(stats: dict, graph, policy: str) -> dict:
    """Every tensor's parameters under ``policy``, from statistics gathered once."""
    from fixpoint.calibrate import CalibrationConfig, tensor_quant
    from fixpoint.calibrate.config import resolve_policies

    config = CalibrationConfig(policy=policy, progress=False)
    specs = resolve_policies(list(stats), graph, config)
    return {name: tensor_quant(s, *specs[name], config) for name, s in stats.items()}


def _searched_quant(graph, result, data) -> dict:
    """Default ranges re-chosen per tensor on the simulated output (``fixpoint calibrate --search``)."""
    from fixpoint.calibrate import CalibrationConfig
    from fixpoint.lower.options import LowerOptions
    from fixpoint.plan import RequantProfile
    from fixpoint.range_search import SearchOptions, search_ranges

    quant, _ = search_ranges(
        graph,
        result,
        CalibrationConfig(progress=False),
        RequantProfile(),
        LowerOptions(),
        data,
        SearchOptions(progress=False),
    )
    return quant


def _fixpoint_top1(model: str, graph, quant: dict, samples, x: np.ndarray, labels: np.ndarray) -> float:
    from fixpoint.evaluate import evaluate
    from fixpoint.lower import lower
    from fixpoint.lower.options import LowerOptions
    from fixpoint.plan import RequantProfile

    options = LowerOptions(bias_correction=samples is not None, samples=samples)
    plan = lower(graph, quant, RequantProfile(), options)
    return evaluate(model, graph, plan, x, labels, per_layer=False, progress=False).int_metric


def _overrides(quant: dict) -> dict:
    """Force our activation parameters into ORT's QDQ model (same int8 convention)."""
    return {
        name: [{"scale": np.array(q.scale, np.float32), "zero_point": np.array(q.zero_point, np.int8)}]
        for name, q in quant.items()
    }


def summarize(scores: dict, n: int) -> dict:
    """Best Fixpoint method vs onnxruntime's best, scored exactly and as run; gaps in samples."""

    def best(prefix: str, suffix: str = "") -> tuple[str, float]:
        keys = [k for k in scores if k.startswith(prefix) and k.endswith(suffix) and "with" not in k]
        if suffix == "":
            keys = [k for k in keys if not k.endswith(" exact")]
        key = max(keys, key=lambda k: scores[k])
        return key, scores[key]

    fp, ort_exact, ort_run = best("fp:"), best("ort:", " exact"), best("ort:")
    return {
        "fixpoint_best": fp,
        "ort_best_exact": ort_exact,
        "ort_best_as_run": ort_run,
        "samples_behind_exact": round((ort_exact[1] - fp[1]) * n),
        "samples_behind_as_run": round((ort_run[1] - fp[1]) * n),
        "best_drop_pp": 100 * (scores["float"] - fp[1]),
    }


def accuracy_table(acc: dict) -> list[str]:
    base = acc["top1"]["float"]
    lines = [
        f"Top-1 on eval.npz ({acc['eval_samples']} samples), calibrated on calib.npz "
        f"({acc['calib_samples']} samples). Drop in percentage points.",
        "",
        "| method | top-1 % | drop pp |",
        "|---|---|---|",
    ]
    for label, value in acc["top1"].items():
        lines.append(f"| {label} | {100 * value:.2f} | {100 * (base - value):+.2f} |")
    s = acc.get("summary")
    if s:
        lines += [
            "",
            f"Best Fixpoint: {s['fixpoint_best'][0]} ({100 * s['fixpoint_best'][1]:.2f} %, drop "
            f"{s['best_drop_pp']:+.2f} pp). onnxruntime's best, exact QDQ: {s['ort_best_exact'][0]} "
            f"({100 * s['ort_best_exact'][1]:.2f} %): Fixpoint is {_behind(s['samples_behind_exact'])}. "
            f"As ORT's int8 kernels run it here: {s['ort_best_as_run'][0]} "
            f"({100 * s['ort_best_as_run'][1]:.2f} %): {_behind(s['samples_behind_as_run'])}.",
        ]
    return lines


def _behind(samples: int) -> str:
    if samples > 0:
        return f"{samples} eval sample(s) behind"
    return f"{-samples} eval sample(s) ahead" if samples < 0 else "level"
