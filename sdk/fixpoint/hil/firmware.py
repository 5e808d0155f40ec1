"""Generate the C for a plan and build it into firmware for a board."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from ..boards import load_board
from ..boards.build import build_firmware, firmware_size
from ..codegen import generate
from ..plan import Plan

log = logging.getLogger(__name__)


def build_model_firmware(plan: Plan, board, work_dir: str | Path,
                         on_stage: Callable[[str], None] | None = None):
    """Returns (firmware image, FirmwareSize). Generated sources go to work_dir/gen.

    ``on_stage`` is told "generate" and then "build" as each starts."""
    board = load_board(board)
    work_dir = Path(work_dir)
    if on_stage is not None:
        on_stage("generate")
    generated = generate(plan, board=board, out_dir=work_dir / "gen")
    if on_stage is not None:
        on_stage("build")
    image = build_firmware(board, generated.sources, include_dirs=[generated.out_dir],
                           out_dir=work_dir / "fw")
    size = firmware_size(image, board)
    log.info("%s: firmware %s (flash %d bytes, RAM %d bytes, arena %d bytes)", board.name, image,
             size.flash, size.ram, plan.arena_size)
    return image, size
