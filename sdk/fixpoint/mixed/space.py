"""The search space of mixed precision: per weighted layer a few options (weight bits x engine), each
with its modelled loss, flash and instructions, and the mixes of options worth considering.

Loss, flash and instructions of a mix are modelled as sums over its layers' options, so the space is a
multi-choice knapsack. Up to ``EXHAUSTIVE_MIXES`` mixes every one is scored. Beyond, a dynamic program
adds one layer at a time and keeps, in each cell of a ``GRID`` x ``GRID`` grid over (flash,
instructions), only the mix of least loss, then drops the cells another cell dominates (no more flash,
no more instructions, less loss). What survives is the (flash, instructions, loss) Pareto front to
within one grid step of each cost per layer, enough to choose candidates that are then lowered and
simulated for real.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EXHAUSTIVE_MIXES = 1 << 18
GRID = 128
COSTS = ("loss", "flash", "instructions")


@dataclass(frozen=True)
class Choice:
    """One option of one weighted layer: its weight bits and the engine that runs it."""

    bits: int
    engine: str


@dataclass
class LayerOptions:
    """The options of one weighted layer with their modelled figures (loss: the sensitivity, the loss
    added to the base plan's; flash and instructions: the layer's own)."""

    name: str
    choices: list[Choice]
    loss: list[float]
    flash: list[int]
    instructions: list[int]

    def values(self, key: str) -> np.ndarray:
        return np.asarray(getattr(self, key), float)


@dataclass
class Space:
    layers: list[LayerOptions]
    grid: np.ndarray             # [mixes, layers] indices into each layer's choices
    loss: np.ndarray             # predicted
    flash: np.ndarray
    instructions: np.ndarray
    exhaustive: bool

    def choices(self, i: int) -> dict[str, Choice]:
        return {layer.name: layer.choices[k] for layer, k in zip(self.layers, self.grid[i])}

    def fitting(self, limits: dict[str, float]) -> np.ndarray:
        """Indices of the mixes within the flash and instruction limits, least predicted loss first."""
        ok = np.ones(len(self.grid), bool)
        for key in ("flash", "instructions"):
            if key in limits:
                ok &= getattr(self, key) <= limits[key]
        idx = np.flatnonzero(ok)
        return idx[np.argsort(self.loss[idx], kind="stable")]

    def front(self, metric: str) -> list[int]:
        """The (metric, predicted loss) Pareto front, cheapest first."""
        x = getattr(self, metric)
        other = self.instructions if metric == "flash" else self.flash   # ties: the cheaper in the other
        best, picked = np.inf, []
        for i in np.lexsort((other, self.loss, x)):
            if self.loss[i] < best:
                best = self.loss[i]
                picked.append(int(i))
        return picked


def build_space(layers: list[LayerOptions], base_loss: float, fixed_flash: int, fixed_instructions: int) -> Space:
    """Every mix when there are few, else the pruned front (module docstring)."""
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
    return Space(layers, grid, totals["loss"] + base_loss, totals["flash"] + fixed_flash,
                 totals["instructions"] + fixed_instructions, exhaustive)


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
    """The (flash, instructions) cell size: 1 / GRID of each cost's range over all mixes. A mix the
    pruning drops has a survivor with no more loss that costs at most one step more per layer."""
    return {key: max(sum(float(np.ptp(layer.values(key))) for layer in layers) / GRID, 1e-9)
            for key in ("flash", "instructions")}


def _undominated_cells(acc: dict[str, np.ndarray], steps: dict[str, float]) -> np.ndarray:
    """Per (flash, instructions) cell the mix of least loss, then only cells no other cell dominates."""
    fb = ((acc["flash"] - acc["flash"].min()) / steps["flash"]).astype(np.int64)
    ib = ((acc["instructions"] - acc["instructions"].min()) / steps["instructions"]).astype(np.int64)
    order = np.lexsort((acc["loss"], ib, fb))
    key = fb[order] * (int(ib.max()) + 1) + ib[order]
    cells = order[np.r_[True, key[1:] != key[:-1]]]
    table = np.full((int(fb.max()) + 1, int(ib.max()) + 1), np.inf)
    table[fb[cells], ib[cells]] = acc["loss"][cells]
    # least loss over every cell with no more flash and no more instructions
    best = np.minimum.accumulate(np.minimum.accumulate(table, axis=0), axis=1)
    return cells[acc["loss"][cells] <= best[fb[cells], ib[cells]]]
