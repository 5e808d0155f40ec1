"""View model of the streaming API of a generated recurrent model (model.c / model.h sections).

The step plan comes from :func:`fixpoint.streaming.step_plan`, the same function the simulator
(:mod:`fixpoint.sim.streaming`) compiles: the generated step graph is a second tensor / layer table
over the same constant arrays, arena and scratch, whose recurrent layers point ``state`` into one
static state buffer. A plan without recurrent layers gets no section (nothing of it is linked).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..cparams import ArrayRef, graph_struct, layer_struct, tensor_struct
from ..plan import Plan
from ..sim.executor import graph_scratch_size
from ..streaming import StateSlot, StreamingError, is_streamable, sequence_length, state_size, state_slots, step_plan
from .cformat import c_comment, c_initializer, c_value
from .context import GenContext
from .regvalues import CodegenError
from .views_layout import Define

log = logging.getLogger(__name__)
__all__ = ["StreamView", "stream_defines", "stream_plan", "stream_view"]


@dataclass(frozen=True)
class StreamEntry:
    comment: str
    init: str


@dataclass(frozen=True)
class StreamCopy:
    arena_offset: str
    buffer: str
    size: str


@dataclass(frozen=True)
class StreamView:
    state_symbol: str
    tensors_symbol: str
    tensors: list[StreamEntry]
    layers_symbol: str
    layers: list[StreamEntry]
    graph_symbol: str
    graph_init: str
    resets: list[str]  # one state-reset call per recurrent layer
    input_copies: list[StreamCopy]
    output_copies: list[StreamCopy]


def stream_plan(ctx: GenContext) -> Plan | None:
    """The step plan (one frame per step) of a streamable plan, else None (logged if recurrent)."""
    if not is_streamable(ctx.plan):
        return None
    try:
        step = step_plan(ctx.plan, 1)
    except StreamingError as exc:
        log.warning("no streaming API for plan '%s': %s", ctx.plan.model_name, exc)
        return None
    # the step graph shares the model's scratch: it must need no more than the whole graph
    need = graph_scratch_size(step, "ref")
    if need > ctx.scratch_size:
        raise CodegenError(f"plan '{ctx.plan.model_name}': step graph needs {need} scratch bytes > {ctx.scratch_size}")
    return step


def _io_bytes(plan: Plan, ids: list[int]) -> int:
    return sum(plan.tensors[t].nbytes for t in ids)


def stream_defines(ctx: GenContext) -> list[Define]:
    step = stream_plan(ctx)
    if step is None:
        return []
    defines = [
        Define("FP_MODEL_HAS_STATE", "1", "the streaming API below is implemented"),
        Define("FP_MODEL_STATE_SIZE", f"{state_size(step)}u", "bytes of recurrent state (fp_model_state())"),
        Define("FP_MODEL_SEQUENCE_FRAMES", f"{sequence_length(ctx.plan)}u", "frames of one fp_model_run()"),
        Define("FP_MODEL_STEP_FRAMES", "1u", "frames of one fp_model_step()"),
        Define(
            "FP_MODEL_STEP_INPUT_SIZE",
            f"{_io_bytes(step, step.inputs)}u",
            "bytes of one step's input(s) at fp_model_input(), back to back",
        ),
        Define(
            "FP_MODEL_STEP_OUTPUT_SIZE",
            f"{_io_bytes(step, step.outputs)}u",
            "bytes of one step's output(s) at fp_model_output()",
        ),
    ]
    for k, slot in enumerate(state_slots(step)):
        what = "cell int16 [H] then h int8 [H]" if slot.op == "lstm" else "h int8 [H]"
        defines += [
            Define(
                f"FP_MODEL_STATE{k}_OFFSET",
                f"{slot.offset}u",
                f"layer {slot.layer} '{slot.name}' ({slot.op}, H = {slot.hidden}): {what}",
            ),
            Define(f"FP_MODEL_STATE{k}_SIZE", f"{slot.nbytes}u"),
        ]
    return defines


def _state_ref(state_symbol: str, slot: StateSlot) -> str:
    return f"(void *)((uint8_t *){state_symbol} + {slot.offset}u)"


def _layers(ctx: GenContext, step: Plan, state_symbol: str) -> list[StreamEntry]:
    slots = {s.layer: s for s in state_slots(step)}
    entries = []
    for i, layer in enumerate(step.layers):

        def resolve(ref: ArrayRef, i: int = i) -> str:
            if ref.name == "state":
                return _state_ref(state_symbol, slots[i])
            return ctx.names.const_ref(ctx.blob.member(i, ref.name).field)

        comment = c_comment(f"step layer {i} '{layer.name}': {layer.op} {layer.datapath}")
        entries.append(StreamEntry(comment, c_initializer(layer_struct(step, i), resolve, indent=1)))
    return entries


def _copies(ctx: GenContext, step: Plan, ids: list[int], buffer: str, staged: bool) -> list[StreamCopy]:
    if not staged:
        return []
    copies, offset = [], 0
    for t in ids:
        copies.append(
            StreamCopy(ctx.names.tensor_offset(t), f"(uint8_t *){buffer} + {offset}u", f"{step.tensors[t].nbytes}u")
        )
        offset += step.tensors[t].nbytes
    return copies


def stream_view(ctx: GenContext) -> StreamView | None:
    step = stream_plan(ctx)
    if step is None:
        return None
    n = ctx.names
    state, tensors, layers = n.symbol("state"), n.symbol("step_tensors"), n.symbol("step_layers")
    tensor_entries = [
        StreamEntry(
            c_comment(f"step tensor {i} '{t.name}'"), c_value({**tensor_struct(step, i), "offset": n.tensor_offset(i)})
        )
        for i, t in enumerate(step.tensors)
    ]
    tables = {"tensors": tensors, "layers": layers, "kernels": f"&{n.symbol('kernels')}"}
    fields = {
        **graph_struct(step, ctx.scratch_size),
        "n_tensors": len(step.tensors),
        "n_layers": len(step.layers),
        "arena_size": "FP_MODEL_ARENA_SIZE",
        "scratch_size": "FP_MODEL_SCRATCH_SIZE",
    }
    resets = [f"fp_{s.op}_s8_state_reset(&{layers}[{s.layer}].params.{s.op})" for s in state_slots(step)]
    return StreamView(
        state_symbol=state,
        tensors_symbol=tensors,
        tensors=tensor_entries,
        layers_symbol=layers,
        layers=_layers(ctx, step, state),
        graph_symbol=n.symbol("step_graph"),
        graph_init=c_initializer(fields, lambda ref: tables[ref.name]),
        resets=resets,
        input_copies=_copies(ctx, step, step.inputs, n.symbol("input"), len(step.inputs) > 1),
        output_copies=_copies(ctx, step, step.outputs, n.symbol("output"), len(step.outputs) > 1),
    )
