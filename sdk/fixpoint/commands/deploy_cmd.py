"""``fixpoint deploy``: calibrate (or reuse the plan), generate, build, flash, check on the board."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._paths import repo_root
from ..ir import ModelError
from ._common import add_kernels_arg, add_board_arg, load_plan_data
from .calibrate_cmd import add_quantization_args, build_job
from .hil_cmd import add_hil_args, run_checked


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("deploy", help="the whole job: calibrate, generate C, build, run and check on a board")
    add_board_arg(parser)
    parser.add_argument(
        "--model", default="cnn_bn_res", help="an example name (examples/models/NAME) or a model.onnx path"
    )
    parser.add_argument("--data", type=Path, default=None, help="calibration set (default: beside the model)")
    parser.add_argument("--eval-data", type=Path, default=None, help="labeled eval set (default: beside the model)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default out/MODEL/BOARD)")
    parser.add_argument("--no-cache", action="store_true", help="recalibrate even if the cached plan matches")
    add_quantization_args(parser)
    add_kernels_arg(parser)
    add_hil_args(parser)
    parser.set_defaults(func=run)


def resolve_model(spec: str) -> Path:
    """An example name or a path to a model file."""
    path = Path(spec)
    if path.suffix == ".onnx":
        if not path.is_file():
            raise ModelError(f"{path}: model file not found")
        return path
    root = repo_root() or Path.cwd()
    candidate = root / "examples" / "models" / spec / "model.onnx"
    if not candidate.is_file():
        raise ModelError(f"--model {spec}: not an .onnx file and no example {candidate}")
    return candidate


def run(args: argparse.Namespace) -> int:
    from ..pipeline import run_calibration

    model = resolve_model(args.model)
    args.model, args.data = model, args.data or model.parent / "calib.npz"
    eval_data = args.eval_data or model.parent / "eval.npz"
    for path in (args.data, eval_data):
        if not path.exists():
            raise ModelError(f"{path}: data file not found")
    board_name = Path(args.board).stem if args.board.endswith(".toml") else args.board
    out = args.out or Path("out") / model.parent.name / board_name
    outputs = run_calibration(build_job(args), out / "plan", reuse=not args.no_cache)
    print(
        f"plan: {outputs.plan_path} ({'reused' if outputs.reused else 'calibrated'}; "
        f"{len(outputs.plan.layers)} layers, arena {outputs.plan.arena_size} bytes)"
    )
    x, labels = load_plan_data(eval_data, outputs.plan)
    return run_checked(args, outputs.plan, x, labels, model, out)
