"""Streaming recurrent models: the step plan and the state buffer, derived from a lowered plan.

A plan with recurrent layers (lstm, gru) runs a whole sequence of T frames per call, each
recurrent layer starting from a fresh state. For streaming, the same plan yields a *step plan*
that runs ``chunk`` frames (k) per call: every tensor on the time axis (the recurrent layers'
inputs and everything upstream, and the per-step outputs of ``output_sequence`` layers and
everything downstream) has its T dimension replaced by k; every other tensor, every constant
array and every arena offset stays as it is (a smaller tensor fits the slot of its larger self).
Its recurrent layers are marked ``stateful``: their kernels read the state from, and leave the
final state in, a slice of one model-owned state buffer (layout: :func:`state_slots`; the C
kernels' layout, docs/kernels.md "Streaming state").

Whole-sequence inference stays the default and equals: reset the state, run one step over all T
frames. The simulator (:mod:`fixpoint.sim.streaming`) and the code generator both take the step
plan from :func:`step_plan`, so they cannot disagree about it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .iospec import ROW_MAJOR_PREFIX, row_major_shape
from .ir import ModelError
from .plan import Plan, PlanTensor

__all__ = [
    "RECURRENT_OPS",
    "FrameAxis",
    "StateSlot",
    "StreamingError",
    "frame_axis",
    "is_streamable",
    "sequence_length",
    "split_frames",
    "state_size",
    "state_slots",
    "step_plan",
]

RECURRENT_OPS = ("lstm", "gru")
# ops that treat every frame alone, so running them on k frames at a time changes nothing
PER_FRAME_OPS = frozenset(
    {
        "transpose",
        "reshape",
        "copy",
        "requantize",
        "lut",
        "relu",
        "leaky_relu",
        "prelu",
        "fully_connected",
        "clip",
        "hard_swish",
        "quantize",
        "dequantize",
        *RECURRENT_OPS,
    }
)
STATE_ALIGN = 4


class StreamingError(ModelError):
    """The plan cannot run as a stream; the message names the culprit."""


@dataclass(frozen=True)
class StateSlot:
    """One recurrent layer's part of the state buffer."""

    layer: int  # index in plan.layers (same in the step plan)
    name: str  # the layer's name
    op: str  # "lstm" | "gru"
    hidden: int
    offset: int  # byte offset in the state buffer (a multiple of 4)
    nbytes: int  # lstm: cell int16 [H] then h int8 [H] (3H); gru: h int8 [H] (H)


def _hidden(plan: Plan, index: int) -> int:
    layer = plan.layers[index]
    gates = 4 if layer.op == "lstm" else 3
    return int(np.asarray(layer.arrays["weights"]).shape[0]) // gates


def state_slots(plan: Plan) -> list[StateSlot]:
    """The state buffer's layout: one slot per recurrent layer in execution order, 4-byte aligned."""
    slots, offset = [], 0
    for i, layer in enumerate(plan.layers):
        if layer.op not in RECURRENT_OPS:
            continue
        hidden = _hidden(plan, i)
        nbytes = 3 * hidden if layer.op == "lstm" else hidden
        slots.append(StateSlot(i, layer.name, layer.op, hidden, offset, nbytes))
        offset += -(-nbytes // STATE_ALIGN) * STATE_ALIGN
    return slots


def state_size(plan: Plan) -> int:
    """Bytes of the state buffer (0 for a plan without recurrent layers)."""
    slots = state_slots(plan)
    return slots[-1].offset + -(-slots[-1].nbytes // STATE_ALIGN) * STATE_ALIGN if slots else 0


def is_streamable(plan: Plan) -> bool:
    return any(layer.op in RECURRENT_OPS for layer in plan.layers)


def sequence_length(plan: Plan) -> int:
    """T: the frames of one whole-sequence call (every recurrent layer must agree)."""
    lengths = set()
    for i in (s.layer for s in state_slots(plan)):
        layer = plan.layers[i]
        width = int(np.asarray(layer.arrays["weights"]).shape[1]) - _hidden(plan, i)
        lengths.add(int(np.prod(plan.tensors[layer.inputs[0]].shape)) // width)
        if int(layer.params.get("reverse", 0)):
            raise StreamingError(f"layer '{layer.name}' runs its sequence backwards: it cannot stream")
    if not lengths:
        raise StreamingError(f"plan '{plan.model_name}' has no recurrent layer (lstm, gru): nothing to stream")
    if len(lengths) != 1:
        raise StreamingError(f"plan '{plan.model_name}': recurrent layers of different lengths {sorted(lengths)}")
    return lengths.pop()


def _time_tensors(plan: Plan) -> set[int]:
    """Tensors with a time axis: upstream of a recurrent layer, or downstream of a per-step output."""
    producer = {layer.output: i for i, layer in enumerate(plan.layers)}
    timed: set[int] = set()
    todo = [plan.layers[s.layer].inputs[0] for s in state_slots(plan)]
    while todo:
        t = todo.pop()
        if t not in timed:
            timed.add(t)
            if t in producer:
                todo.extend(plan.layers[producer[t]].inputs)
    for layer in plan.layers:  # execution order: a producer comes before its consumers
        seq_out = layer.op in RECURRENT_OPS and int(layer.params.get("output_sequence", 1))
        if seq_out or (layer.op not in RECURRENT_OPS and any(t in timed for t in layer.inputs)):
            timed.add(layer.output)
    return timed


@dataclass(frozen=True)
class FrameAxis:
    """Where a time tensor keeps its frames: NHWC ``axis`` holds them back to back, ``unit``
    elements each (1 for a real time axis; the frame size for a row-major ``ND:`` tensor)."""

    axis: int
    unit: int
    nd_dim: int = -1  # index of the time dim in the ND: layout's dims (-1: not row-major)


def frame_axis(plan: Plan, tensor: int, frames: int | None = None) -> FrameAxis:
    """The frame axis of a time tensor (see :class:`FrameAxis`)."""
    t = plan.tensors[tensor]
    frames = frames or sequence_length(plan)
    dims = row_major_shape(t.source_layout)
    if dims is not None:
        at = [j for j, d in enumerate(dims) if d == frames]
        axes = [a for a in (1, 2, 3) if t.shape[a] == int(np.prod(dims))]
        # frames contiguous: the time dim is the outermost one that is not 1
        if at and int(np.prod(dims[: at[0]])) == 1 and len(axes) == 1:
            return FrameAxis(axes[0], int(np.prod(dims[at[0] + 1 :])), at[0])
        raise StreamingError(
            f"tensor '{t.name}' (layout {t.source_layout}): its frames (T = {frames}) are not the outermost dimension"
        )
    axes = [a for a in (1, 2, 3) if t.shape[a] == frames]
    if len(axes) != 1:
        raise StreamingError(f"tensor '{t.name}' {t.shape}: cannot tell its time axis (T = {frames})")
    return FrameAxis(axes[0], 1)


def _step_tensor(plan: Plan, index: int, frames: int, chunk: int) -> PlanTensor:
    t = copy.copy(plan.tensors[index])
    fa = frame_axis(plan, index, frames)
    t.shape = list(t.shape)
    t.shape[fa.axis] = chunk * fa.unit
    if fa.nd_dim >= 0:
        dims = row_major_shape(t.source_layout) or []
        dims[fa.nd_dim] = chunk
        t.source_layout = ROW_MAJOR_PREFIX + "x".join(map(str, dims))
    return t


def step_plan(plan: Plan, chunk: int = 1) -> Plan:
    """The plan that runs ``chunk`` frames per call from the stored state (see the module doc)."""
    frames = sequence_length(plan)
    if not 1 <= chunk <= frames or frames % chunk:
        raise StreamingError(f"chunk {chunk} must divide the sequence length {frames}")
    timed = _time_tensors(plan)
    for i, layer in enumerate(plan.layers):
        if layer.op not in PER_FRAME_OPS and any(t in timed for t in [*layer.inputs, layer.output]):
            raise StreamingError(f"layer {i} '{layer.name}' ({layer.op}) mixes frames: the plan cannot stream")
    step = copy.copy(plan)
    step.tensors = [
        _step_tensor(plan, i, frames, chunk) if i in timed else copy.copy(t) for i, t in enumerate(plan.tensors)
    ]
    step.layers = [copy.copy(layer) for layer in plan.layers]
    for layer in step.layers:
        if layer.op in RECURRENT_OPS:
            layer.params = {**layer.params, "stateful": 1}
    step.meta = {**plan.meta, "streaming": {"frames": frames, "chunk": chunk, "whole_plan_hash": plan.model_hash}}
    step.model_hash = step.compute_hash()
    return step


def split_frames(plan: Plan, x: np.ndarray, input_index: int = 0, chunk: int = 1) -> list[np.ndarray]:
    """A whole-sequence input [B, ...] of plan input ``input_index`` (NHWC) as the step inputs of
    ``chunk`` frames each, in order."""
    frames = sequence_length(plan)
    fa = frame_axis(plan, plan.inputs[input_index], frames)
    x = np.asarray(x)
    return [
        np.ascontiguousarray(np.take(x, range(s * fa.unit, (s + chunk) * fa.unit), axis=fa.axis))
        for s in range(0, frames, chunk)
    ]
