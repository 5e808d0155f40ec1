"""``fixpoint eval``: float vs integer accuracy, per-layer error, report."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import existing_file, load_labeled


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="compare the integer plan with the float model on a labeled set")
    parser.add_argument("model", type=existing_file, help="float ONNX model the plan was made from")
    parser.add_argument("--plan", type=existing_file, required=True)
    parser.add_argument("--data", type=existing_file, required=True, help=".npz with 'input' and 'label'")
    parser.add_argument("--report", type=Path, default=None, help="write a Markdown report with plots here")
    parser.add_argument("--json", type=Path, default=None, help="write the metrics as JSON here")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluate import evaluate
    from ..pipeline import load_graph, load_stats
    from ..plan import load_plan

    plan = load_plan(args.plan)
    graph = load_graph(args.model)
    x, labels = load_labeled(args.data, None)
    result = evaluate(args.model, graph, plan, x, labels, batch_size=args.batch_size,
                      progress=not args.quiet)
    print(format_result(result))
    if args.json:
        _write_json(args.json, result)
    if args.report:
        from ..report import write_report

        stats = load_stats(Path(args.plan).parent)
        if stats is None:
            raise FileNotFoundError(f"{Path(args.plan).parent / 'stats.npz'}: calibration statistics "
                                    "needed for the report's histograms")
        path = write_report(args.report, stats, result, plan)
        print(f"report: {path}")
    return 0


def format_result(result) -> str:
    lines = [f"samples: {result.n_samples}",
             f"float top-1: {_pct(result.float_metric)}   integer top-1: {_pct(result.int_metric)}   "
             f"drop: {result.drop:.2f} pp   agreement: {result.agreement * 100:.2f}%"]
    if result.per_layer:
        lines.append(f"{'layer':40s} {'SQNR dB':>8s} {'max err':>10s}")
        lines += [f"{e.name[:40]:40s} {e.sqnr_db:8.2f} {e.max_abs_err:10.4g}" for e in result.per_layer]
    return "\n".join(lines)


def _pct(value) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def _write_json(path: Path, result) -> None:
    from dataclasses import asdict

    from ..fileio import atomic_write_text

    atomic_write_text(path, json.dumps(asdict(result), indent=1, default=float))
