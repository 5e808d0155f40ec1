"""The generated model's streaming API on the host simulator: init, reset_state, step, state.

:class:`StreamingSim` compiles the step plan of :func:`fixpoint.streaming.step_plan` (the plan the
code generator also renders) with its state buffer, and calls the same C functions the generated
model calls (``fp_<op>_s8_state_reset``, ``fp_graph_run``), so a board running the generated model
step by step must reproduce its outputs and state bytes exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..plan import Plan
from ..streaming import split_frames, state_slots, step_plan
from . import native
from .cstruct import status_name
from .executor import CompiledPlan, SimulationError, default_kernels

__all__ = ["StreamTrace", "StreamingSim", "run_stream"]


@dataclass
class StreamTrace:
    """One sequence run step by step: every step's outputs and the state after it."""

    outputs: list[list[np.ndarray]]  # [step][plan output] -> [1, ...] array
    states: list[bytes]  # [step] -> the state buffer after that step


class StreamingSim:
    """``<model>_init`` / ``_reset_state`` / ``_step`` / ``_state`` of a generated model, simulated."""

    def __init__(self, plan: Plan, chunk: int = 1, kernels: str | None = None):
        self.whole = plan
        self.chunk = chunk
        self.plan = step_plan(plan, chunk)
        self.slots = state_slots(self.plan)
        self.compiled = CompiledPlan(self.plan, kernels or default_kernels())
        self.reset_state()

    def reset_state(self) -> None:
        """Every recurrent layer back to its initial state (as after init)."""
        ffi, lib = native.ffi(), native.lib()
        for slot in self.slots:
            params = ffi.addressof(self.compiled.layers[slot.layer].params, slot.op)
            status = getattr(lib, f"fp_{slot.op}_s8_state_reset")(params)
            if status != lib.FP_OK:
                raise SimulationError(f"layer '{slot.name}': state reset returned {status_name(status)}")

    def step(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Run one step: ``inputs[k]`` is [1, ...] of the step plan's input k (a batch of B runs B
        consecutive steps and returns each one's outputs)."""
        return self.compiled.run(inputs, threads=1).outputs

    def state(self) -> bytes:
        """The state buffer's bytes (layout: fixpoint.streaming.state_slots)."""
        return self.compiled.state.tobytes()

    def run_sequence(self, inputs: list[np.ndarray]) -> StreamTrace:
        """Reset, then feed one whole-sequence sample ([1, ...] per input) ``chunk`` frames at a time."""
        self.reset_state()
        parts = [split_frames(self.whole, x, k, self.chunk) for k, x in enumerate(inputs)]
        trace = StreamTrace([], [])
        for step_inputs in zip(*parts):
            trace.outputs.append(self.step(list(step_inputs)))
            trace.states.append(self.state())
        return trace


def run_stream(plan: Plan, inputs: list[np.ndarray], chunk: int = 1, kernels: str | None = None) -> list[StreamTrace]:
    """Every sample of a whole-sequence batch (``inputs[k]`` [B, ...]) streamed: one trace per sample."""
    sim = StreamingSim(plan, chunk, kernels)
    batch = inputs[0].shape[0] if inputs else 0
    return [sim.run_sequence([x[b : b + 1] for x in inputs]) for b in range(batch)]
