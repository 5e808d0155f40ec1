"""View models of the model API header (model.h) and the model source (model.c).

Every initializer is rendered from the ``fixpoint.cparams`` dicts by the
generic renderer; where a field also has a macro (tensor offsets and sizes,
counts, arena and scratch size) the macro name replaces the literal, and the
macro itself is defined from that very same dict value, so the tables and the
compile-time checks read one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..cparams import ArrayRef
from ..plan import PlanTensor
from ..iospec import row_major_shape
from .cformat import c_comment, c_initializer, c_int, c_string, c_value
from .context import GenContext
from .names import FILE_ROLES
from .resolver import kernel_entries
from .views_layout import Check, Define
from .views_stream import StreamView, stream_defines, stream_view


@dataclass(frozen=True)
class IoView:
    macro: str  # FP_MODEL_INPUT0 / FP_MODEL_OUTPUT1 ...
    comment: str
    defines: list[Define]


@dataclass(frozen=True)
class ModelHeaderView:
    file: str
    guard: str
    arena_base_fn: str
    model_name_comment: str
    files: list[str]
    defines: list[Define]
    inputs: list[IoView]
    outputs: list[IoView]
    streaming: bool = False  # the model implements fp_model_stream_api.h


@dataclass(frozen=True)
class Entry:
    comment: str
    init: str


@dataclass(frozen=True)
class Copy:
    """One graph input / output moved between the staging buffer and its arena slot."""

    arena_offset: str  # macro
    buffer: str  # C expression: address inside the staging buffer
    size: str  # macro


@dataclass(frozen=True)
class Buffer:
    """A static uint32_t buffer (4-byte aligned storage for byte data)."""

    symbol: str
    words: str  # C expression of its length in words


@dataclass(frozen=True)
class ModelSourceView:
    file: str
    layout_header: str
    model_name_comment: str
    includes: list[str]
    check_macro: str
    tensors_symbol: str
    tensors: list[Entry]
    layers_symbol: str
    layers: list[Entry]
    kernels_symbol: str  # the model's resolver (fp_kernel_table_t)
    kernel_entries_symbol: str
    kernel_entries: list[Entry]  # one fp_kernel_entry_t per (op, datapath) the layers use
    graph_symbol: str
    graph_init: str
    arena_symbol: str
    arena_base_fn: str
    scratch_symbol: str
    buffers: list[Buffer]  # every static buffer; fp_model_init zeroes them all
    input_expr: str
    output_expr: str
    input_copies: list[Copy]
    output_copies: list[Copy]
    checks: list[Check]
    replay_fn: str = ""  # accel_regs.h's command-stream player: the init-time self-test
    stream_exec: bool = False  # layers run from the register file the stream leaves (codegen.regfile)
    run_layer_fn: str = ""
    consts_symbol: str = ""
    accel_begin_fn: str = ""  # accel_regs.h: reset the register file / replay one layer's commands
    accel_step_fn: str = ""
    accel_file_symbol: str = ""
    accel_map_symbol: str = ""
    stream: StreamView | None = None  # the streaming API of a recurrent model (views_stream)


def _io_tensor_defines(macro: str, t: PlanTensor, ts: dict[str, Any], buffer_offset: int) -> list[Define]:
    dims = ts["dims"]
    return [
        *(Define(f"{macro}_{axis.upper()}", f"{dims[axis]}") for axis in "nhwc"),
        Define(f"{macro}_DTYPE", ts["dtype"], t.dtype),
        Define(f"{macro}_SIZE", f"{ts['size']}u", "bytes"),
        Define(f"{macro}_BUFFER_OFFSET", f"{buffer_offset}u", "byte offset in the fp_model_input/output buffer"),
        Define(f"{macro}_ZERO_POINT", f"({c_int(t.zero_point)})", "real = scale * (q - zero_point)"),
    ]


def _io_views(ctx: GenContext, kind: str, ids: list[int]) -> list[IoView]:
    views, offset = [], 0
    for k, t_index in enumerate(ids):
        t, ts = ctx.plan.tensors[t_index], ctx.tensor_structs[t_index]
        macro = f"FP_MODEL_{kind}{k}"
        dims = row_major_shape(t.source_layout)
        layout = (
            f"NHWC {t.shape} (ONNX layout {t.source_layout})"
            if dims is None
            else f"ONNX {[t.shape[0], *dims]} in row-major order (layout {t.source_layout}, NHWC {t.shape})"
        )
        comment = c_comment(
            f"{kind.lower()} {k}: tensor {t_index} '{t.name}' ({t.source or 'no ONNX name'}), "
            f"{t.dtype} {layout}, scale {t.scale!r}, zero point {t.zero_point}"
        )
        views.append(IoView(macro, comment, _io_tensor_defines(macro, t, ts, offset)))
        offset += ts["size"]
    return views


def _io_bytes(ctx: GenContext, ids: list[int]) -> int:
    return sum(ctx.tensor_structs[t]["size"] for t in ids)


def header_view(ctx: GenContext) -> ModelHeaderView:
    plan, g = ctx.plan, ctx.graph
    defines = [
        Define("FP_MODEL_NAME", c_string(plan.model_name)),
        Define("FP_MODEL_HASH", c_string(ctx.model_hash), "sha256 of the lowered plan"),
        Define("FP_MODEL_ARENA_SIZE", f"{g['arena_size']}u", "bytes of activation arena (static, 4-byte aligned)"),
        Define("FP_MODEL_SCRATCH_SIZE", f"{g['scratch_size']}u", "bytes of kernel scratch (fp_graph_scratch_size)"),
        Define("FP_MODEL_CONST_SIZE", f"{ctx.blob.size}u", "bytes of constant tables"),
        Define("FP_MODEL_N_LAYERS", f"{g['n_layers']}u"),
        Define("FP_MODEL_N_INPUTS", f"{g['n_inputs']}u"),
        Define("FP_MODEL_N_OUTPUTS", f"{g['n_outputs']}u"),
        Define("FP_MODEL_INPUT_SIZE", f"{_io_bytes(ctx, plan.inputs)}u", "bytes, all inputs back to back"),
        Define("FP_MODEL_OUTPUT_SIZE", f"{_io_bytes(ctx, plan.outputs)}u", "bytes, all outputs back to back"),
        *stream_defines(ctx),
    ]
    return ModelHeaderView(
        file=ctx.names.file("model_h"),
        guard=ctx.names.guard("model_h"),
        arena_base_fn=ctx.names.symbol("arena_base"),
        model_name_comment=c_comment(plan.model_name),
        files=[ctx.names.file(r) for r in FILE_ROLES],
        defines=defines,
        inputs=_io_views(ctx, "INPUT", plan.inputs),
        outputs=_io_views(ctx, "OUTPUT", plan.outputs),
        streaming=any(d.name == "FP_MODEL_HAS_STATE" for d in defines),
    )


def _layer_entries(ctx: GenContext) -> list[Entry]:
    names = ctx.names
    entries = []
    for i, (layer, struct) in enumerate(zip(ctx.plan.layers, ctx.layer_structs)):

        def resolve(ref: ArrayRef, i: int = i) -> str:
            return names.const_ref(ctx.blob.member(i, ref.name).field)

        nodes = f"; ONNX: {', '.join(layer.source_nodes)}" if layer.source_nodes else ""
        comment = c_comment(f"layer {i} '{layer.name}': {layer.op} {layer.datapath} on '{layer.engine}'{nodes}")
        entries.append(Entry(comment, c_initializer(struct, resolve, indent=1)))
    return entries


def _tensor_entries(ctx: GenContext) -> list[Entry]:
    entries = []
    for i, (t, ts) in enumerate(zip(ctx.plan.tensors, ctx.tensor_structs)):
        fields = {**ts, "offset": ctx.names.tensor_offset(i), "size": ctx.names.tensor_size(i)}
        entries.append(Entry(c_comment(f"tensor {i} '{t.name}'"), c_value(fields)))
    return entries


def _graph_init(ctx: GenContext) -> str:
    n = ctx.names
    tables = {"tensors": n.symbol("tensors"), "layers": n.symbol("layers"), "kernels": f"&{n.symbol('kernels')}"}
    fields = {
        **ctx.graph,
        "n_tensors": n.define("n_tensors"),
        "n_layers": n.define("n_layers"),
        "arena_size": "FP_MODEL_ARENA_SIZE",
        "scratch_size": "FP_MODEL_SCRATCH_SIZE",
    }
    return c_initializer(fields, lambda ref: tables[ref.name])


def _kernel_entries(ctx: GenContext) -> list[Entry]:
    return [
        Entry(c_comment(f"{e.op} {e.datapath}: {e.kernel}"), e.initializer)
        for e in kernel_entries(ctx.plan, ctx.core, ctx.kernels)
    ]


def _copies(ctx: GenContext, ids: list[int], buffer: str) -> list[Copy]:
    copies, offset = [], 0
    for t in ids:
        copies.append(Copy(ctx.names.tensor_offset(t), f"(uint8_t *){buffer} + {offset}u", ctx.names.tensor_size(t)))
        offset += ctx.tensor_structs[t]["size"]
    return copies


def source_view(ctx: GenContext) -> ModelSourceView:
    n, plan = ctx.names, ctx.plan
    arena, scratch = n.symbol("arena"), n.symbol("scratch")
    buffers = [
        Buffer(arena, "(FP_MODEL_ARENA_SIZE + 3u) / 4u"),
        # C has no empty arrays: a graph without scratch still gets one word
        Buffer(scratch, "FP_MODEL_SCRATCH_SIZE > 0u ? (FP_MODEL_SCRATCH_SIZE + 3u) / 4u : 1u"),
    ]
    # One input (output): the firmware reads and writes the arena slot itself.
    # Several: they travel back to back through a staging buffer, copied around the run.
    staged_in, staged_out = len(plan.inputs) > 1, len(plan.outputs) > 1
    input_expr = f"(uint8_t *){arena} + {n.tensor_offset(plan.inputs[0])}"
    output_expr = f"(const uint8_t *){arena} + {n.tensor_offset(plan.outputs[0])}"
    if staged_in:
        buffers.append(Buffer(n.symbol("input"), "(FP_MODEL_INPUT_SIZE + 3u) / 4u"))
        input_expr = f"(uint8_t *){n.symbol('input')}"
    if staged_out:
        buffers.append(Buffer(n.symbol("output"), "(FP_MODEL_OUTPUT_SIZE + 3u) / 4u"))
        output_expr = f"(const uint8_t *){n.symbol('output')}"
    stream = stream_view(ctx)
    if stream is not None:
        buffers.append(Buffer(stream.state_symbol, "(FP_MODEL_STATE_SIZE + 3u) / 4u"))
    return ModelSourceView(
        file=n.file("model_c"),
        layout_header=n.file("layout_h"),
        model_name_comment=c_comment(plan.model_name),
        includes=[
            "<string.h>",
            '"fp_runtime.h"',
            '"fp_resolver.h"',
            f'"{n.file("model_h")}"',
            f'"{n.file("layout_h")}"',
            f'"{n.file("accel_regs_h")}"',
        ],
        check_macro=n.define("check"),
        tensors_symbol=n.symbol("tensors"),
        tensors=_tensor_entries(ctx),
        layers_symbol=n.symbol("layers"),
        layers=_layer_entries(ctx),
        kernels_symbol=n.symbol("kernels"),
        kernel_entries_symbol=n.symbol("kernel_entries"),
        kernel_entries=_kernel_entries(ctx),
        graph_symbol=n.symbol("graph"),
        graph_init=_graph_init(ctx),
        arena_symbol=arena,
        arena_base_fn=n.symbol("arena_base"),
        scratch_symbol=scratch,
        buffers=buffers,
        input_expr=input_expr,
        output_expr=output_expr,
        input_copies=_copies(ctx, plan.inputs, n.symbol("input")) if staged_in else [],
        output_copies=_copies(ctx, plan.outputs, n.symbol("output")) if staged_out else [],
        checks=_source_checks(ctx),
        replay_fn=n.symbol("accel_replay"),
        stream=stream,
        stream_exec=ctx.stream_exec,
        run_layer_fn=n.symbol("run_layer"),
        consts_symbol=n.symbol("consts"),
        accel_begin_fn=n.symbol("accel_stream_begin"),
        accel_step_fn=n.symbol("accel_stream_step"),
        accel_file_symbol=n.symbol("accel_file"),
        accel_map_symbol=n.symbol("accel_map"),
    )


def _source_checks(ctx: GenContext) -> list[Check]:
    n = ctx.names
    tensors, layers = n.symbol("tensors"), n.symbol("layers")
    in_sum = " + ".join(n.tensor_size(t) for t in ctx.plan.inputs)
    out_sum = " + ".join(n.tensor_size(t) for t in ctx.plan.outputs)
    return [
        Check("n_tensors", f"sizeof({tensors}) / sizeof({tensors}[0]) == {n.define('n_tensors')}"),
        Check("n_layers", f"sizeof({layers}) / sizeof({layers}[0]) == {n.define('n_layers')}"),
        Check("n_layers_fp_model", f"FP_MODEL_N_LAYERS == {n.define('n_layers')}"),
        Check("input_size", f"{in_sum} == FP_MODEL_INPUT_SIZE"),
        Check("output_size", f"{out_sum} == FP_MODEL_OUTPUT_SIZE"),
    ]
