"""The simulator's command-stream path: layers run from the register file the stream leaves.

The firmware of a board with engines (``codegen.regfile``) replays each layer's register writes
and runs the layer on what the registers say (``fp_layer_from_regs``). This does the same on the
host: the stream is built from the per-layer register blocks exactly as the code generator builds
it, replayed (:func:`fixpoint.codegen.cmdstream.replay`), every layer decoded by the same C
function against a copy of the constant blob, and the plan run on the decoded layers. The
per-layer path is :func:`fixpoint.sim.executor.run_plan`; the two agreeing over a data set shows
the stream is right by results. :func:`first_difference` names the first layer where they do not,
with its engine and register block (the debug table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..boards import Board
from ..plan import Plan
from . import native
from .cstruct import to_cvalue
from .executor import CompiledPlan, SimResult, SimulationError, run_plan

__all__ = ["StreamDecodeError", "StreamPlan", "compile_stream", "first_difference", "run_stream"]


class StreamDecodeError(SimulationError):
    """fp_layer_from_regs refused the register file of ``layer`` (OP / DATAPATH naming another layer,
    an ENGINE or table offset out of range)."""

    def __init__(self, message: str, layer: int, debug_rows: list[dict]):
        super().__init__(message)
        self.layer, self.debug_rows = layer, debug_rows


@dataclass
class StreamPlan:
    """A compiled plan whose layer table is the decoded register files, with what keeps it alive."""

    compiled: CompiledPlan
    stream: object  # codegen.cmdstream.CommandStream
    debug_rows: list[dict]
    keep: tuple


def _blob_bytes(blob) -> np.ndarray:
    """The constant blob as the firmware's struct lays it out (8-byte aligned storage)."""
    raw = np.zeros(blob.size + 8, dtype=np.uint8)
    start = (-raw.ctypes.data) % 8
    buf = raw[start : start + blob.size]
    for m in blob.tables:
        data = np.ascontiguousarray(m.values).tobytes()
        buf[m.offset : m.offset + len(data)] = np.frombuffer(data, dtype=np.uint8)
    return buf


def compile_stream(plan: Plan, board: Board | str, fault: str | None = None) -> StreamPlan:
    """``plan`` compiled with every layer decoded from the replayed register file of ``board``.
    ``fault`` (tests only): an elision bug injected into the stream (``cmdstream.FAULTS``)."""
    from ..codegen.cmdstream import build_stream, debug_table, replay
    from ..codegen.context import build_context
    from ..codegen.regfile import engine_modes, regmap_struct
    from ..codegen.regvalues import LayerFields, layer_registers

    ffi, lib = native.ffi(), native.lib()
    ctx = build_context(plan, board, None)
    if not ctx.stream_exec:
        raise SimulationError(
            f"board '{ctx.reg_map_origin}' runs layers from their structs: it declares no engines with a register map"
        )
    blocks = [
        [
            c.word
            for c in layer_registers(
                LayerFields(plan, i, ctx.layer_structs[i], ctx.blob, ctx.engines), ctx.reg_map, ctx.reg_map_origin
            )
        ]
        for i in range(len(plan.layers))
    ]
    stream = build_stream(blocks, ctx.reg_map, fault=fault)
    files = replay(stream.words, ctx.reg_map)
    blob = _blob_bytes(ctx.blob)
    blob_ptr = ffi.from_buffer("uint8_t[]", blob)
    modes = ffi.new(
        "fp_rq_mode_t[]", [to_cvalue(m, None) for m in engine_modes(plan, ctx.engines, ctx.engine_profiles)]
    )
    regmap = ffi.new("fp_regmap_t *", {**regmap_struct(ctx.reg_map, len(ctx.engines)), "engine_modes": modes})
    compiled = CompiledPlan(plan)  # its own (uncached) copy: its layer table is replaced below
    decoded = ffi.new("fp_layer_t[]", max(len(plan.layers), 1))
    for i, words in enumerate(files):
        regs = ffi.new("uint32_t[]", [int(w) for w in words])
        status = lib.fp_layer_from_regs(compiled.layers + i, regs, regmap, blob_ptr, blob.size, decoded + i)
        if status != lib.FP_OK:
            layer = plan.layers[i]
            raise StreamDecodeError(
                f"layer {i} '{layer.name}': fp_layer_from_regs refused register block {i} (status {status})",
                i,
                debug_table(plan, stream),
            )
    compiled.graph.layers = decoded
    keep = (decoded, blob, modes, regmap)
    compiled.stream_buffers = keep  # the graph points into these: they live as long as it does
    return StreamPlan(compiled, stream, debug_table(plan, stream), keep)


def run_stream(
    plan: Plan, board: Board | str, inputs: list[np.ndarray], capture: bool = False, fault: str | None = None
) -> SimResult:
    """Run a batch on the command-stream path (see :func:`run_plan` for inputs and outputs)."""
    return compile_stream(plan, board, fault).compiled.run(inputs, capture=capture)


def first_difference(plan: Plan, board: Board | str, inputs: list[np.ndarray], fault: str | None = None) -> str | None:
    """None when the command-stream path and the per-layer path agree on every layer output of
    ``inputs``; else one line naming the first layer that differs: ONNX node -> layer -> engine ->
    register block -> its command-stream words."""
    from ..codegen.cmdstream import debug_line

    try:
        streamed = compile_stream(plan, board, fault)
    except StreamDecodeError as exc:
        return (
            f"layer {exc.layer} '{plan.layers[exc.layer].name}': its register file does not decode: "
            f"{debug_line(exc.debug_rows[exc.layer])}"
        )
    try:
        got = streamed.compiled.run(inputs, capture=True).intermediates or {}
    except SimulationError:
        k = _failing_layer(streamed.compiled, inputs)
        return (
            f"layer {k} '{plan.layers[k].name}' is refused by the runtime on the command-stream path: "
            f"{debug_line(streamed.debug_rows[k])}"
        )
    want = run_plan(plan, inputs, capture=True).intermediates or {}
    for k, layer in enumerate(plan.layers):
        name = plan.tensors[layer.output].name
        differ = np.flatnonzero(np.any((got[name] != want[name]).reshape(len(got[name]), -1), axis=1))
        if differ.size:
            return (
                f"layer {k} '{layer.name}' differs on {differ.size} of {len(got[name])} samples: "
                f"{debug_line(streamed.debug_rows[k])}"
            )
    return None


def _failing_layer(compiled: CompiledPlan, inputs: list[np.ndarray]) -> int:
    """The first layer the runtime refuses, sample by sample."""
    lib = native.lib()
    for b in range(len(inputs[0])):
        compiled._write_inputs(inputs, b)
        for k in range(len(compiled.plan.layers)):
            status = lib.fp_graph_run_layer(
                compiled.graph, k, compiled.arena_ptr, compiled.scratch, compiled.scratch_size
            )
            if status != lib.FP_OK:
                return k
    raise SimulationError("the command-stream path failed, but no layer fails when run one by one")
