"""Generate the C for a plan and build it into firmware for a board."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from ..boards import load_board
from ..boards.build import BuildError, build_firmware, firmware_size
from ..codegen import generate
from ..plan import Plan

log = logging.getLogger(__name__)


def stage_bytes(plan: Plan) -> int:
    """Size of the firmware's staging buffer for double buffering: the plan's whole input."""
    return sum(plan.tensors[i].nbytes for i in plan.inputs)


def rx_ring_bytes(plan: Plan, max_payload: int) -> int:
    """Receive ring of a double-buffered firmware: room for one whole sample's LOAD_NEXT frames (data
    plus 14 bytes of framing and offset each), so that on a board whose counter takes interrupts out of
    its counts the next sample arrives while the model computes (a power of two, at least 256)."""
    data = stage_bytes(plan)
    frames = -(-data // (max_payload - 4))
    need = data + 14 * frames + 64
    return max(256, 1 << (need - 1).bit_length())


def _does_not_fit(exc: BuildError) -> bool:
    text = str(exc)
    return "overflow" in text or "firmware needs" in text


def build_model_firmware(
    plan: Plan, board, work_dir: str | Path, *, staging: bool = True, on_stage: Callable[[str], None] | None = None
):
    """Returns (firmware image, FirmwareSize). Generated sources go to work_dir/gen.

    With ``staging`` the firmware gets a staging buffer of the input size for
    double buffering (docs/serial-protocol.md); where the board's RAM cannot
    hold it, the firmware is built without (and the host uses the plain path).
    ``on_stage`` is told "generate" and then "build" as each starts.
    """
    board = load_board(board)
    work_dir = Path(work_dir)
    if on_stage is not None:
        on_stage("generate")
    generated = generate(plan, board=board, out_dir=work_dir / "gen")
    if on_stage is not None:
        on_stage("build")
    sources, includes = generated.sources, [generated.out_dir]
    # the streaming commands (fw_stream.c) only for a model with recurrent state: others link none of it
    extra = {"FW_STREAMING": "1"} if generated.state_bytes else {}
    image = None
    if staging:
        try:
            image = build_firmware(
                board,
                sources,
                include_dirs=includes,
                out_dir=work_dir / "fw",
                defines={
                    "FW_STAGE_BYTES": f"{stage_bytes(plan)}u",
                    "FW_RX_RING_SIZE": f"{rx_ring_bytes(plan, board.serial.max_payload)}u",
                    **extra,
                },
            )
        except BuildError as exc:
            if not _does_not_fit(exc):
                raise
            log.info(
                "%s: no room for a %d-byte staging buffer; single-buffered firmware", board.name, stage_bytes(plan)
            )
    if image is None:
        image = build_firmware(board, sources, include_dirs=includes, out_dir=work_dir / "fw", defines=extra or None)
    size = firmware_size(image, board)
    log.info(
        "%s: firmware %s (flash %d bytes, RAM %d bytes, arena %d bytes)",
        board.name,
        image,
        size.flash,
        size.ram,
        plan.arena_size,
    )
    return image, size
