"""``fixpoint ops``: the supported ONNX ops and runtime kernels."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("ops", help="list supported ONNX ops and runtime kernels")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..ops.docs import render_supported_ops

    print(render_supported_ops(), end="")
    return 0
