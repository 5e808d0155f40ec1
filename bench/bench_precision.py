"""Precision that chooses itself (issue 13 part A): default int8 policy search, int4 defaults, data-free.

For every trained model (examples/models and the zoo's classifiers) on its eval set (primary output's
top-1, drop against float in pp and in eval samples):

* ``single:P``: every activation by one policy P (the candidates of the search), hindsight-best marked;
* ``default``: ``fixpoint calibrate`` without flags -- the per-tensor policy search (time box 30 s), with
  its wall time, plans simulated and loss against the best single policy on the scoring samples;
* ``int4``: int4 weights with the new defaults (per-channel clipping, sequential AdaRound, bias correction) and
  with the old plain rounding;
* ``data-free``: int8 without calibration samples (ranges from BatchNormalization statistics).

Usage: python bench/bench_precision.py [--only kws,dwsep] [--parts search,int4,datafree] [--out bench/results]
Writes precision.md and precision.json (merged with an existing json, so parts can be rerun).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ["cnn_bn_res", "dwsep", "kws", "mlp"]
ZOO = [
    "efficientnet_lite",
    "mobilenetv2_035",
    "mobilenetv3_small",
    "resnet_silu",
    "tcn_audio",
    "two_inputs",
    "two_outputs",
    "video_motion",
]
CNNS = {"cnn_bn_res", "dwsep", "kws"}
# what a user knows of the input without data (meta.json descriptions); kws is standardized log-mel (the default)
INPUT_RANGES = {"cnn_bn_res": (0.0, 1.0), "dwsep": (0.0, 1.0)}
log = logging.getLogger("bench_precision")
CALIB_FILE = ["calib.npz"]  # --calib: another calibration file in each model dir (experiments: larger sets)
SEARCH_OPTIONS: dict = {}  # --significance: the policy search's paired-test threshold (experiments)


def model_dir(name: str) -> Path:
    return ROOT / ("examples/models" if name in EXAMPLES else "examples/zoo") / name


class Model:
    """One model: graph, calibration set, eval set, calibrated statistics."""

    def __init__(self, name: str) -> None:
        from fixpoint.calibrate import CalibrationConfig, calibrate, load_inputs
        from fixpoint.iospec import graph_input_specs
        from fixpoint.pipeline import load_graph

        self.name, self.dir = name, model_dir(name)
        self.path = self.dir / "model.onnx"
        self.graph = load_graph(self.path)
        self.data = load_inputs(self.dir / CALIB_FILE[0], graph_input_specs(self.graph))
        self.calib = calibrate(self.path, self.graph, self.data, CalibrationConfig(progress=False))
        self.x, self.labels = self._eval_set()

    def _eval_set(self):
        with np.load(self.dir / "eval.npz") as archive:
            keys = list(archive.keys())
            x = [archive[n] if n in keys else archive["input"] for n in self.graph.inputs]
            labels = {k.split("/", 1)[1]: archive[k] for k in keys if k.startswith("label/")}
            if "label" in keys:
                labels = archive["label"]
        return [a.astype(np.float32) for a in x], labels

    def score(self, plan) -> dict:
        from fixpoint.evaluate import evaluate

        r = evaluate(self.path, self.graph, plan, self.x, self.labels, per_layer=False, progress=False)
        return {
            "float": r.float_metric,
            "int": r.int_metric,
            "drop_pp": r.drop,
            "agreement": r.agreement,
            "n": r.n_samples,
        }


def lower_plan(m: Model, quant: dict, **options):
    from fixpoint.lower import LowerOptions, lower
    from fixpoint.plan import RequantProfile

    return lower(m.graph, quant, RequantProfile(), LowerOptions(**options))


def part_search(m: Model) -> dict:
    from fixpoint.calibrate import CalibrationConfig
    from fixpoint.lower import LowerOptions, lower
    from fixpoint.plan import RequantProfile
    from fixpoint.policy_search import DEFAULT_CANDIDATES, PolicySearchOptions, search_policies
    from fixpoint.policy_search import _CandidateTable, output_loss
    from fixpoint.sim.scoring import SimulatedOutputs

    config = CalibrationConfig(progress=False)
    options = PolicySearchOptions(progress=False, **SEARCH_OPTIONS)
    table = _CandidateTable(m.calib, config, options)
    singles = {}
    eval_outputs = SimulatedOutputs(m.graph, m.x)
    for cand in table.global_candidates():
        quant = dict(m.calib.quant)
        quant.update({n: table.quant(n, cand) for n in quant if n in m.calib.stats})
        plan = lower_plan(m, quant)
        singles[cand.label] = m.score(plan)
        # diagnosis only: the label-free loss on the *eval inputs* (what no calibration set can beat)
        singles[cand.label]["eval_kl"] = sum(output_loss("kl", r, g) for r, g in eval_outputs.pairs(plan))
    t0, c0 = time.monotonic(), time.process_time()
    quant, report = search_policies(m.graph, m.calib, config, RequantProfile(), LowerOptions(), m.data, options)
    seconds, cpu = time.monotonic() - t0, time.process_time() - c0
    # lowered as the pipeline does: with the 8-bit weight refinements the search found to pay
    refined = report.refined(LowerOptions(samples=m.data))
    searched_plan = lower(m.graph, quant, RequantProfile(), refined)
    searched = m.score(searched_plan)
    searched["eval_kl"] = sum(output_loss("kl", r, g) for r, g in eval_outputs.pairs(searched_plan))
    best = max(singles, key=lambda k: singles[k]["int"])
    return {
        "candidates": list(DEFAULT_CANDIDATES),
        "single": singles,
        "hindsight_best": best,
        "default": searched,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "search": report.as_dict(),
    }


def part_int4(m: Model) -> dict:
    from fixpoint.calibrate import CalibrationConfig
    from fixpoint.lower import LowerOptions
    from fixpoint.plan import RequantProfile
    from fixpoint.policy_search import PolicySearchOptions, search_policies

    quant = m.calib.quant
    result = {
        "plain": m.score(
            lower_plan(m, quant, weight_bits=4, weight_clip="none", bias_correction=False, adaptive_rounding=False)
        ),
        "default": m.score(lower_plan(m, quant, weight_bits=4, samples=m.data)),
    }
    # `fixpoint calibrate --weight-bits 4 --policy-search`: the policy search scoring with the refined 4-bit weights
    # (fixpoint.pipeline._policy_search), then the refinements again under the searched ranges
    from fixpoint.lower.refine import refined_weights

    fixed = refined_weights(m.graph, quant, RequantProfile(), LowerOptions(weight_bits=4, samples=m.data))
    searched, _ = search_policies(
        m.graph,
        m.calib,
        CalibrationConfig(progress=False),
        RequantProfile(),
        LowerOptions(weight_bits=4, fixed_weights=fixed),
        m.data,
        PolicySearchOptions(progress=False),
    )
    result["searched"] = m.score(lower_plan(m, searched, weight_bits=4, samples=m.data))
    return result


def part_datafree(m: Model) -> dict:
    from fixpoint.calibrate import CalibrationConfig
    from fixpoint.calibrate.datafree import calibrate_data_free

    calib = calibrate_data_free(m.path, m.graph, CalibrationConfig(progress=False), INPUT_RANGES.get(m.name))
    return {"int8": m.score(lower_plan(m, calib.quant)), "how": calib.estimated}


PARTS = {"search": part_search, "int4": part_int4, "datafree": part_datafree}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated model names")
    parser.add_argument("--parts", default="search,int4,datafree")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results")
    parser.add_argument("--no-table", action="store_true", help="only update the json")
    parser.add_argument("--significance", type=float, help="policy search paired-test threshold (default: its own)")
    parser.add_argument(
        "--aggregate", choices=("mean", "trimmed", "log"), help="policy search per-sample loss aggregate (experiments)"
    )
    parser.add_argument("--calib", default="calib.npz", help="calibration file name in each model dir")
    args = parser.parse_args(argv)
    if args.aggregate:
        SEARCH_OPTIONS["aggregate"] = args.aggregate
    CALIB_FILE[0] = args.calib
    if args.significance is not None:
        SEARCH_OPTIONS["significance"] = args.significance
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    names = [n for n in args.only.split(",") if n] or EXAMPLES + ZOO
    load_before = os.getloadavg()[0]
    out_json = args.out / "precision.json"
    results = json.loads(out_json.read_text()) if out_json.is_file() else {}
    for name in names:
        m = Model(name)
        for part in args.parts.split(","):
            if part == "datafree" and name not in CNNS:
                continue
            log.info("%s: %s", name, part)
            results.setdefault(name, {})[part] = PARTS[part](m)
            out_json.write_text(json.dumps(results, indent=1, default=float))
    if not args.no_table:
        load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end of the last run"
        (args.out / "precision.md").write_text("\n".join(render(results, load)) + "\n")
    return 0


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}"


def _flag(value) -> str:
    return "-" if value is None else ("on" if value else "off")


def _ok(passed: bool) -> str:
    return "yes" if passed else "**no**"


def _drop(score: dict) -> str:
    if score.get("float") is None:
        return f"agree {100 * score['agreement']:.1f}"
    d = score["float"] - score["int"]
    return f"{100 * score['int']:.2f} ({100 * d:+.2f} pp)"


def render(results: dict, load: str = "load not recorded") -> list[str]:
    lines = [
        "# Precision that chooses itself (issue 13 part A)",
        "",
        "`python bench/bench_precision.py` (see its docstring). Top-1 of the primary output on each model's "
        "eval set, bit-exact host simulation; drop = float - integer (negative: integer is better). Search: "
        "the default `fixpoint calibrate` search (up to 256 calibration samples split into a search and a "
        "held-out half; a deterministic budget of plans from a cost model of the network, sized for 20 s "
        "on a quiet 2-core machine, so the plans no longer depend on the load; wall seconds do: " + load + "; "
        "then bias correction / AdaRound of the 8-bit weights as whole-plan candidates on the loss; "
        "the columns bc / ar say what was kept). "
        "The oracle column picks the single policy by the KL on the eval inputs (no labels): where even "
        "it is behind the hindsight-best, the gap is eval-set noise no label-free loss can see. "
        "int4: `fixpoint calibrate --weight-bits 4` runs no policy search (l2 ranges; `--policy-search` "
        "column: the search under 4-bit weights first, '-': not measured). int4 default: per-channel weight "
        "clip (mse or none, by output loss) + "
        "sequential AdaRound (each layer on the quantized network's inputs) + bias correction on "
        "64 calibration samples. Data-free: `--input-range 0,1` for the [0, 1] image models, standardized "
        "for kws.",
        "",
    ]
    lines += _search_table(results) + [""] + _int4_table(results) + [""] + _datafree_table(results)
    return lines


def _search_table(results: dict) -> list[str]:
    lines = [
        "## Default int8 (per-tensor policy search) vs single policies",
        "",
        "| model | float | default (search) | eval KL: default / oracle | hindsight-best single | "
        "best single's top-1 | vs hindsight (samples) | l2 (old default) | "
        "lowest eval-KL single (oracle, no labels) | search s (cpu s) | "
        "plans / budget | loss: l2 / best single / searched | bc / ar | <= 0.3 pp | >= hindsight - 1 |",
        "|---|---:|---:|---|---|---:|---:|---:|---|---:|---:|---|---|---|---|",
    ]
    for name, r in results.items():
        s = r.get("search")
        if not s:
            continue
        best = s["single"][s["hindsight_best"]]
        d, n = s["default"], s["default"]["n"]
        behind = round((best["int"] - d["int"]) * n) if d["int"] is not None else "-"
        rep = s["search"]
        oracle = _oracle(s)
        lines.append(
            f"| {name} | {_pct(d['float'])} | {_drop(d)} | {_eval_kl(s)} | {s['hindsight_best']} | "
            f"{_pct(best['int'])} | "
            f"{behind} behind | {_drop(s['single']['l2'])} | {oracle} | {s['seconds']:.1f} "
            f"({s.get('cpu_seconds', 0.0):.1f}) | {rep['evaluations']} / {rep.get('budget', '-')} | "
            f"{rep['default_loss']:.3g} / {rep['single'][rep['start']]:.3g} / {rep['final_loss']:.3g} | "
            f"{_flag(rep.get('bias_correction'))} / {_flag(rep.get('adaptive_rounding'))} | "
            f"{_ok(d['float'] is None or d['float'] - d['int'] <= 0.003 + 1e-9)} | "
            f"{_ok(behind == '-' or behind <= 1)} |"
        )
    return lines


def _eval_kl(s: dict) -> str:
    """The default's softmax KL on the eval inputs next to the lowest of any single policy (no labels)."""
    kls = [v["eval_kl"] for v in s["single"].values() if "eval_kl" in v]
    if "eval_kl" not in s["default"] or not kls:
        return "-"
    return f"{s['default']['eval_kl']:.3g} / {min(kls):.3g}"


def _oracle(s: dict) -> str:
    """The single policy with the lowest softmax KL on the eval inputs: the best a label-free loss could do
    with unlimited unlabelled data; its samples behind the hindsight-best."""
    scored = {k: v for k, v in s["single"].items() if "eval_kl" in v}
    if not scored or s["default"]["int"] is None:
        return "-"
    pick = min(scored, key=lambda k: scored[k]["eval_kl"])
    behind = round((s["single"][s["hindsight_best"]]["int"] - scored[pick]["int"]) * s["default"]["n"])
    return f"{pick} {_pct(scored[pick]['int'])} ({behind} behind)"


def _int4_table(results: dict) -> list[str]:
    lines = [
        "## int4 weights (int8 activations)",
        "",
        "| model | float | int4 CLI default: l2 ranges (clip + sequential AdaRound + bias corr.) | int4 with "
        "--policy-search (policy search + the same) | int4 plain rounding | <= 1 pp (CLI default) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in results.items():
        s = r.get("int4")
        if s:
            d = s["default"]  # `fixpoint calibrate --weight-bits 4`: no policy search under low-bit weights
            ok = d["float"] is None or d["float"] - d["int"] <= 0.01 + 1e-9
            searched = _drop(s["searched"]) if "searched" in s else "-"
            lines.append(
                f"| {name} | {_pct(d['float'])} | {_drop(s['default'])} | {searched} | "
                f"{_drop(s['plain'])} | {_ok(ok)} |"
            )
    return lines


def _datafree_table(results: dict) -> list[str]:
    lines = [
        "## Data-free int8 (no calibration samples; ranges estimated)",
        "",
        "| model | float | data-free int8 | <= 2 pp | how |",
        "|---|---:|---:|---|---|",
    ]
    for name, r in results.items():
        s = r.get("datafree")
        if s:
            d = s["int8"]
            lines.append(
                f"| {name} | {_pct(d['float'])} | {_drop(d)} | {_ok(d['float'] - d['int'] <= 0.02 + 1e-9)} | "
                f"{s['how']} |"
            )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
