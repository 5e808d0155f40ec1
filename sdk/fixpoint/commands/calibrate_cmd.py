"""``fixpoint calibrate``: model + calibration samples + board -> plan, CTable, statistics."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ._common import add_kernels_arg, add_board_arg, existing_file, key_value_pairs

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("calibrate", help="calibrate and lower a float ONNX model to an integer plan")
    parser.add_argument("model", type=existing_file, help="float ONNX model")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="calibration samples: .npz, .npy or a folder of .npy (the first --max-samples "
        "are used); required unless --data-free",
    )
    add_board_arg(parser)
    parser.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    add_quantization_args(parser)
    parser.add_argument("--no-cache", action="store_true", help="recalibrate even if the cached plan matches")
    add_kernels_arg(parser, threads=True)
    parser.set_defaults(func=run)


def add_quantization_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("quantization")
    g.add_argument(
        "--policy",
        default=None,
        help="range policy for every activation: max, percentile, kl, l1, l2, auto, fixed (every "
        "tensor then needs a fixed:MIN,MAX override or an encoding; default l2)",
    )
    g.add_argument(
        "--override",
        action="append",
        metavar="NAME=POLICY",
        help="per-tensor/layer policy, e.g. conv1=max, 'fc*=percentile:99.9' or logits=fixed:-8,8 (repeatable)",
    )
    g.add_argument(
        "--encodings",
        type=existing_file,
        default=None,
        metavar="FILE",
        help="pin ranges (and parameter quantization) from an AIMET encodings JSON (0.6.1, 1.0.0, "
        "2.0.0) or a Fixpoint CTable; see docs/interop.md",
    )
    g.add_argument(
        "--scheme",
        choices=("symmetric", "asymmetric", "pow2"),
        default=None,
        help="activation scheme (default asymmetric for 8 bit, symmetric for 16 bit)",
    )
    g.add_argument("--percentile", type=float, default=None, help="percentile for the percentile policy")
    g.add_argument("--activation-bits", type=int, choices=(8, 16), default=8)
    g.add_argument(
        "--weight-bits",
        type=int,
        choices=(1, 2, 4, 8),
        default=8,
        help="weight bits of conv / depthwise / fully connected layers: 8, 4, 2 (ternary) or 1 (binary)",
    )
    g.add_argument(
        "--weight-bits-override",
        action="append",
        metavar="NAME=BITS",
        help="per-layer weight bits (1, 2, 4 or 8), e.g. 'conv*=4' (repeatable)",
    )
    g.add_argument(
        "--engine-override",
        action="append",
        metavar="NAME=ENGINE",
        help="run a layer on this engine of the board instead of the cheapest capable one, e.g. "
        "'/fc/Gemm=cpu' (repeatable; docs/accelerators.md)",
    )
    g.add_argument(
        "--activation-bits-override",
        action="append",
        metavar="NAME=BITS",
        help="per-layer activation width (8 or 16) of a layer's output and inputs, e.g. 'ln*=16' "
        "(repeatable; replaces the measured int8 / int16 choice, '*=8' keeps every layer int8)",
    )
    g.add_argument("--per-tensor-weights", action="store_true", help="one weight scale per layer")
    g.add_argument("--equalize", action="store_true", help="cross-layer equalization")
    g.add_argument(
        "--bias-correction",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="correct the bias shift of weight rounding (default: on for 4-bit layers)",
    )
    g.add_argument(
        "--adaptive-rounding",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="AdaRound: learn each weight's rounding on the layer's output error (default: on for 4-bit layers)",
    )
    g.add_argument(
        "--weight-clip",
        default=None,
        metavar="none|mse|sigma:K",
        help="clip each output channel's weight range: mse = least squared weight error, sigma:K = K "
        "standard deviations (default: mse for 4-bit layers, none for 8-bit)",
    )
    g.add_argument("--batch-size", type=int, default=32)
    g.add_argument(
        "--max-samples",
        type=int,
        default=1000,
        metavar="N",
        help="calibrate on the first N samples of the set, ignore the rest (default %(default)s; "
        "see docs/calibration.md)",
    )
    g.add_argument(
        "--search",
        action="store_true",
        help="re-choose every activation range among the candidate policies by the error it "
        "causes in the simulated network output (slower; see docs/calibration.md)",
    )
    g.add_argument(
        "--search-candidates",
        default=None,
        metavar="P1,P2,...",
        help="policies the search tries (default: every policy but auto)",
    )
    g.add_argument(
        "--budget",
        default=None,
        metavar="flash=KB,ram=KB,instructions=N",
        help="choose per-layer weight bits (1/2/4/8), engine and the activation width (8/16) with the least "
        "simulated loss within these limits (any subset); the Pareto front goes to "
        "pareto.md / pareto.svg and the report (docs/calibration.md)",
    )
    g.add_argument(
        "--search-samples",
        type=int,
        default=None,
        metavar="N",
        help="calibration samples the search scores on (default: the policy search needs 128 and "
        "scores on up to 256; --search 256)",
    )
    g.add_argument(
        "--no-search",
        action="store_true",
        help="skip the default per-tensor policy search: every range by --policy (default l2)",
    )
    g.add_argument(
        "--policy-search",
        action="store_true",
        help="run the per-tensor policy search under 1/2/4-bit weights too (off by default there: "
        "its plans carry the refined low-bit weights and do not fit the 30 s box)",
    )
    g.add_argument(
        "--search-loss",
        choices=("kl", "mse"),
        default="kl",
        help="policy search loss on the simulated output: kl = softmax divergence of 2-D class "
        "outputs (1/SQNR for others), mse = 1/SQNR everywhere (default %(default)s)",
    )
    g.add_argument(
        "--data-free",
        action="store_true",
        help="no calibration samples: estimate every range from BatchNormalization statistics and "
        "weights (the report says the ranges are estimated; see docs/calibration.md)",
    )
    g.add_argument(
        "--input-range",
        default=None,
        metavar="LO,HI",
        help="with --data-free: the model input's value range (default: standardized, mean 0, std 1)",
    )
    g.add_argument(
        "--search-budget",
        type=float,
        default=20.0,
        metavar="S",
        help="policy search budget: the plans it simulates are the number a quiet 2-core machine "
        "runs in S seconds by a cost model of the network, so the result does not depend on the "
        "machine's load (default %(default)s)",
    )
    g.add_argument(
        "--search-seconds",
        type=float,
        default=120.0,
        metavar="S",
        help="wall-time safety net of the policy search (default %(default)s)",
    )


def build_job(args: argparse.Namespace):
    """A CalibrationJob from parsed arguments (shared with ``deploy``)."""
    from ..boards import load_board
    from ..calibrate import CalibrationConfig
    from ..dataio import check_path
    from ..lower import LowerOptions
    from ..pipeline import CalibrationJob
    from ..mixed import parse_budget
    from ..range_search import SearchOptions

    data_free, input_range = _data_free(args)
    if not data_free:
        # Before anything opens the data (the plan cache hashes it first): a FIFO would block forever.
        check_path(Path(args.data), allow_folder=True)
    board = load_board(args.board)
    calib = CalibrationConfig(
        bits=args.activation_bits,
        scheme=args.scheme,
        batch_size=args.batch_size,
        max_samples=args.max_samples,
        per_tensor_policy=key_value_pairs(args.override, "--override"),
        progress=not args.quiet,
    )
    if args.policy:
        calib.policy = args.policy
    if args.percentile is not None:
        calib.percentile = args.percentile
    overrides = {k: int(v) for k, v in key_value_pairs(args.weight_bits_override, "--weight-bits-override").items()}
    lowering = LowerOptions(
        weight_bits=args.weight_bits,
        weight_bits_overrides=overrides,
        activation_bits_overrides=_activation_overrides(args.activation_bits_override),
        per_channel=not args.per_tensor_weights,
        equalize=args.equalize,
        bias_correction=args.bias_correction,
        adaptive_rounding=args.adaptive_rounding,
        weight_clip=args.weight_clip,
        engines=list(board.get_target().engines) or None,
        engine_overrides=key_value_pairs(args.engine_override, "--engine-override"),
    )
    search = None
    if args.search:
        search = SearchOptions(num_samples=args.search_samples or 256, progress=not args.quiet)
        if args.search_candidates:
            search.candidates = tuple(c for c in args.search_candidates.split(",") if c)
    budget = parse_budget(args.budget) if args.budget else None
    return CalibrationJob(
        model_path=Path(args.model),
        data_path=None if data_free else Path(args.data),
        profile=board.get_target().profile,
        calibration=calib,
        lowering=lowering,
        board_name=board.name,
        search=None if data_free else search,
        policy_search=_policy_search(args, data_free, overrides),
        input_range=input_range,
        encodings=args.encodings,
        budget=budget,
    )


def _data_free(args: argparse.Namespace) -> tuple[bool, tuple[float, float] | None]:
    """(--data-free, its input range); a one-line error for a missing --data or a bad range."""
    from ..ir import ModelError

    if not args.data_free:
        if args.data is None:
            raise ModelError("calibrate: --data is required (or --data-free to estimate ranges without samples)")
        if args.input_range:
            raise ModelError("--input-range only applies with --data-free")
        return False, None
    if not args.input_range:
        return True, None
    try:
        lo, hi = (float(v) for v in args.input_range.split(","))
    except ValueError:
        raise ModelError(f"--input-range: expected LO,HI (two numbers), got '{args.input_range}'") from None
    if not lo < hi:
        raise ModelError(f"--input-range: LO must be below HI, got '{args.input_range}'")
    return True, (lo, hi)


def _policy_search(args: argparse.Namespace, data_free: bool, weight_bits_overrides: dict[str, int]):
    """The default policy search (the rule: fixpoint.pipeline.default_policy_search), with the search options."""
    from ..pipeline import default_policy_search
    from ..policy_search import PolicySearchOptions

    requested = False if args.no_search else (True if args.policy_search else None)
    if not default_policy_search(
        policy=args.policy,
        range_search=args.search,
        weight_bits=args.weight_bits,
        weight_bits_overrides=weight_bits_overrides,
        data_free=data_free,
        requested=requested,
    ):
        return None
    options = PolicySearchOptions(
        loss=args.search_loss, time_box=args.search_seconds, budget_seconds=args.search_budget, progress=not args.quiet
    )
    if args.search_samples:
        options.num_samples = options.scoring_samples = args.search_samples
    if args.search_candidates:
        options.candidates = tuple(c for c in args.search_candidates.split(",") if c)
    options.validate()
    return options


def run(args: argparse.Namespace) -> int:
    from ..pipeline import run_calibration

    outputs = run_calibration(build_job(args), args.out, reuse=not args.no_cache)
    plan = outputs.plan
    print(
        f"plan: {outputs.plan_path} ({len(plan.layers)} layers, arena {plan.arena_size} bytes, "
        f"hash {plan.model_hash[:16]})"
    )
    print(f"ctable: {outputs.ctable_path}")
    return 0


def _activation_overrides(pairs: list[str] | None) -> dict[str, int]:
    """--activation-bits-override NAME=BITS pairs; BITS 8 or 16 (else a ModelError: one error line)."""
    from ..ir import ModelError

    out = {}
    for name, bits in key_value_pairs(pairs, "--activation-bits-override").items():
        if bits not in ("8", "16"):
            raise ModelError(f"--activation-bits-override {name}={bits}: the width must be 8 or 16")
        out[name] = int(bits)
    return out
