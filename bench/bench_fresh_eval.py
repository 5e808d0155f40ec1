"""Is the default int8 plan really behind the hindsight-best single policy, or is the eval set too small to say?

Issue 13's bar compares the default (the label-free per-tensor policy search) with the single range policy
that scores best on each model's eval set, to within one eval sample. On 500-1000 eval samples, plans that
agree with float on 99.5 % of them differ in a handful of samples, so this script asks two questions:

* **On the eval set:** McNemar's exact test of the default against the hindsight-best single (the two plans'
  per-sample correctness, paired): how likely is a gap at least this large if the two plans were equally good?
* **On fresh samples** (``--n`` new ones from the model's own data generator, on a stream used neither for
  training, calibration nor evaluation): float, every single policy and the default, top-1 with 95 % Wilson
  intervals, agreement with float, and the same paired test against the policy that was hindsight-best on the
  eval set. The plans are the same ones (lowered from the same calibration; the search is deterministic).

Usage: python bench/bench_fresh_eval.py [--only cnn_bn_res,dwsep,mobilenetv3_small] [--n 20000]
Writes bench/results/precision_fresh.md and precision_fresh.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "examples/zoo"))

import bench_precision as bp  # noqa: E402

log = logging.getLogger("bench_fresh_eval")
DEFAULT_MODELS = ["cnn_bn_res", "dwsep", "mobilenetv3_small"]
# the example models' generators and the seeds of their splits (examples/train_examples.py): train, calib and
# eval use seeds 201-203 (cnn_bn_res) and 301-303 (dwsep); the fresh stream takes the next one
EXAMPLE_GENERATORS = {"cnn_bn_res": ("make_gray_shapes", 204), "dwsep": ("make_colour_shapes", 304)}
CHUNK = 2000  # samples simulated at once (bounds the simulator's memory)


def fresh_samples(name: str, inputs: list[str], n: int) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` new labelled samples of model ``name`` (arrays in the order of ``inputs``) from its generator's
    fresh stream."""
    if name in EXAMPLE_GENERATORS:
        import train_examples

        function, seed = EXAMPLE_GENERATORS[name]
        x, y = getattr(train_examples, function)(n, np.random.default_rng(seed))
        return [x.astype(np.float32)], np.asarray(y)
    import zoo_data

    arrays, targets = zoo_data.generate(name, "fresh", n)
    primary = zoo_data.DATA[name].classifier_outputs[0]
    return [arrays[k].astype(np.float32) for k in inputs], np.asarray(targets[primary])


def primary_predictions(m: bp.Model, x: list[np.ndarray], plans: dict) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Float and per-plan top-1 classes of the primary output (the first labelled one), simulated in chunks."""
    from fixpoint.sim.scoring import SimulatedOutputs

    float_parts: list[np.ndarray] = []
    plan_parts: dict[str, list[np.ndarray]] = {k: [] for k in plans}
    for start in range(0, len(x[0]), CHUNK):
        outputs = SimulatedOutputs(m.graph, [a[start : start + CHUNK] for a in x])
        for label, plan in plans.items():
            ref, got = outputs.pairs(plan)[primary_index(m, plan)]
            plan_parts[label].append(got.argmax(axis=1))
        float_parts.append(ref.argmax(axis=1))
    return np.concatenate(float_parts), {k: np.concatenate(v) for k, v in plan_parts.items()}


def primary_index(m: bp.Model, plan) -> int:
    """Position of the primary output among the plan's outputs: the labelled one (``label/<output>`` in
    eval.npz) or the first."""
    if not isinstance(m.labels, dict):
        return 0
    names = [plan.tensors[index].name for index in plan.outputs]
    return names.index(next(iter(m.labels)))


def mcnemar_p(a_right: np.ndarray, b_right: np.ndarray) -> float:
    """Two-sided exact McNemar p-value: the discordant pairs are Binomial(n, 1/2) if A and B are equally good."""
    only_a = int(np.sum(a_right & ~b_right))
    only_b = int(np.sum(b_right & ~a_right))
    n, k = only_a + only_b, min(only_a, only_b)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def wilson(right: np.ndarray, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of an accuracy."""
    n, p = len(right), float(np.mean(right))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def plans_of(m: bp.Model) -> dict:
    """Every single-policy plan and the default (searched, with the weight refinements it kept)."""
    from fixpoint.calibrate import CalibrationConfig
    from fixpoint.lower import LowerOptions, lower
    from fixpoint.plan import RequantProfile
    from fixpoint.policy_search import PolicySearchOptions, _CandidateTable, search_policies

    config = CalibrationConfig(progress=False)
    options = PolicySearchOptions(progress=False)
    table = _CandidateTable(m.calib, config, options)
    plans = {}
    for cand in table.global_candidates():
        quant = dict(m.calib.quant)
        quant.update({n: table.quant(n, cand) for n in quant if n in m.calib.stats})
        plans[cand.label] = bp.lower_plan(m, quant)
    quant, report = search_policies(m.graph, m.calib, config, RequantProfile(), LowerOptions(), m.data, options)
    plans["default"] = lower(m.graph, quant, RequantProfile(), report.refined(LowerOptions(samples=m.data)))
    return plans


def measure(name: str, n: int) -> dict:
    m = bp.Model(name)
    plans = plans_of(m)
    labels = m.labels if not isinstance(m.labels, dict) else next(iter(m.labels.values()))
    result = {"eval": _compare(m, m.x, np.asarray(labels), plans), "fresh_n": n}
    best = result["eval"]["hindsight_best"]
    x, y = fresh_samples(name, m.graph.inputs, n)
    result["fresh"] = _compare(m, x, y, plans, reference=best)
    return result


def _compare(m: bp.Model, x: list[np.ndarray], y: np.ndarray, plans: dict, reference: str | None = None) -> dict:
    """Accuracy, interval and agreement of float and every plan; McNemar of the default against ``reference``
    (default: the best single policy on these samples)."""
    float_top1, predicted = primary_predictions(m, x, plans)
    right = {k: v == y for k, v in predicted.items()}
    singles = [k for k in plans if k != "default"]
    best = reference or max(singles, key=lambda k: (float(np.mean(right[k])), -singles.index(k)))
    rows = {
        k: {
            "top1": float(np.mean(r)),
            "interval": wilson(r),
            "agreement": float(np.mean(predicted[k] == float_top1)),
            "right": int(np.sum(r)),
        }
        for k, r in right.items()
    }
    return {
        "n": len(y),
        "float": float(np.mean(float_top1 == y)),
        "float_interval": wilson(float_top1 == y),
        "plans": rows,
        "hindsight_best": best,
        "default_minus_best": int(np.sum(right["default"])) - int(np.sum(right[best])),
        "discordant": [int(np.sum(right["default"] & ~right[best])), int(np.sum(right[best] & ~right["default"]))],
        "mcnemar_p": mcnemar_p(right["default"], right[best]),
    }


def render(results: dict) -> list[str]:
    lines = [
        "# Default int8 vs the hindsight-best single policy: eval set and fresh samples",
        "",
        "`python bench/bench_fresh_eval.py` (see its docstring). Top-1 of the primary output, bit-exact host "
        "simulation. *discordant* = samples only the default gets right / only the other plan gets right; "
        "*p* = two-sided exact McNemar test of the default against the policy that was hindsight-best on the "
        "eval set (large p: the gap is what equally good plans show by chance). Fresh: new samples from the "
        "model's own generator on a stream used for neither training, calibration nor evaluation.",
        "",
        "| model | set | n | float | default | agreement with float | hindsight-best single (on eval) | its top-1 "
        "| default - it (samples) | discordant | McNemar p | best single on this set |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---|---:|---|",
    ]
    for name, r in results.items():
        best = r["eval"]["hindsight_best"]
        for part in ("eval", "fresh"):
            s = r[part]
            d, b = s["plans"]["default"], s["plans"][best]
            top = max((k for k in s["plans"] if k != "default"), key=lambda k: s["plans"][k]["top1"])
            lines.append(
                f"| {name} | {part} | {s['n']} | {_acc(s['float'], s['float_interval'])} | "
                f"{_acc(d['top1'], d['interval'])} | {100 * d['agreement']:.2f} % | {best} | "
                f"{_acc(b['top1'], b['interval'])} | {s['default_minus_best']:+d} | "
                f"{s['discordant'][0]} / {s['discordant'][1]} | {s['mcnemar_p']:.2f} | "
                f"{top} {100 * s['plans'][top]['top1']:.2f} |"
            )
    return lines


def _acc(top1: float, interval) -> str:
    return f"{100 * top1:.2f} ({100 * interval[0]:.1f}-{100 * interval[1]:.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(DEFAULT_MODELS), help="comma-separated model names")
    parser.add_argument("--n", type=int, default=20000, help="fresh samples per model")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    out_json = args.out / "precision_fresh.json"
    results = json.loads(out_json.read_text()) if out_json.is_file() else {}
    load = os.getloadavg()[0]
    for name in [n for n in args.only.split(",") if n]:
        log.info("%s: %d fresh samples", name, args.n)
        results[name] = measure(name, args.n)
        out_json.write_text(json.dumps(results, indent=1, default=float))
    lines = render(results) + ["", f"Load average {load:.1f} at the start (the figures do not depend on it)."]
    (args.out / "precision_fresh.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
