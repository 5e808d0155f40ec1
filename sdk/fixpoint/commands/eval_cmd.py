"""``fixpoint eval``: float vs integer accuracy, per-layer error, report.

The samples and labels stream from the file in batches (:mod:`fixpoint.dataio`): memory stays
flat whatever the file size. Every header, then every value, is checked before the model is even
loaded, so a bad file fails in seconds with one line, not after the evaluation.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import add_kernels_arg, existing_file, open_plan_data


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="compare the integer plan with the float model on a labeled set")
    parser.add_argument("model", type=existing_file, help="float ONNX model the plan was made from")
    parser.add_argument("--plan", type=existing_file, required=True)
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help=".npz: one array per model input name; labels 'label/<output>' ('label': the first "
        "output), optional (without: agreement with float)",
    )
    parser.add_argument("--report", type=Path, default=None, help="write a Markdown report with plots here")
    parser.add_argument("--json", type=Path, default=None, help="write the metrics as JSON here")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--metric",
        default=None,
        metavar="MODULE:FUNCTION",
        help="also a user metric fn(float_outputs, int_outputs, labels) -> number or "
        "{name: number}; MODULE is importable or a .py path",
    )
    add_kernels_arg(parser, threads=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..dataio import output_label_batches, scan_output_labels
    from ..plan import load_plan

    plan = load_plan(args.plan)
    user_metric = None
    if args.metric:
        from ..metrics import load_user_metric

        user_metric = load_user_metric(args.metric)
    samples, labels = open_plan_data(args.data, plan)  # headers checked, nothing read yet
    samples.scan()  # NaN/Inf (with the sample index) and damaged members, before the model is loaded
    scan_output_labels(labels)

    from ..evaluate import evaluate_batches  # onnx and onnxruntime: only once the data are known good
    from ..pipeline import load_graph

    from ..interop.given_job import load_if_qdq

    imported = load_if_qdq(Path(args.model))

    def batches(size: int):
        return zip(samples.batches(size), output_label_batches(labels, size))

    if imported is not None:  # three columns: float | onnxruntime running the QDQ model | the plan
        return _run_fidelity(args, imported, plan, batches, len(samples), bool(labels))
    graph = load_graph(args.model)

    result = evaluate_batches(
        args.model,
        graph,
        plan,
        batches,
        len(samples),
        bool(labels),
        batch_size=args.batch_size,
        progress=not args.quiet,
        metric=user_metric or "top1",
    )
    print(format_result(result))
    if args.json:
        _write_json(args.json, result)
    if args.report:
        _write_report(args, result, plan)
    return 0


def _write_report(args: argparse.Namespace, result, plan) -> None:
    from ..pipeline import load_stats
    from ..report import write_report

    stats = load_stats(Path(args.plan).parent)
    if stats is None:
        raise FileNotFoundError(
            f"{Path(args.plan).parent / 'stats.npz'}: calibration statistics needed for the report's histograms"
        )
    path = write_report(args.report, stats, result, plan)
    print(f"report: {path}")


def _run_fidelity(args: argparse.Namespace, imported, plan, batches, n: int, labeled: bool) -> int:
    import tempfile
    from dataclasses import asdict

    import onnx

    from ..fileio import atomic_write_text
    from ..interop.fidelity import format_fidelity, qdq_fidelity
    from ..pipeline import load_graph

    with tempfile.TemporaryDirectory(prefix="fixpoint-eval-") as tmp:
        float_path = Path(tmp) / "float_model.onnx"
        onnx.save(imported.model, str(float_path))
        graph = load_graph(float_path)
    result = qdq_fidelity(Path(args.model), imported, graph, plan, batches, n, labeled, args.batch_size, not args.quiet)
    print(format_fidelity(result))
    if args.report:
        _write_report(args, result.against_float, plan)
    if args.json:
        atomic_write_text(
            args.json,
            json.dumps(
                {"float": asdict(result.against_float), "onnxruntime_qdq": asdict(result.against_qdq)},
                indent=1,
                default=float,
            ),
        )
    return 0


def format_result(result) -> str:
    lines = [f"samples: {result.n_samples}"]
    for out in result.outputs:
        if out.labeled:
            lines.append(
                f"output '{out.name}': float top-1: {_pct(out.float_top1)}   integer top-1: "
                f"{_pct(out.int_top1)}   drop: {out.drop:.2f} pp   agreement: {out.agreement * 100:.2f}%   "
                f"SQNR: {out.sqnr_db:.2f} dB"
            )
        else:
            lines.append(
                f"output '{out.name}': no labels; top-1 agreement with float: {out.agreement * 100:.2f}%   "
                f"SQNR: {out.sqnr_db:.2f} dB   MSE: {out.mse:.4g}   max err: {out.max_abs_err:.4g}"
            )
    for name, value in (result.user_metric or {}).items():
        lines.append(f"metric {name}: {value:.6g}")
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
