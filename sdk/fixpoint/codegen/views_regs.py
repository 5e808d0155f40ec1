"""View model of the accelerator register header (accel_regs.h).

One block per layer, registers in the order of the board's register map
(or :data:`regvalues.DEFAULT_REGISTER_MAP`). Address registers are printed as
the layout macros they equal (tensor arena offsets, constant-blob offsets),
so the header's compile-time checks see the very values the blocks hold.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..boards.board import Register
from ..boards.registers import REGISTER_FIELDS, register_range
from .cformat import c_comment, c_int
from .cmdstream import build_stream, debug_line, debug_table, reset_words
from .context import GenContext
from .regfile import engine_modes, regmap_struct
from .regvalues import LayerFields, RegisterCell, Source, layer_registers
from .views_layout import Check, Define

log = logging.getLogger(__name__)
WORD_TYPES = {1: "uint8_t", 2: "uint16_t", 4: "uint32_t"}


@dataclass(frozen=True)
class RegisterDoc:
    comment: str
    defines: list[Define]


@dataclass(frozen=True)
class Cell:
    value: str
    comment: str


@dataclass(frozen=True)
class Row:
    comment: str
    cells: list[Cell]


@dataclass(frozen=True)
class RegsView:
    file: str
    guard: str
    layout_header: str
    origin: str
    check_macro: str
    word_type: str
    defines: list[Define]
    registers: list[RegisterDoc]
    regs_symbol: str
    n_layers_macro: str
    n_regs_macro: str
    rows: list[Row]
    checks: list[Check]
    cmds_symbol: str = ""
    cmd_rows: tuple[tuple[str, str], ...] = ()  # (comma-separated words, comment) per layer
    reset_symbol: str = ""
    reset_words: str = ""
    replay_fn: str = ""
    stream_summary: str = ""
    n_cmds_macro: str = ""
    debug_rows: tuple[str, ...] = ()  # the debug table, one comment line per layer
    stream_exec: bool = False  # layers run from the replayed register file
    modes_symbol: str = ""
    mode_rows: tuple[tuple[str, str], ...] = ()  # (fp_rq_mode_t initializer, engine name)
    map_symbol: str = ""
    map_init: str = ""
    file_symbol: str = ""
    pos_symbol: str = ""
    begin_fn: str = ""
    step_fn: str = ""


def _source_macro(ctx: GenContext, source: Source) -> str:
    if source.kind == "tensor":
        return ctx.names.tensor_offset(source.index)
    return ctx.names.const_offset(source.index, source.array)


def _cell(ctx: GenContext, cell: RegisterCell) -> Cell:
    reg = cell.register
    if cell.source is not None:
        return Cell(_source_macro(ctx, cell.source), reg.name)
    digits = max(1, (reg.width + 3) // 4)
    note = f" = {cell.value}" if cell.value != cell.word else ""
    return Cell(f"0x{cell.word:0{digits}X}u", f"{reg.name}{note}")


def _register_doc(ctx: GenContext, reg: Register, index: int) -> RegisterDoc:
    lo, hi = register_range(reg)
    kind = "signed" if reg.signed else "unsigned"
    doc = c_comment(f"{reg.name}: {REGISTER_FIELDS.get(reg.field, reg.field)} ({reg.field}, {reg.width}-bit {kind})")
    n = ctx.names
    return RegisterDoc(
        doc,
        [
            Define(n.register(reg.name, "index"), f"{index}u"),
            Define(n.register(reg.name, "offset"), f"{reg.offset}u", "bytes into the block"),
            Define(n.register(reg.name, "width"), f"{reg.width}u"),
            Define(n.register(reg.name, "min"), f"({c_int(lo)})"),
            Define(n.register(reg.name, "max"), f"{hi}u" if hi >= 0 else f"({hi})"),
        ],
    )


def _fits_check(ctx: GenContext, layer: int, cell: RegisterCell) -> Check:
    """An address macro must fit its register. ``x < MAX + 1u`` rather than
    ``x <= MAX``: compilers flag the latter as always true when x is 0. A
    32-bit register needs no check: the offsets are uint32_t already."""
    limit = f"{ctx.names.register(cell.register.name, 'max')} + 1u"
    return Check(f"l{layer}_{cell.register.name.lower()}_fits", f"{_source_macro(ctx, cell.source)} < {limit}")


def regs_view(ctx: GenContext) -> RegsView:
    n, reg_map = ctx.names, ctx.reg_map
    rows, checks, blocks = [], [], []
    for i, layer in enumerate(ctx.plan.layers):
        fields = LayerFields(ctx.plan, i, ctx.layer_structs[i], ctx.blob, ctx.engines)
        cells = layer_registers(fields, reg_map, ctx.reg_map_origin)
        blocks.append([c.word for c in cells])
        rows.append(
            Row(
                c_comment(f"layer {i} '{layer.name}' ({layer.op}, {layer.datapath}, engine '{layer.engine}')"),
                [_cell(ctx, c) for c in cells],
            )
        )
        checks += [_fits_check(ctx, i, c) for c in cells if c.source is not None and c.register.width < 32]
    regs = n.symbol("accel_regs")
    names = {k: n.define(f"accel_{k}") for k in ("n_layers", "n_regs", "word_bytes", "block_bytes")}
    last = reg_map.registers[-1]
    checks = [
        Check("regs_block_bytes", f"sizeof({regs}[0]) == {names['block_bytes']}"),
        Check("regs_n_layers", f"sizeof({regs}) / sizeof({regs}[0]) == {names['n_layers']}"),
        Check("regs_block_layout", f"{names['n_regs']} * {names['word_bytes']} == {names['block_bytes']}"),
        Check(
            "regs_last_offset", f"{n.register(last.name, 'offset')} + {names['word_bytes']} == {names['block_bytes']}"
        ),
        Check("regs_model_layers", f"{names['n_layers']} == {n.define('n_layers')}"),
        *checks,
    ]
    stream = build_stream(blocks, reg_map)
    log.info("%s", stream.summary())
    cmds = n.symbol("accel_cmds")
    names["n_cmds"] = n.define("accel_n_cmds")
    checks += [Check("cmds_length", f"sizeof({cmds}) / sizeof({cmds}[0]) == {names['n_cmds']}")]
    reg_names = ", ".join(f'"{r.name}"' for r in reg_map.registers)
    defines = [
        Define(names["n_layers"], f"{len(rows)}u"),
        Define(names["n_regs"], f"{len(reg_map.registers)}u"),
        Define(names["word_bytes"], f"{reg_map.word_bytes}u"),
        Define(names["block_bytes"], f"{reg_map.block_bytes}u", "one layer's register block"),
        Define(n.define("accel_reg_names"), "{" + reg_names + "}", "initializer: register names by index"),
        Define(names["n_cmds"], f"{len(stream.words)}u", "words of the register command stream"),
        Define(n.define("accel_writes"), f"{stream.total_writes}u", "register writes after elision"),
        Define(n.define("accel_writes_full"), f"{stream.full_writes}u", "every register of every layer"),
    ]
    return RegsView(
        file=n.file("accel_regs_h"),
        guard=n.guard("accel_regs_h"),
        layout_header=n.file("layout_h"),
        origin=c_comment(ctx.reg_map_origin),
        check_macro=n.define("check"),
        word_type=WORD_TYPES[reg_map.word_bytes],
        defines=defines,
        registers=[_register_doc(ctx, r, i) for i, r in enumerate(reg_map.registers)],
        regs_symbol=regs,
        n_layers_macro=names["n_layers"],
        n_regs_macro=names["n_regs"],
        rows=rows,
        checks=checks,
        cmds_symbol=cmds,
        cmd_rows=_cmd_rows(ctx, stream.words),
        reset_symbol=n.symbol("accel_reset"),
        reset_words=", ".join(f"0x{w:X}u" for w in reset_words(reg_map)),
        replay_fn=n.symbol("accel_replay"),
        stream_summary=stream.summary(),
        n_cmds_macro=names["n_cmds"],
        debug_rows=tuple(c_comment(debug_line(r)) for r in debug_table(ctx.plan, stream)),
        **_stream_exec_fields(ctx),
    )


def _stream_exec_fields(ctx: GenContext) -> dict[str, object]:
    """The register file the player fills and its decode table (fp_regmap_t), on boards whose
    layers execute from it (codegen.regfile); nothing elsewhere, so their header is unchanged."""
    if not ctx.stream_exec:
        return {}
    n = ctx.names
    modes = engine_modes(ctx.plan, ctx.engines, ctx.engine_profiles)
    mode_rows = tuple(
        (f"{{ {m['rounding']}, {m['multiplier_bits']}u, {m['acc_bits']}u, {m['acc_wrap']}u }}", c_comment(name))
        for m, name in zip(modes, ctx.engines)
    )
    fields = regmap_struct(ctx.reg_map, len(modes))
    lists = ", ".join("{ " + ", ".join(str(x) for x in fields[k]) + " }" for k in ("reg", "width", "is_signed"))
    map_init = f"{{ {lists}, {fields['n_regs']}u, {n.symbol('accel_engine_modes')}, {fields['n_engines']}u }}"
    return {
        "stream_exec": True,
        "modes_symbol": n.symbol("accel_engine_modes"),
        "mode_rows": mode_rows,
        "map_symbol": n.symbol("accel_map"),
        "map_init": map_init,
        "file_symbol": n.symbol("accel_file"),
        "pos_symbol": n.symbol("accel_pos"),
        "begin_fn": n.symbol("accel_stream_begin"),
        "step_fn": n.symbol("accel_stream_step"),
    }


def _cmd_rows(ctx: GenContext, words: tuple[int, ...]) -> tuple[tuple[str, str], ...]:
    """One C line per layer: its header word and its (register, word) writes."""
    rows, pos = [], 0
    while pos < len(words):
        n = words[pos] & 0xFFFF
        part = words[pos : pos + 1 + 2 * n]
        layer = ctx.plan.layers[words[pos] >> 16]
        rows.append(
            (
                ", ".join(f"0x{w:X}u" for w in part),
                f"layer {words[pos] >> 16} '{layer.name}' on '{layer.engine}': {n} writes",
            )
        )
        pos += 1 + 2 * n
    return tuple(rows)
