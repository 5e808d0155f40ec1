"""Layers that execute from the engine register file the command stream produced.

On a board with accelerator engines and a register map, the firmware's command-stream player
replays each layer's writes into a register file in RAM (the model of the engine's registers) and
the layer runs on what those registers say: ``fp_layer_from_regs`` (runtime/src/graph) decodes the
zero points, clamp, requantizer (scale tables and the engine's mode), weight / bias tables and the
geometry of conv / pool layers (dims, kernel window, strides, dilations, pads) from them. This
module gives that C function its decode table (``fp_regmap_t``) and the engines' requantizers, for
the generated firmware and for the simulator's command-stream path alike.
"""

from __future__ import annotations

from typing import Any

from ..boards.board import RegisterMap
from ..cparams import rq_mode
from ..plan import Plan

__all__ = ["DECODED_FIELDS", "engine_modes", "executes_stream", "regmap_struct"]

#: register fields fp_layer_from_regs decodes, in fp_reg_field_t order (runtime/include/fp_types.h)
DECODED_FIELDS = (
    "op",
    "engine",
    "datapath",
    "w_addr",
    "bias_addr",
    "mult_addr",
    "shift_addr",
    "in_zp",
    "in2_zp",
    "out_zp",
    "w_zp",
    "act_min",
    "act_max",
    # geometry: decoded for conv2d, depthwise / transpose conv2d and max / avg pool
    "in_h",
    "in_w",
    "in_c",
    "out_h",
    "out_w",
    "out_c",
    "k_h",
    "k_w",
    "stride_h",
    "stride_w",
    "dilation_h",
    "dilation_w",
    "pad_top",
    "pad_left",
)


def executes_stream(reg_map: RegisterMap, engines: list[str], board_map: bool) -> bool:
    """Layers run from the replayed register file on boards that declare engines and a register map;
    every other board keeps the per-layer structs (its generated code does not change)."""
    return board_map and bool(engines) and bool(reg_map.registers)


def engine_modes(plan: Plan, engines: list[str], board: dict[str, Any] | None = None) -> list[dict[str, int]]:
    """``fp_rq_mode_t`` of each engine, index = the ENGINE register value: the requantizer the plan
    lowered the engine's layers for, else the board's (``board``: Target.engine_profiles) for an
    engine no layer uses, else the plan's board-wide profile."""
    used = {layer.engine: plan.layer_profile(i) for i, layer in enumerate(plan.layers)}
    board = board or {}
    return [rq_mode(used.get(name) or board.get(name, plan.profile)) for name in engines]


def regmap_struct(reg_map: RegisterMap, n_engines: int) -> dict[str, Any]:
    """``fp_regmap_t`` field values without the engine_modes pointer."""
    regs, widths, signed = [], [], []
    for name in DECODED_FIELDS:
        reg = reg_map.by_field(name)
        regs.append(-1 if reg is None else reg_map.registers.index(reg))
        widths.append(0 if reg is None else reg.width)
        signed.append(int(reg is not None and reg.signed))
    return {"reg": regs, "width": widths, "is_signed": signed, "n_regs": len(reg_map.registers), "n_engines": n_engines}
