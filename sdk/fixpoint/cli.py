"""The ``fixpoint`` command: one subcommand module per verb in fixpoint.commands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import __version__
from .commands import COMMANDS

log = logging.getLogger("fixpoint")


class UserError(Exception):
    """Raised by commands for bad invocations; printed as one line."""


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints the usage block before its error; a bad invocation is bad
    input like any other: one ``error:`` line (``--help`` still shows usage)."""

    def error(self, message: str) -> NoReturn:
        from .ir import printable

        self.exit(2, f"error: {self.prog}: {printable(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="fixpoint",
        description="Calibrate ONNX models into integer plans, generate C, and verify them bit-exactly on boards.",
    )
    parser.add_argument("--version", action="version", version=f"fixpoint {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, warnings only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def _known_errors() -> tuple[type[BaseException], ...]:
    """Exception types that carry a one-line message meant for the user."""
    from .ir import ModelError
    from .plan import PlanError

    errors: list[type[BaseException]] = [ModelError, PlanError, UserError, FileNotFoundError]
    for module_name, attr in (
        ("fixpoint.sim.kernels", "KernelArgumentError"),
        ("fixpoint.serial", "BoardError"),
        ("fixpoint.boards", "BoardConfigError"),
    ):
        try:
            module = __import__(module_name, fromlist=[attr])
            errors.append(getattr(module, attr))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def _quiet_third_party_warnings(verbose: bool) -> None:
    """Route Python warnings (numpy, onnx, protobuf) into logging, shown with ``-v`` only.

    They speak about library internals, not about the user's input; every real
    problem with the input is reported as the one ``error:`` line instead.
    """
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.DEBUG if verbose else logging.CRITICAL)


def _error_line(exc: BaseException) -> str:
    """The exception as one printable line: control characters from names in the user's files
    are escaped, so they can neither split the line nor drive the terminal."""
    from .ir import printable

    text = str(exc)
    return printable(text.splitlines()[0]) if text.strip() else type(exc).__name__


def _apply_sim_options(args: argparse.Namespace) -> None:
    """--kernels / --sim-threads: process-wide simulator (and code generator) defaults."""
    kernels, threads = getattr(args, "kernels", None), getattr(args, "sim_threads", None)
    if kernels is not None or threads is not None:
        from .sim.executor import set_defaults

        set_defaults(kernels=kernels, threads=threads)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else (logging.WARNING if args.quiet else logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    _quiet_third_party_warnings(args.verbose)
    try:
        _apply_sim_options(args)
        return int(args.func(args) or 0)
    except _known_errors() as exc:
        print(f"error: {_error_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # output piped into e.g. `head`, which stopped reading: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
