"""Argument helpers shared by subcommands."""
from __future__ import annotations

import argparse
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


def load_labeled(path: Path, input_key: str | None, label_key: str = "label") -> tuple[np.ndarray, np.ndarray | None]:
    """Samples (and labels, when present) from an .npz / .npy file."""
    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False), None
        with np.load(path, allow_pickle=False) as data:
            keys = list(data.keys())
            key = input_key or ("input" if "input" in keys else next((k for k in keys if k != label_key), None))
            if key is None or key not in keys:
                raise ModelError(f"{path}: no sample array '{input_key or 'input'}' (keys: {', '.join(keys)})")
            labels = data[label_key] if label_key in keys else None
            return np.asarray(data[key]), (np.asarray(labels) if labels is not None else None)
    except (OSError, ValueError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"{path}: unreadable sample file ({exc})") from None


def add_board_arg(parser: argparse.ArgumentParser, default: str | None = DEFAULT_BOARD) -> None:
    parser.add_argument("--board", default=default,
                        help=f"board name or board.toml path (default {default}); see `fixpoint boards`")
