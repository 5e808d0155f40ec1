"""``fixpoint codegen``: generate the C model, weight tables and register headers of a plan."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_kernels_arg, add_board_arg, existing_file


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("codegen", help="generate C sources from a plan")
    parser.add_argument("--plan", type=existing_file, required=True)
    add_board_arg(parser)
    parser.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    parser.add_argument("--prefix", default=None, help="C symbol prefix (default from the model name)")
    add_kernels_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..codegen import generate
    from ..plan import load_plan

    generated = generate(load_plan(args.plan), board=args.board, out_dir=args.out, prefix=args.prefix)
    for role, path in sorted(generated.files.items()):
        print(f"{role:12s} {path}")
    print(
        f"arena {generated.arena_bytes} bytes (without reuse {generated.naive_arena_bytes}), "
        f"flash about {generated.flash_bytes} bytes (constants {generated.const_bytes})"
    )
    return 0
