"""Budgets and the cost model of mixed precision: flash, RAM and instructions of a plan.

* flash: the bytes of the plan's constant arrays as the firmware stores them (packed weights, bias,
  requantization tables, lookup tables). Kernel code is not counted.
* RAM: the activation arena plus the kernels' scratch buffer (reference kernels).
* instructions: an **analytical model, not a measurement**: every multiply-accumulate costs
  ``INSTRUCTIONS_PER_MAC[datapath]`` instructions, every output element of any layer
  ``INSTRUCTIONS_PER_OUTPUT`` more (requantization, clamping, stores, loop overhead). The per-MAC
  figures follow the reference C kernels on a 32-bit core: load the input, load the weight, add the
  input offset, multiply-accumulate (4 for int8 weights); an int64 accumulator for int16 activations
  (+2); unpacking a packed weight (shift, mask, sign-extend: +2 for int4, +3 for 2-bit codes, +2 for a
  1-bit sign select).
  A layer the board puts on an accelerator engine costs that engine's cycles instead, from the board
  file's cost data (``cycles_per_mac``, ``setup_cycles``: ``setup + cycles_per_mac x work``, the work
  being MACs, a pool's window taps or an elementwise op's outputs, as the engine assignment pass counts
  it), one engine cycle counted as one CPU instruction (the CPU waits for the engine). The CPU engine
  keeps the per-datapath instruction model above: it is finer than its ``cycles_per_mac``.
  A layer no engine assignment placed (engine ``default``: the ``requantize`` layers between
  activation widths) costs what the engine the firmware dispatches it to charges
  (``fixpoint.target.default_engine``: the CPU on every board), so its output elements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..ir import ModelError
from ..ops.runtime_ops import RUNTIME_OPS
from ..plan import Plan, PlanLayer
from ..target import CPU_ENGINE, UNASSIGNED_ENGINE, EngineSpec, default_engine

INSTRUCTIONS_PER_MAC = {"s8": 4, "s16": 6, "s4": 6, "s2": 7, "s1": 6}
INSTRUCTIONS_PER_OUTPUT = 8
BUDGET_KEYS = ("flash", "ram", "instructions")


class BudgetError(ModelError):
    """A budget is malformed or cannot be met."""


@dataclass(frozen=True)
class Budget:
    """Upper limits; None = unconstrained. flash and ram in KiB (1024 bytes)."""

    flash_kb: float | None = None
    ram_kb: float | None = None
    instructions: int | None = None

    def limits(self) -> dict[str, float]:
        """The set limits in the units of :class:`Costs` (bytes, instructions)."""
        out = {}
        if self.flash_kb is not None:
            out["flash"] = self.flash_kb * 1024
        if self.ram_kb is not None:
            out["ram"] = self.ram_kb * 1024
        if self.instructions is not None:
            out["instructions"] = float(self.instructions)
        return out

    def text(self) -> str:
        parts = []
        if self.flash_kb is not None:
            parts.append(f"flash={self.flash_kb:g}")
        if self.ram_kb is not None:
            parts.append(f"ram={self.ram_kb:g}")
        if self.instructions is not None:
            parts.append(f"instructions={self.instructions}")
        return ",".join(parts)


def parse_budget(text: str) -> Budget:
    """``flash=KB,ram=KB,instructions=N`` (any subset, at least one) -> Budget."""
    values: dict[str, float] = {}
    for item in (p.strip() for p in str(text).split(",")):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in BUDGET_KEYS:
            raise BudgetError(f"--budget: '{item}' is not KEY=VALUE with KEY one of {', '.join(BUDGET_KEYS)}")
        if key in values:
            raise BudgetError(f"--budget: '{key}' is given twice")
        try:
            number = float(value)
        except ValueError:
            raise BudgetError(f"--budget: {key}={value!r} is not a number") from None
        if not (math.isfinite(number) and number > 0):
            raise BudgetError(f"--budget: {key}={value} must be a positive number")
        values[key] = number
    if not values:
        raise BudgetError("--budget: give at least one of flash=KB, ram=KB, instructions=N")
    instructions = values.get("instructions")
    return Budget(values.get("flash"), values.get("ram"), None if instructions is None else int(instructions))


@dataclass(frozen=True)
class Costs:
    flash: int  # bytes
    ram: int  # bytes
    instructions: int  # analytical model

    def get(self, key: str) -> float:
        return float(getattr(self, key))

    def as_dict(self) -> dict[str, int]:
        return {"flash": self.flash, "ram": self.ram, "instructions": self.instructions}


def layer_macs(plan: Plan, layer: PlanLayer) -> int:
    """Multiply-accumulates of a weighted layer: output elements x weights per output channel."""
    if not RUNTIME_OPS[layer.op].has_weights or "weights" not in layer.arrays:
        return 0
    out = plan.tensors[layer.output]
    c_out = int(out.shape[-1])
    return int(np.prod(out.shape)) * (int(layer.arrays["weights"].size) // max(c_out, 1))


def layer_work(plan: Plan, layer: PlanLayer) -> int:
    """What an engine's ``cycles_per_mac`` multiplies (as ``fixpoint.lower.engines.layer_facts``):
    output elements x (weights per output channel, else the pool window, else 1)."""
    out = plan.tensors[layer.output].shape
    weights = layer.arrays.get("weights")
    if weights is not None and RUNTIME_OPS[layer.op].has_weights:
        per_output = int(weights.size) // max(int(out[-1]), 1)
    else:
        per_output = int(layer.params.get("filter_h", 1)) * int(layer.params.get("filter_w", 1))
    return int(np.prod(out)) * max(per_output, 1)


def layer_instructions(
    plan: Plan, layer: PlanLayer, datapath: str | None = None, engine: EngineSpec | None = None
) -> int:
    """The analytical instruction count of one layer (``datapath`` overrides the layer's); on an
    accelerator ``engine`` its cycles instead."""
    if engine is not None and engine.name != CPU_ENGINE:
        return int(round(engine.cost(layer_work(plan, layer))))
    outputs = int(np.prod(plan.tensors[layer.output].shape))
    return (
        layer_macs(plan, layer) * INSTRUCTIONS_PER_MAC[datapath or layer.datapath] + outputs * INSTRUCTIONS_PER_OUTPUT
    )


def layer_flash(layer: PlanLayer) -> int:
    """Bytes of the layer's constant arrays in their C types (weights packed)."""
    from ..cparams import layer_arrays_for_c

    return int(sum(a.nbytes for a in layer_arrays_for_c(layer).values()))


def plan_costs(plan: Plan, engines=None) -> Costs:
    """Flash, RAM and analytical instructions of a lowered plan (one sample); ``engines`` (the board's
    EngineSpecs) price each layer on the engine the plan puts it on."""
    from ..sim.executor import graph_scratch_size

    flash = sum(layer_flash(layer) for layer in plan.layers)
    ram = int(plan.arena_size) + int(graph_scratch_size(plan, "ref"))
    instructions = sum(layer_instructions(plan, layer, engine=running_engine(layer, engines)) for layer in plan.layers)
    return Costs(flash, ram, instructions)


def running_engine(layer: PlanLayer, engines) -> EngineSpec | None:
    """The engine of ``engines`` that runs ``layer``: its own; an unassigned one's the firmware's
    choice (``default_engine``); None without engines."""
    engines = list(engines or ())
    if layer.engine == UNASSIGNED_ENGINE and engines:
        return engines[default_engine([e.name for e in engines])]
    return next((e for e in engines if e.name == layer.engine), None)
