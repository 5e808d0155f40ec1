"""``fixpoint calibrate``: model + calibration samples + board -> plan, CTable, statistics."""
from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_kernels_arg, add_board_arg, existing_file, key_value_pairs


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("calibrate", help="calibrate and lower a float ONNX model to an integer plan")
    parser.add_argument("model", type=existing_file, help="float ONNX model")
    parser.add_argument("--data", type=Path, required=True,
                        help="calibration samples: .npz, .npy or a folder of .npy (the first --max-samples "
                             "are used)")
    add_board_arg(parser)
    parser.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    add_quantization_args(parser)
    parser.add_argument("--no-cache", action="store_true", help="recalibrate even if the cached plan matches")
    add_kernels_arg(parser, threads=True)
    parser.set_defaults(func=run)


def add_quantization_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("quantization")
    g.add_argument("--policy", default=None,
                   help="range policy for every activation: max, percentile, kl, l1, l2, auto (default l2)")
    g.add_argument("--override", action="append", metavar="NAME=POLICY",
                   help="per-tensor/layer policy, e.g. conv1=max or 'fc*=percentile:99.9' (repeatable)")
    g.add_argument("--scheme", choices=("symmetric", "asymmetric", "pow2"), default=None,
                   help="activation scheme (default asymmetric for 8 bit, symmetric for 16 bit)")
    g.add_argument("--percentile", type=float, default=None, help="percentile for the percentile policy")
    g.add_argument("--activation-bits", type=int, choices=(8, 16), default=8)
    g.add_argument("--weight-bits", type=int, choices=(1, 2, 4, 8), default=8,
                   help="weight bits of conv / depthwise / fully connected layers: 8, 4, 2 (ternary) or 1 (binary)")
    g.add_argument("--weight-bits-override", action="append", metavar="NAME=BITS",
                   help="per-layer weight bits (1, 2, 4 or 8), e.g. 'conv*=4' (repeatable)")
    g.add_argument("--per-tensor-weights", action="store_true", help="one weight scale per layer")
    g.add_argument("--equalize", action="store_true", help="cross-layer equalization")
    g.add_argument("--bias-correction", action="store_true", help="correct the bias shift of weight rounding")
    g.add_argument("--adaptive-rounding", action="store_true", help="search weight rounding per channel")
    g.add_argument("--batch-size", type=int, default=32)
    g.add_argument("--max-samples", type=int, default=1000, metavar="N",
                   help="calibrate on the first N samples of the set, ignore the rest (default %(default)s; "
                        "see docs/calibration.md)")
    g.add_argument("--search", action="store_true",
                   help="re-choose every activation range among the candidate policies by the error it "
                        "causes in the simulated network output (slower; see docs/calibration.md)")
    g.add_argument("--search-candidates", default=None, metavar="P1,P2,...",
                   help="policies the search tries (default: every policy but auto)")
    g.add_argument("--budget", default=None, metavar="flash=KB,ram=KB,instructions=N",
                   help="choose per-layer weight bits (1/2/4/8) and the activation width (8/16) with the least "
                        "simulated loss within these limits (any subset); the Pareto front goes to "
                        "pareto.md / pareto.svg and the report (docs/calibration.md)")
    g.add_argument("--search-samples", type=int, default=256, metavar="N",
                   help="calibration samples the search scores on (default %(default)s)")


def build_job(args: argparse.Namespace):
    """A CalibrationJob from parsed arguments (shared with ``deploy``)."""
    from ..boards import load_board
    from ..calibrate import CalibrationConfig
    from ..dataio import check_path
    from ..lower import LowerOptions
    from ..pipeline import CalibrationJob
    from ..mixed import parse_budget
    from ..range_search import SearchOptions

    # Before anything opens the data (the plan cache hashes it first): a FIFO would block forever.
    check_path(Path(args.data), allow_folder=True)
    board = load_board(args.board)
    calib = CalibrationConfig(bits=args.activation_bits, scheme=args.scheme, batch_size=args.batch_size,
                              max_samples=args.max_samples,
                              per_tensor_policy=key_value_pairs(args.override, "--override"),
                              progress=not args.quiet)
    if args.policy:
        calib.policy = args.policy
    if args.percentile is not None:
        calib.percentile = args.percentile
    overrides = {k: int(v) for k, v in key_value_pairs(args.weight_bits_override, "--weight-bits-override").items()}
    lowering = LowerOptions(weight_bits=args.weight_bits, weight_bits_overrides=overrides,
                            per_channel=not args.per_tensor_weights, equalize=args.equalize,
                            bias_correction=args.bias_correction, adaptive_rounding=args.adaptive_rounding,
                            engines=list(board.accelerator.engines) or None)
    search = None
    if args.search:
        search = SearchOptions(num_samples=args.search_samples, progress=not args.quiet)
        if args.search_candidates:
            search.candidates = tuple(c for c in args.search_candidates.split(",") if c)
    budget = parse_budget(args.budget) if getattr(args, "budget", None) else None
    return CalibrationJob(model_path=Path(args.model), data_path=Path(args.data),
                          profile=board.requant_profile(), calibration=calib, lowering=lowering,
                          board_name=board.name, search=search, budget=budget)


def run(args: argparse.Namespace) -> int:
    from ..pipeline import run_calibration

    outputs = run_calibration(build_job(args), args.out, reuse=not args.no_cache)
    plan = outputs.plan
    print(f"plan: {outputs.plan_path} ({len(plan.layers)} layers, arena {plan.arena_size} bytes, "
          f"hash {plan.model_hash[:16]})")
    print(f"ctable: {outputs.ctable_path}")
    return 0
