"""``fixpoint boards``: known boards and their accelerator profiles; ``boards import-svd``: an
accelerator's register block from a CMSIS-SVD file, as board-file TOML."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("boards", help="list known boards; import an accelerator register map from SVD")
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="boards_command", metavar="ACTION")
    svd = actions.add_parser("import-svd", help="write [accelerator.registers] from a CMSIS-SVD peripheral")
    svd.add_argument("svd", metavar="FILE.svd", help="CMSIS-SVD file describing the accelerator")
    svd.add_argument(
        "--peripheral",
        metavar="NAME",
        help="the peripheral holding the per-layer register block (default: the only one)",
    )
    svd.add_argument("-o", "--output", metavar="FILE", help="write the TOML here (default: standard output)")
    svd.set_defaults(func=run_import_svd)


def run(args: argparse.Namespace) -> int:
    from ..boards import list_boards, load_board

    for name in list_boards():
        board = load_board(name)
        target = board.target
        p = target.profile
        engines = ",".join(e.name for e in target.engines)
        print(
            f"{name:16s} {board.kind:9s} rounding={p.rounding} multiplier_bits={p.multiplier_bits} "
            f"shift=[{p.shift_min},{p.shift_max}] per_channel={p.per_channel} engines={engines}  "
            f"{board.description}"
        )
    return 0


def run_import_svd(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..boards.svd import SvdError, import_svd, registers_toml
    from ..cli import UserError
    from ..fileio import atomic_write_text

    try:
        reg_map = import_svd(args.svd, args.peripheral)
    except SvdError as exc:
        raise UserError(str(exc)) from None
    text = registers_toml(reg_map, Path(args.svd).name)
    if args.output:
        atomic_write_text(args.output, text)  # all or nothing: never a half-written board snippet
    else:
        sys.stdout.write(text)
    return 0
