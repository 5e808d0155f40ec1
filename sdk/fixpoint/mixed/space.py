"""The search space of mixed precision: per weighted layer a few options (weight bits x activation
bits x engine), each with its modelled loss, flash, instructions and RAM, and the mixes of options
worth considering.

Loss and costs of a mix are modelled as sums over its layers' options (RAM: the base plan's plus each
option's increase), so the space is a multi-choice knapsack; the requantize layers between activation
widths, which depend on neighbours together, are then priced per mix (``boundaries``). Up to
``EXHAUSTIVE_MIXES`` mixes every one is scored. Beyond, a dynamic program adds one layer at a time and
keeps, in each cell of a grid over the costs that vary (``GRID_CELLS`` cells in all), only the mix of
least loss, then drops the cells another cell dominates (no more of any cost, less loss). What
survives is the Pareto front to within one grid step of each cost per layer, enough to choose
candidates that are then lowered and simulated for real.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .boundaries import Boundaries

EXHAUSTIVE_MIXES = 1 << 18
GRID_CELLS = 1 << 14
LIMITED = ("flash", "instructions", "ram")
COSTS = ("loss", *LIMITED)


@dataclass(frozen=True)
class Choice:
    """One option of one weighted layer: its weight bits, the engine that runs it, its activation bits."""

    bits: int
    engine: str
    act: int = 8

    def text(self) -> str:
        return f"w{self.bits}a{self.act}@{self.engine}"


@dataclass
class LayerOptions:
    """The options of one weighted layer with their modelled figures (loss: the sensitivity, the loss
    added to the base plan's; flash and instructions: the layer's own and its requantize layers'; ram:
    the increase over the base plan's)."""

    name: str
    choices: list[Choice]
    loss: list[float]
    flash: list[int]
    instructions: list[int]
    ram: list[int]
    # of flash and instructions, the part the option's requantize layers take when it is priced alone
    # (every neighbour at 8 bits); a mix's are priced together (``boundaries``); empty: none
    boundary_flash: list[int] = field(default_factory=list)
    boundary_instructions: list[int] = field(default_factory=list)

    def values(self, key: str) -> np.ndarray:
        return np.asarray(getattr(self, key), float)

    def alone(self, key: str) -> np.ndarray:
        """The option's requantize layers' ``key`` (flash, instructions) when priced alone."""
        values = getattr(self, f"boundary_{key}")
        return np.asarray(values, float) if values else np.zeros(len(self.choices))

    def wide(self) -> np.ndarray:
        return np.array([c.act == 16 for c in self.choices])


@dataclass
class Space:
    layers: list[LayerOptions]
    grid: np.ndarray  # [mixes, layers] indices into each layer's choices
    loss: np.ndarray  # predicted
    flash: np.ndarray
    instructions: np.ndarray
    ram: np.ndarray
    exhaustive: bool

    def choices(self, i: int) -> dict[str, Choice]:
        return {layer.name: layer.choices[k] for layer, k in zip(self.layers, self.grid[i])}

    def fitting(self, limits: dict[str, float]) -> np.ndarray:
        """Indices of the mixes within the limits, least predicted loss first."""
        ok = np.ones(len(self.grid), bool)
        for key in LIMITED:
            if key in limits:
                ok &= getattr(self, key) <= limits[key]
        idx = np.flatnonzero(ok)
        return idx[np.argsort(self.loss[idx], kind="stable")]

    def front(self, metric: str) -> list[int]:
        """The (metric, predicted loss) Pareto front, cheapest first."""
        x = getattr(self, metric)
        other = self.instructions if metric == "flash" else self.flash  # ties: the cheaper in the other
        best, picked = np.inf, []
        for i in np.lexsort((other, self.loss, x)):
            if self.loss[i] < best:
                best = self.loss[i]
                picked.append(int(i))
        return picked


def build_space(
    layers: list[LayerOptions],
    base_loss: float,
    fixed_flash: int,
    fixed_instructions: int,
    base_ram: int = 0,
    boundaries: Boundaries | None = None,
) -> Space:
    """Every mix when there are few, else the pruned front (module docstring). With ``boundaries``
    each mix's requantize layers are priced together (exact) in place of its options' alone."""
    count = math.prod(len(layer.choices) for layer in layers)
    exhaustive = count <= EXHAUSTIVE_MIXES
    if exhaustive:
        axes = [np.arange(len(layer.choices)) for layer in layers]
        grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(layers), -1).T
    else:
        grid = _pruned_grid(layers)
    totals = {key: np.zeros(len(grid)) for key in COSTS}
    for j, layer in enumerate(layers):
        for key in COSTS:
            totals[key] += layer.values(key)[grid[:, j]]
    if boundaries is not None and layers:
        wide = np.stack([layer.wide()[grid[:, j]] for j, layer in enumerate(layers)], axis=1)
        together = boundaries.totals(wide.reshape(len(grid), len(layers)))
        for key, value in together.items():
            totals[key] += value - sum(layer.alone(key)[grid[:, j]] for j, layer in enumerate(layers))
    return Space(
        layers,
        grid,
        totals["loss"] + base_loss,
        totals["flash"] + fixed_flash,
        totals["instructions"] + fixed_instructions,
        totals["ram"] + base_ram,
        exhaustive,
    )


def _pruned_grid(layers: list[LayerOptions]) -> np.ndarray:
    """The dynamic program of the module docstring: option indices of the surviving mixes."""
    steps = grid_steps(layers)
    idx = np.zeros((1, 0), np.int64)
    acc = {key: np.zeros(1) for key in COSTS}
    for layer in layers:
        k, n = len(layer.choices), len(idx)
        idx = np.hstack([np.repeat(idx, k, axis=0), np.tile(np.arange(k), n)[:, None]])
        acc = {key: (acc[key][:, None] + layer.values(key)[None, :]).ravel() for key in COSTS}
        keep = _undominated_cells(acc, steps)
        idx = idx[keep]
        acc = {key: value[keep] for key, value in acc.items()}
    return idx


def grid_steps(layers: list[LayerOptions]) -> dict[str, float]:
    """The cell size of each cost that varies: its range over all mixes over the cells per axis. A mix
    the pruning drops has a survivor with no more loss that costs at most one step more per layer."""
    spans = {key: sum(float(np.ptp(layer.values(key))) for layer in layers) for key in LIMITED}
    varying = {key: span for key, span in spans.items() if span > 0}
    per_axis = int(GRID_CELLS ** (1.0 / max(len(varying), 1)))
    return {key: span / per_axis for key, span in varying.items()}


def _undominated_cells(acc: dict[str, np.ndarray], steps: dict[str, float]) -> np.ndarray:
    """Per cell the mix of least loss, then only cells no other cell dominates."""
    if not steps:
        return np.array([int(np.argmin(acc["loss"]))])
    bins = [((acc[key] - acc[key].min()) / step).astype(np.int64) for key, step in steps.items()]
    shape = tuple(int(b.max()) + 1 for b in bins)
    cell = np.ravel_multi_index(bins, shape)
    order = np.lexsort((acc["loss"], cell))
    first = order[np.r_[True, cell[order][1:] != cell[order][:-1]]]
    table = np.full(shape, np.inf)
    table.flat[cell[first]] = acc["loss"][first]
    # least loss over every cell with no more of each cost
    for axis in range(len(shape)):
        table = np.minimum.accumulate(table, axis=axis)
    return first[acc["loss"][first] <= table.flat[cell[first]]]
