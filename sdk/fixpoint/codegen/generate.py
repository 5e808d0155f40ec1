"""``generate(plan, board, out_dir)``: a lowered plan -> C sources for the firmware."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..boards import Board
from ..memory import naive_arena_size
from ..plan import Plan
from ..sim import native
from ..streaming import state_size
from .context import GenContext, build_context
from .names import FILE_ROLES, TEMPLATES
from .render import render_template, write_atomically
from .resolver import kernel_entries
from .views_layout import layout_view, weights_view
from .views_model import header_view, source_view
from .views_stream import stream_plan
from .views_regs import regs_view

log = logging.getLogger(__name__)

_VIEWS = {
    "model_h": header_view,
    "layout_h": layout_view,
    "accel_regs_h": regs_view,
    "weights_c": weights_view,
    "model_c": source_view,
}


@dataclass(frozen=True)
class GeneratedModel:
    """What :func:`generate` wrote, and the sizes it implies."""

    out_dir: Path
    prefix: str  # C symbol prefix
    model_name: str
    model_hash: str
    files: dict[str, Path]  # role (model_h, layout_h, accel_regs_h, weights_c, model_c) -> path
    arena_bytes: int  # static activation arena
    naive_arena_bytes: int  # what the arena would be without reusing dead tensors' bytes
    scratch_bytes: int
    const_bytes: int  # constant blob (weights, bias, multipliers, shifts, LUTs)
    table_bytes: int  # tensor / layer / graph / kernel tables, register blocks (host sizes)
    input_bytes: int
    output_bytes: int
    register_map: str  # where the register layout came from
    array_bytes: dict[str, int] = field(default_factory=dict)  # "<layer>/<array>" -> bytes
    layer_weight_bytes: dict[str, int] = field(default_factory=dict)  # layer name -> bytes of its tables
    state_bytes: int = 0  # recurrent state of the streaming API (0: the model has none)

    @property
    def flash_bytes(self) -> int:
        """Estimate of read-only data: constant tables plus the C tables."""
        return self.const_bytes + self.table_bytes

    @property
    def sources(self) -> list[Path]:
        return [p for p in self.files.values() if p.suffix == ".c"]

    @property
    def headers(self) -> list[Path]:
        return [p for p in self.files.values() if p.suffix == ".h"]


def generate(
    plan: Plan,
    board: Board | str | None = None,
    out_dir: str | os.PathLike[str] = "generated",
    *,
    prefix: str | None = None,
    kernels: str | None = None,
) -> GeneratedModel:
    """Render the plan's C model into ``out_dir`` (all files or none).

    ``board`` (a Board, a board name or a board.toml path) supplies the
    accelerator register map and engine list; without one, or when the board
    has no ``[accelerator.registers]``, the default register map is used.
    ``prefix`` overrides the C symbol prefix (default: the sanitised
    ``plan.model_name``). ``kernels`` "auto" | "ref": the board core's kernel
    variants or the reference kernels in the model's resolver table (default:
    the simulator's, i.e. ``--kernels``). Raises CodegenError (a ModelError)
    naming the culprit.
    """
    ctx = build_context(plan, board, prefix, kernels)
    texts = {ctx.names.file(role): render_template(TEMPLATES[role], _VIEWS[role](ctx)) for role in FILE_ROLES}
    paths = write_atomically(texts, Path(out_dir))
    model = _describe(ctx, Path(out_dir), {role: paths[ctx.names.file(role)] for role in FILE_ROLES})
    _log_sizes(model)
    return model


def _table_bytes(ctx: GenContext) -> int:
    ffi = native.ffi()
    strings = len(ctx.plan.model_name.encode()) + len(ctx.model_hash) + 2
    kernels = len(kernel_entries(ctx.plan)) * ffi.sizeof("fp_kernel_entry_t") + ffi.sizeof("fp_kernel_table_t")
    return (
        len(ctx.plan.tensors) * ffi.sizeof("fp_tensor_t")
        + len(ctx.plan.layers) * ffi.sizeof("fp_layer_t")
        + ffi.sizeof("fp_graph_t")
        + kernels
        + len(ctx.plan.layers) * ctx.reg_map.block_bytes
        + strings
    )


def _describe(ctx: GenContext, out_dir: Path, files: dict[str, Path]) -> GeneratedModel:
    plan = ctx.plan
    per_layer: dict[str, int] = {}
    for i, layer in enumerate(plan.layers):
        key = layer.name if layer.name not in per_layer else f"{layer.name}#{i}"
        per_layer[key] = ctx.blob.layer_bytes(i)
    arrays = {f"{plan.layers[m.layer].name}/{m.array}": m.nbytes for m in ctx.blob.tables}
    return GeneratedModel(
        out_dir=out_dir,
        prefix=ctx.names.prefix,
        model_name=plan.model_name,
        model_hash=ctx.model_hash,
        files=files,
        arena_bytes=int(ctx.graph["arena_size"]),
        naive_arena_bytes=naive_arena_size(plan),
        scratch_bytes=ctx.scratch_size,
        const_bytes=ctx.blob.size,
        table_bytes=_table_bytes(ctx),
        input_bytes=sum(ctx.tensor_structs[t]["size"] for t in plan.inputs),
        output_bytes=sum(ctx.tensor_structs[t]["size"] for t in plan.outputs),
        register_map=ctx.reg_map_origin,
        array_bytes=arrays,
        layer_weight_bytes=per_layer,
        state_bytes=state_size(step) if (step := stream_plan(ctx)) is not None else 0,
    )


def _log_sizes(model: GeneratedModel) -> None:
    log.info("generated '%s' (prefix %s) in %s", model.model_name, model.prefix, model.out_dir)
    log.info(
        "arena %d bytes (%d without reuse), scratch %d bytes, flash ~%d bytes (constants %d + tables %d)",
        model.arena_bytes,
        model.naive_arena_bytes,
        model.scratch_bytes,
        model.flash_bytes,
        model.const_bytes,
        model.table_bytes,
    )
    for name, nbytes in model.layer_weight_bytes.items():
        if nbytes:
            log.info("  layer %-24s %8d bytes of constants", name, nbytes)
