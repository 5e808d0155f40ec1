"""Argument helpers shared by subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..ir import ModelError

DEFAULT_BOARD = "mps2-an386"


def key_value_pairs(values: list[str] | None, what: str) -> dict[str, str]:
    """Parse repeated NAME=VALUE options."""
    result: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ModelError(f"{what}: expected NAME=VALUE, got '{item}'")
        result[name] = value
    return result


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    return path


def plan_input_spec(plan) -> tuple[str, list[int]]:
    """The plan's input when it has exactly one: its ONNX name and per-sample shape in the ONNX layout."""
    from ..iospec import plan_input_specs

    specs = plan_input_specs(plan)
    if len(specs) != 1:
        raise ModelError(f"plan '{plan.model_name}' has {len(specs)} inputs; use iospec.plan_input_specs")
    return specs[0]


def open_plan_data(path: Path, plan):
    """The samples of every plan input (an InputSet, plan order) and the labels by output name.

    Every header is checked (keys, dtypes, shapes against the plan, label sizes); nothing is read.
    """
    from ..dataio import open_inputs, open_output_labels
    from ..iospec import plan_input_specs, plan_output_names

    inputs = open_inputs(path, plan_input_specs(plan))
    return inputs, open_output_labels(path, len(inputs), plan_output_names(plan))


def load_plan_data(path: Path, plan) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """:func:`open_plan_data`, read whole and checked for NaN/Inf: (one array per input, labels by output)."""
    from ..dataio import read_output_labels, scan_output_labels

    inputs, labels = open_plan_data(path, plan)
    scan_output_labels(labels)
    return inputs.read_all(check_finite=True), read_output_labels(labels, len(inputs))


def load_labeled(
    path: Path, input_key: str | None, label_key: str = "label", input_shape: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Samples (float32) and labels (int64, when present) from an .npz / .npy file, as whole arrays.

    Checked like every data file (:mod:`fixpoint.dataio`): file kind, archive, dtype, shape
    (when ``input_shape`` is given), NaN/Inf with the sample index, labels one integer per sample.
    """
    from ..dataio import label_batches, open_labels, open_samples

    samples = open_samples(path, input_key, input_shape, label_key=label_key)
    labels = open_labels(path, len(samples), label_key)
    x = samples.read_all(check_finite=True)
    return x, (None if labels is None else next(label_batches(labels, len(samples))))


def progress_bar(total: int, desc: str, enabled: bool):
    """A tqdm bar on stderr, only on a terminal and without --quiet (see docs/engineering.md)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="sample", file=sys.stderr, desc=desc, disable=not enabled or not sys.stderr.isatty())


def add_board_arg(parser: argparse.ArgumentParser, default: str | None = DEFAULT_BOARD) -> None:
    parser.add_argument(
        "--board", default=default, help=f"board name or board.toml path (default {default}); see `fixpoint boards`"
    )


def add_kernels_arg(parser: argparse.ArgumentParser, threads: bool = False) -> None:
    """``--kernels`` (and with ``threads`` ``--sim-threads``): applied by fixpoint.cli before the command runs."""
    parser.add_argument(
        "--kernels",
        choices=("auto", "ref"),
        default=None,
        help="kernel variants of the simulator and generated firmware: auto = the optimized "
        "variant the CPU core gets (docs/kernels.md), ref = the reference kernels "
        "(default auto, or $FIXPOINT_KERNELS)",
    )
    if threads:
        parser.add_argument(
            "--sim-threads",
            type=positive_int,
            default=None,
            help="simulator threads per batch (default 1; results do not depend on it)",
        )


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1")
    return value


def positive_seconds(text: str) -> float:
    """A timeout: a finite number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0.0 < value < 86_400.0:
        raise argparse.ArgumentTypeError(f"{text}: a timeout must be above 0 and below one day")
    return value


def retry_count(text: str) -> int:
    """How often a transaction is sent again: 0 to 20 (as the board schema allows)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 0 <= value <= 20:
        raise argparse.ArgumentTypeError(f"{text}: retries must be between 0 and 20")
    return value
