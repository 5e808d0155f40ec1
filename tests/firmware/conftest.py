"""Fixtures of the board tests: firmware built once per board per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fixpoint.boards.build import build_firmware

from fixture_model import INPUT_SIZE, MODEL_HASH, MODEL_SOURCE, OUTPUT_SIZE


@pytest.fixture(scope="session")
def firmware_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Build (once) and return the fixture-model firmware for a board."""
    built: dict[str, Path] = {}
    out = tmp_path_factory.mktemp("firmware")

    def build(board: str) -> Path:
        if board not in built:
            built[board] = build_firmware(
                board,
                [MODEL_SOURCE],
                out_dir=out / board,
                defines={
                    "FIXTURE_MODEL_HASH": f'"{MODEL_HASH}"',
                    "FIXTURE_INPUT_SIZE": f"{INPUT_SIZE}u",
                    "FIXTURE_OUTPUT_SIZE": f"{OUTPUT_SIZE}u",
                },
            )
        return built[board]

    return build
