"""``fixpoint boards``: known boards and their accelerator profiles."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("boards", help="list known boards")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..boards import list_boards, load_board

    for name in list_boards():
        board = load_board(name)
        target = board.target
        p = target.profile
        engines = ",".join(e.name for e in target.engines)
        print(f"{name:16s} {board.kind:9s} rounding={p.rounding} multiplier_bits={p.multiplier_bits} "
              f"shift=[{p.shift_min},{p.shift_max}] per_channel={p.per_channel} engines={engines}  "
              f"{board.description}")
    return 0
