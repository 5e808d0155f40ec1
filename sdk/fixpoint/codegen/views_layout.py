"""View models of the layout header and the constant tables (model_weights.c).

Templates only loop and print: every string here is final C text.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..memory import ALIGNMENT
from ..ops.runtime_ops import RUNTIME_OPS
from ..reference.lowbit import PACKED_BITS
from .cformat import c_array_lines, c_comment, values_per_line
from .constblob import BLOB_MAGIC, CONST_ALIGN, BlobMember
from .context import GenContext


@dataclass(frozen=True)
class Check:
    """A compile-time assertion: ``<PREFIX>_CHECK(name, expr);``."""

    name: str
    expr: str


@dataclass(frozen=True)
class TensorLayout:
    comment: str
    offset_macro: str
    offset: int
    size_macro: str
    size: int


@dataclass(frozen=True)
class MemberDecl:
    ctype: str
    field: str
    count: int
    comment: str


@dataclass(frozen=True)
class Define:
    name: str
    value: str
    comment: str = ""

    @property
    def line(self) -> str:
        tail = f" /* {self.comment} */" if self.comment else ""
        return f"#define {self.name} {self.value}{tail}"


@dataclass(frozen=True)
class LayoutView:
    file: str
    guard: str
    model_header: str
    check_macro: str
    check_prefix: str
    n_layers: Define
    n_tensors: Define
    tensors: list[TensorLayout]
    consts_type: str
    consts_symbol: str
    consts_size: Define
    members: list[MemberDecl]
    member_offsets: list[Define]
    checks: list[Check]


@dataclass(frozen=True)
class TableInit:
    field: str
    comment: str
    lines: list[str]


@dataclass(frozen=True)
class WeightsView:
    file: str
    layout_header: str
    model_name_comment: str
    consts_type: str
    consts_symbol: str
    magic: str
    size_macro: str
    tables: list[TableInit]


def _member_comment(ctx: GenContext, m: BlobMember) -> str:
    if m.is_padding:
        return f"padding to the next multiple of {CONST_ALIGN} bytes"
    layer = ctx.plan.layers[m.layer]
    bits = PACKED_BITS.get(layer.datapath) if m.array == "weights" and RUNTIME_OPS[layer.op].has_weights else None
    what = f"packed int{bits}, {8 // bits} per byte" if bits else m.ctype
    return c_comment(f"layer {m.layer} '{layer.name}' {m.array}: {what}, {m.nbytes} bytes")


def layout_view(ctx: GenContext) -> LayoutView:
    n = ctx.names
    tensors = [
        TensorLayout(
            c_comment(f"tensor {i} '{t.name}' {t.dtype} {t.shape}"),
            n.tensor_offset(i),
            ctx.tensor_structs[i]["offset"],
            n.tensor_size(i),
            ctx.tensor_structs[i]["size"],
        )
        for i, t in enumerate(ctx.plan.tensors)
    ]
    offsets = [Define(n.const_offset(m.layer, m.array), f"{m.offset}u") for m in ctx.blob.tables]
    size = Define(n.define("consts_size"), f"{ctx.blob.size}u", "bytes of the constant blob")
    return LayoutView(
        file=n.file("layout_h"),
        guard=n.guard("layout_h"),
        model_header=n.file("model_h"),
        check_macro=n.define("check"),
        check_prefix=n.symbol("check_"),
        n_layers=Define(n.define("n_layers"), f"{ctx.graph['n_layers']}u"),
        n_tensors=Define(n.define("n_tensors"), f"{ctx.graph['n_tensors']}u"),
        tensors=tensors,
        consts_type=n.symbol("consts_t"),
        consts_symbol=n.symbol("consts"),
        consts_size=size,
        members=[MemberDecl(m.ctype, m.field, m.count, _member_comment(ctx, m)) for m in ctx.blob.members],
        member_offsets=offsets,
        checks=_layout_checks(ctx, tensors, offsets, size.name),
    )


def _layout_checks(ctx: GenContext, tensors: list[TensorLayout], offsets: list[Define], size_macro: str) -> list[Check]:
    checks = []
    for i, t in enumerate(tensors):
        checks.append(Check(f"t{i}_aligned", f"{t.offset_macro} % {ALIGNMENT}u == 0u"))
        checks.append(Check(f"t{i}_in_arena", f"{t.offset_macro} + {t.size_macro} <= FP_MODEL_ARENA_SIZE"))
    consts = ctx.names.symbol("consts_t")
    for m, define in zip(ctx.blob.tables, offsets):
        checks.append(Check(f"{m.field}_offset", f"offsetof({consts}, {m.field}) == {define.name}"))
        checks.append(Check(f"{m.field}_aligned", f"{define.name} % {CONST_ALIGN}u == 0u"))
    checks.append(Check("consts_size", f"sizeof({consts}) == {size_macro}"))
    checks.append(Check("arena_aligned", f"FP_MODEL_ARENA_SIZE % {ALIGNMENT}u == 0u"))
    return checks


def weights_view(ctx: GenContext) -> WeightsView:
    n = ctx.names
    tables = [
        TableInit(m.field, _member_comment(ctx, m), c_array_lines(m.values, values_per_line(m.values.itemsize)))
        for m in ctx.blob.tables
    ]
    return WeightsView(
        file=n.file("weights_c"),
        layout_header=n.file("layout_h"),
        model_name_comment=c_comment(ctx.plan.model_name),
        consts_type=n.symbol("consts_t"),
        consts_symbol=n.symbol("consts"),
        magic=f"0x{BLOB_MAGIC:08X}u",
        size_macro=n.define("consts_size"),
        tables=tables,
    )
