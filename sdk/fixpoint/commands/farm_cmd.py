"""``fixpoint farm run|history|compare``: the nightly HIL regression farm (docs/farm.md)."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

from ._common import existing_file, positive_int

DEFAULT_OUT = Path("out/farm")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("farm", help="nightly regression farm: boards x models x configs, history, report")
    verbs = parser.add_subparsers(dest="farm_command", metavar="VERB", required=True)

    run = verbs.add_parser("run", help="run every job of a farm file")
    run.add_argument("farm_file", type=existing_file, metavar="FARM.toml")
    _add_db_args(run, out_default=None)
    run.add_argument(
        "--resume",
        metavar="RUN_ID",
        nargs="?",
        const="last",
        default=None,
        help="continue an interrupted run: only its jobs without a final verdict run "
        "(without RUN_ID: the newest unfinished run of this farm)",
    )
    run.add_argument(
        "--baseline", metavar="RUN_ID", default=None, help="compare with this run instead of each job's last good run"
    )
    run.add_argument("--workers", type=positive_int, default=None, help="parallel jobs (default: farm file, 2)")
    run.add_argument("--samples", type=positive_int, default=None, help="eval samples per job (default: farm file)")
    run.set_defaults(func=run_farm)

    hist = verbs.add_parser("history", help="the last runs, or one run's jobs")
    _add_db_args(hist, out_default=DEFAULT_OUT)
    hist.add_argument("--run", metavar="RUN_ID", default=None, help="list this run's jobs")
    hist.add_argument("-n", "--limit", type=positive_int, default=20, help="runs to list (default 20)")
    hist.set_defaults(func=show_history)

    cmp = verbs.add_parser("compare", help="regressions of run B against run A")
    cmp.add_argument("run_a", metavar="RUN_A")
    cmp.add_argument("run_b", metavar="RUN_B")
    _add_db_args(cmp, out_default=DEFAULT_OUT)
    cmp.add_argument(
        "--farm",
        type=existing_file,
        default=None,
        metavar="FARM.toml",
        help="take the thresholds from this farm file (default: built-in)",
    )
    cmp.set_defaults(func=compare)


def _add_db_args(parser: argparse.ArgumentParser, out_default: Path | None) -> None:
    parser.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help="history database: a SQLite file or postgresql://... (default: $FIXPOINT_FARM_DB, "
        "the farm file's farm.db, else OUT/history.sqlite)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=out_default,
        help="results folder (default: the farm file's farm.out, else out/farm)",
    )


def _db_url(args: argparse.Namespace, spec_db: str | None, out: Path, *, existing: bool = False) -> str:
    """The history's URL; with ``existing`` (history, compare) a SQLite file must be there already."""
    from ..farm import FarmError, default_db

    url = args.db or os.environ.get("FIXPOINT_FARM_DB") or spec_db or default_db(out)
    if existing and "://" not in url and not Path(url).is_file():
        raise FarmError(f"{url}: no farm history there (--db names it; `fixpoint farm run` creates it)")
    return url


def run_farm(args: argparse.Namespace) -> int:
    from ..farm import Farm, History, load_farm, write_report

    spec = load_farm(args.farm_file)
    if args.workers:
        spec.workers = args.workers
    if args.samples:
        spec.samples = args.samples
        spec.models = [replace(m, samples=None) for m in spec.models]
    out = args.out or spec.out
    with History(_db_url(args, spec.db, out)) as history:
        if args.baseline and history.run(args.baseline) is None:
            from ..farm import FarmError

            raise FarmError(f"--baseline {args.baseline}: no such run in the history")
        outcome = Farm(spec, history, out, resume=args.resume, baseline=args.baseline).run()
        report = write_report(
            outcome.run_dir / "report.html",
            outcome.info,
            outcome.results,
            outcome.regressions,
            history,
            spec.trend_runs,
        )
    for r in outcome.results:
        why = f"  [{r.stage}] {r.reason}" if r.verdict not in ("PASSED",) and r.reason else ""
        print(f"{r.verdict:8} {r.job_id}{why}")
    for reg in outcome.regressions:
        print(reg.line())
    print(
        f"run {outcome.info.run_id}: report {report}, junit {outcome.run_dir / 'junit.xml'}, "
        f"json {outcome.run_dir / 'summary.json'}"
    )
    if outcome.interrupted:
        print(f"interrupted: resume with fixpoint farm run {args.farm_file} --resume {outcome.info.run_id}")
    return outcome.exit_code


def show_history(args: argparse.Namespace) -> int:
    from ..farm import FarmError, History

    with History(_db_url(args, None, args.out, existing=True)) as history:
        if args.run:
            if history.run(args.run) is None:
                raise FarmError(f"--run {args.run}: no such run in the history")
            for j in history.jobs(args.run):
                instr = "" if j.instructions is None else f" {j.instructions:.0f} {j.counter_unit}/inference"
                acc = "" if j.accuracy is None else f" top-1 {j.accuracy * 100:.2f}%"
                print(
                    f"{j.verdict:8} {j.job_id}: {j.bit_exact}/{j.n_samples} bit-exact{acc}{instr}"
                    f" flash {j.flash} RAM {j.ram}" + (f"  [{j.stage}] {j.reason}" if j.reason else "")
                )
            return 0
        for run in history.runs(args.limit):
            jobs = history.jobs(run.run_id)
            passed = sum(1 for j in jobs if j.verdict == "PASSED")
            print(
                f"{run.run_id}  {run.farm}  {run.status:11} {passed}/{len(jobs)} passed  "
                f"commit {run.commit[:12]}  started {run.started}"
            )
    return 0


def compare(args: argparse.Namespace) -> int:
    from ..farm import FarmError, History, Thresholds, compare_runs, load_farm

    limits = load_farm(args.farm).thresholds if args.farm else Thresholds()
    with History(_db_url(args, None, args.out, existing=True)) as history:
        for run_id in (args.run_a, args.run_b):
            if history.run(run_id) is None:
                raise FarmError(f"{run_id}: no such run in the history")
        regressions, only = compare_runs(history, args.run_a, args.run_b, limits)
    for line in only:
        print(line)
    for reg in regressions:
        print(reg.line())
    print(f"{len(regressions)} regressions of {args.run_b} against {args.run_a}")
    return 3 if regressions else 0
