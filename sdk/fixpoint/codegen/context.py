"""Everything the view models read, computed once per generation.

All C field values come from ``fixpoint.cparams`` (layer_struct,
tensor_struct, graph_struct, layer_arrays_for_c); the scratch size from the C
runtime itself (``fp_graph_scratch_size`` through the simulator); the arena
layout from the plan (``fixpoint.memory`` already placed every tensor).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from ..boards import Board, RegisterMap, load_board
from ..cparams import graph_struct, layer_struct, tensor_struct
from ..memory import check_arena
from ..plan import Plan, PlanError
from ..ops.runtime_ops import RUNTIME_OPS
from ..sim.executor import KERNEL_CHOICES, default_kernels, graph_scratch_size, kernel_scratch_size
from .constblob import ConstBlob, build_blob
from .names import Names
from .resolver import kernel_entries
from .regfile import executes_stream
from .regvalues import DEFAULT_REGISTER_MAP, CodegenError

log = logging.getLogger(__name__)
_HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class GenContext:
    plan: Plan
    names: Names
    blob: ConstBlob
    layer_structs: list[dict[str, Any]]
    tensor_structs: list[dict[str, Any]]
    graph: dict[str, Any]  # cparams.graph_struct with the C scratch size
    scratch_size: int
    model_hash: str
    reg_map: RegisterMap
    reg_map_origin: str  # for comments and error messages
    engines: list[str]  # engine names, index = the 'engine' register value
    core: str = "host"  # the board's [cpu] core: picks the kernel variants
    kernels: str = "auto"  # "auto" (the core's variants) | "ref" (reference kernels)
    stream_exec: bool = False  # layers run from the replayed register file (codegen.regfile)
    engine_profiles: dict[str, Any] | None = None  # the board's engines' requantizers (Target.engine_profiles)


def build_context(plan: Plan, board: Board | str | None, prefix: str | None, kernels: str | None = None) -> GenContext:
    """Validate the plan for C generation and collect its C values.

    ``kernels``: "auto" (the board core's kernel variants; the host's without a board) or "ref";
    default the simulator's (``fixpoint.sim.executor.set_defaults``, the CLI's ``--kernels``)."""
    kernels = kernels or default_kernels()
    if kernels not in KERNEL_CHOICES:
        raise CodegenError(f"kernels must be one of {', '.join(KERNEL_CHOICES)}, got '{kernels}'")
    if not plan.layers:
        raise CodegenError(f"plan '{plan.model_name}' has no layers: nothing to generate")
    try:
        check_arena(plan)
        layer_structs = [layer_struct(plan, i) for i in range(len(plan.layers))]
        tensor_structs = [tensor_struct(plan, i) for i in range(len(plan.tensors))]
        blob = build_blob(plan)
        board = load_board(board) if board is not None else None
        core = board.cpu.core if board is not None else "host"
        scratch = _scratch_size(plan, core, kernels)
        graph = graph_struct(plan, scratch)
    except PlanError as exc:
        raise CodegenError(f"plan '{plan.model_name}': {exc}") from None
    reg_map, origin, engines = _register_map(plan, board)
    return GenContext(
        plan=plan,
        names=Names.for_model(plan.model_name, prefix),
        blob=blob,
        layer_structs=layer_structs,
        tensor_structs=tensor_structs,
        graph=graph,
        scratch_size=scratch,
        model_hash=_model_hash(plan),
        reg_map=reg_map,
        reg_map_origin=origin,
        engines=engines,
        core=core,
        kernels=kernels,
        stream_exec=executes_stream(reg_map, engines, origin.startswith("board '")),
        engine_profiles=board.target.engine_profiles() if board is not None else None,
    )


def _scratch_size(plan: Plan, core: str, kernels: str) -> int:
    """Scratch the firmware provides: the C kernels decide (fp_graph_scratch_size with the
    reference table), and each weighted layer's scratch function of the variant the core's
    table names (its size is the same on every target), whichever is larger."""
    need = graph_scratch_size(plan, "ref")
    chosen = {(e.op, e.datapath): e.kernel for e in kernel_entries(plan, core, kernels)}
    for i, layer in enumerate(plan.layers):
        kernel = chosen.get((layer.op, layer.datapath))
        if (
            kernel is not None
            and RUNTIME_OPS[layer.op].has_weights
            and kernel != RUNTIME_OPS[layer.op].kernels[layer.datapath]
        ):
            need = max(need, kernel_scratch_size(plan, i, kernel))
    return need


def _model_hash(plan: Plan) -> str:
    """The plan's own hash (what the host compares with); computed if the plan has none yet."""
    digest = plan.model_hash or plan.compute_hash()
    if not _HASH.match(digest):
        raise CodegenError(f"plan '{plan.model_name}': model_hash '{digest}' is not 64 lowercase hex digits")
    return digest


def _register_map(plan: Plan, board: Board | str | None) -> tuple[RegisterMap, str, list[str]]:
    if board is None:
        engines = list(dict.fromkeys(layer.engine for layer in plan.layers))  # order of first use
        return DEFAULT_REGISTER_MAP, "the default register map (no board given)", engines
    target = load_board(board).get_target()
    if target.profile != plan.profile:
        # The CPU runtime reads the mode from the plan, so results stay exact; an
        # accelerator built for the board's profile would not reproduce them.
        log.warning(
            "plan '%s' was lowered for requant profile %s, board '%s' has %s",
            plan.model_name,
            plan.profile,
            target.name,
            target.profile,
        )
    engines = [e.name for e in target.engines]
    regs = target.registers
    if regs is None:
        return DEFAULT_REGISTER_MAP, f"the default register map (board '{target.name}' has none)", engines
    return regs, f"board '{target.name}'", engines
