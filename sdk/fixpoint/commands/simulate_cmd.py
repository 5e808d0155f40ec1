"""``fixpoint simulate``: run an integer plan on the host, bit-exactly."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..fileio import atomic_path
from ._common import existing_file, load_labeled


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("simulate", help="run a plan on float samples with the reference runtime")
    parser.add_argument("--plan", type=existing_file, required=True)
    parser.add_argument("--data", type=existing_file, required=True, help=".npz (key 'input') or .npy samples")
    parser.add_argument("-o", "--out", type=Path, required=True, help="output .npz (integer and dequantized outputs)")
    parser.add_argument("--capture", action="store_true", help="also store every intermediate tensor")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..plan import load_plan
    from ..sim.executor import dequantize, quantize_input, run_plan

    plan = load_plan(args.plan)
    x, _ = load_labeled(args.data, None)
    result = run_plan(plan, [quantize_input(plan, x)], capture=args.capture)
    arrays = {"output_int": result.outputs[0], "output": dequantize(plan, plan.outputs[0], result.outputs[0])}
    if args.capture and result.intermediates:
        arrays.update({f"tensor/{name}": value for name, value in result.intermediates.items()})
    with atomic_path(args.out, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    print(f"simulated {len(x)} samples -> {args.out}")
    return 0
