"""Shared helpers of the HIL tests: example models, eval sets, selected boards."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from fixpoint.boards import list_boards, load_board

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "models"
#: Boards of a plain `pytest` run; `make test` and `make test-all` set FIXPOINT_TEST_BOARDS.
DEFAULT_BOARDS = "host,mps2-an386,riscv32-virt"
#: Samples per example model on a board outside FIXPOINT_WHOLE_EVAL_BOARDS.
SUBSET_SAMPLES = 250


def example_models() -> list[str]:
    return sorted(p.name for p in EXAMPLES.iterdir() if (p / "model.onnx").is_file())


def selected_boards() -> list[str]:
    """Emulated boards selected for this run: FIXPOINT_TEST_BOARDS (names, or "all")."""
    wanted = os.environ.get("FIXPOINT_TEST_BOARDS", DEFAULT_BOARDS)
    names = list_boards() if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    return [n for n in names if load_board(n).kind != "hardware"]


def whole_eval(board: str) -> bool:
    """Whether ``board`` runs each example's whole eval set. `make test` names the host and the
    default board in FIXPOINT_WHOLE_EVAL_BOARDS, so its daily rotating board runs SUBSET_SAMPLES
    per model; unset (a plain `pytest`, `make test-all`): every board runs the whole set."""
    wanted = os.environ.get("FIXPOINT_WHOLE_EVAL_BOARDS")
    return wanted is None or board in {n.strip() for n in wanted.split(",")}


def eval_set(model: str) -> tuple[np.ndarray, np.ndarray]:
    with np.load(EXAMPLES / model / "eval.npz") as data:
        return data["input"], data["label"]
