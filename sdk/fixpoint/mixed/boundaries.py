"""The ``requantize`` layers of a mix of activation widths, priced exactly.

Lowering (``fixpoint.lower.widths``) converts a value once per width its readers need other than the
width it was made at (graph outputs keep the base width), and the copy is shared by every reader at
that width. So the requantize layers of a mix depend on its neighbours' widths together: two 16-bit
neighbours need none between them, two 16-bit readers of one 8-bit value share one copy. A layer's
option priced alone (every neighbour at 8 bits) carries the requantize layers it would need alone;
summed over a mix's layers that counts a shared or vanished boundary twice (an upper bound). This
module counts each boundary of a mix once, at the price the option plans measured for it.

The plan leaves a requantize layer unassigned (engine ``default``): the firmware runs it on the CPU
(``fixpoint.target.default_engine``), so it costs the CPU's per-output instructions
(``fixpoint.mixed.costs``), no flash (its scale is a layer parameter, not a constant array), and the
arena holds its copy (RAM: part of the option's estimate, see ``search``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..lower.widths import REQUANTIZE
from ..plan import Plan
from .costs import layer_flash, layer_instructions, running_engine

PRICED = ("flash", "instructions")
_COPY_SUFFIX = re.compile(r"@int(8|16)$")


@dataclass
class _Value:
    """One value of the base plan: its producer's and its readers' columns among the searched layers
    (-1: a layer the search does not widen, or a graph input), and whether a reader stays at 8 bits."""

    name: str
    producer: int
    readers: list[int]
    fixed_reader: bool


@dataclass
class Boundaries:
    """The values whose producer or readers the search may widen, and the price of converting each
    (value, width) as the option plans lowered it."""

    values: list[_Value]
    price: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)

    def record(self, plan: Plan, engines) -> tuple[int, int]:
        """(flash, instructions) of an option plan's requantize layers, each recorded as the price of
        its (value, width), on the engine that runs it (``engines``: the board's)."""
        flash = instructions = 0
        for layer in plan.layers:
            if layer.op != REQUANTIZE:
                continue
            cost = {
                "flash": layer_flash(layer),
                "instructions": layer_instructions(plan, layer, engine=running_engine(layer, engines)),
            }
            out = plan.tensors[layer.output]
            self.price[(_COPY_SUFFIX.sub("", out.name), 16 if out.dtype == "int16" else 8)] = cost
            flash, instructions = flash + cost["flash"], instructions + cost["instructions"]
        return flash, instructions

    def totals(self, wide: np.ndarray) -> dict[str, np.ndarray]:
        """Flash and instructions of the requantize layers of each mix; ``wide`` [mixes, searched
        layers]: True where the mix runs that layer at 16 bits (the base width is 8)."""
        totals = {key: np.zeros(len(wide)) for key in PRICED}
        for value in self.values:
            made16 = wide[:, value.producer] if value.producer >= 0 else np.zeros(len(wide), bool)
            readers = wide[:, value.readers] if value.readers else np.zeros((len(wide), 0), bool)
            needs = {
                16: ~made16 & readers.any(axis=1),
                8: made16 & (value.fixed_reader | (~readers).any(axis=1)),
            }
            for bits, needed in needs.items():
                price = self.price.get((value.name, bits))
                if price is None:  # never needed by any single option, so by no mix either
                    continue
                for key in PRICED:
                    totals[key] += np.where(needed, price[key], 0)
        return totals


def boundaries_of(base_plan: Plan, searched: list[str], price: dict | None = None) -> Boundaries:
    """The values of the all-8-bit ``base_plan`` around the ``searched`` layers (columns in order),
    with the conversion prices recorded so far (``price``)."""
    column = {name: j for j, name in enumerate(searched)}
    values: dict[int, _Value] = {}

    def value(index: int) -> _Value:
        if index not in values:
            values[index] = _Value(base_plan.tensors[index].name, -1, [], False)
        return values[index]

    for layer in base_plan.layers:
        j = column.get(layer.name, -1)
        for index in dict.fromkeys(layer.inputs):  # a layer reading one value twice converts it once
            if j >= 0:
                value(index).readers.append(j)
            else:
                value(index).fixed_reader = True
        value(layer.output).producer = j
    for index in base_plan.outputs:
        value(index).fixed_reader = True  # graph outputs keep the base width
    touched = [v for v in values.values() if v.producer >= 0 or v.readers]
    return Boundaries(touched, dict(price or {}))
