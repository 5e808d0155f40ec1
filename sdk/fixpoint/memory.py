"""Arena planning: one static activation buffer, dead tensors' bytes reused.

Every activation tensor gets a byte offset (a multiple of 4) in one arena.
A tensor is live from the layer that writes it (graph inputs: from before
the first layer) through its last reader; graph outputs stay live to the end,
so nothing overwrites them once produced. Two tensors whose live intervals
intersect never share a byte; in particular a layer's output never overlaps
its inputs (the kernels do not work in place).

Placement is TFLite Micro's greedy-by-size: largest tensors first, each at
the lowest aligned offset that does not collide with an already placed tensor
whose lifetime intersects its own (first fit).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

from .plan import Plan, PlanError

ALIGNMENT = 4


@dataclass(frozen=True)
class Lifetime:
    """Inclusive layer-index interval during which a tensor must stay intact.

    ``first`` is the producing layer (-1 for graph inputs); ``last`` is the
    last reading layer, or ``n_layers`` for graph outputs.
    """

    first: int
    last: int

    def overlaps(self, other: "Lifetime") -> bool:
        return self.first <= other.last and other.first <= self.last


def align_up(n: int, alignment: int = ALIGNMENT) -> int:
    return (n + alignment - 1) // alignment * alignment


def lifetimes(plan: Plan) -> dict[int, Lifetime]:
    """Live interval of every tensor a layer or the graph I/O touches."""
    first: dict[int, int] = {i: -1 for i in plan.inputs}
    last: dict[int, int] = {}
    for li, layer in enumerate(plan.layers):
        for t in layer.inputs:
            if t not in first:
                raise PlanError(
                    f"layer '{layer.name}' reads tensor '{plan.tensors[t].name}' before any layer writes it"
                )
            last[t] = li
        if layer.output in first:
            what = "a graph input" if first[layer.output] < 0 else "written twice"
            raise PlanError(f"layer '{layer.name}' writes tensor '{plan.tensors[layer.output].name}', which is {what}")
        first[layer.output] = li
    end = len(plan.layers)
    for t in plan.outputs:
        if t not in first:
            raise PlanError(f"graph output '{plan.tensors[t].name}' is never written")
        last[t] = end
    return {t: Lifetime(f, max(last.get(t, f), f)) for t, f in first.items()}


def plan_arena(plan: Plan) -> Plan:
    """A copy of ``plan`` with tensor offsets and ``arena_size`` set (layers shared)."""
    lives = lifetimes(plan)
    tensors = [copy.copy(t) for t in plan.tensors]
    order = sorted(lives, key=lambda t: (-align_up(tensors[t].nbytes), lives[t].first, t))
    placed: list[tuple[int, int, Lifetime]] = []  # (offset, end, lifetime)
    for t in order:
        size = align_up(tensors[t].nbytes)
        offset = _first_fit(size, [(o, e) for o, e, life in placed if life.overlaps(lives[t])])
        tensors[t].offset = offset
        placed.append((offset, offset + size, lives[t]))
    for i, t in enumerate(tensors):
        if i not in lives:
            t.offset = 0  # untouched tensor: any aligned slot is fine
    arena = max([align_up(t.offset + t.nbytes) for t in tensors] + [0])
    return replace(plan, tensors=tensors, arena_size=arena)


def _first_fit(size: int, busy: list[tuple[int, int]]) -> int:
    offset = 0
    for start, end in sorted(busy):
        if start - offset >= size:
            break
        offset = max(offset, end)
    return offset


def check_arena(plan: Plan) -> None:
    """Raise PlanError if two simultaneously live tensors share a byte, or an
    offset is unset, misaligned or outside ``plan.arena_size``."""
    lives = lifetimes(plan)
    for i, t in enumerate(plan.tensors):
        if t.offset < 0 or t.offset % ALIGNMENT or t.offset + t.nbytes > plan.arena_size:
            raise PlanError(
                f"tensor '{t.name}': offset {t.offset} (+{t.nbytes} bytes) is unset, "
                f"misaligned or outside the {plan.arena_size}-byte arena"
            )
    ids = sorted(lives, key=lambda i: plan.tensors[i].offset)
    for n, a in enumerate(ids):
        ta = plan.tensors[a]
        for b in ids[n + 1 :]:
            tb = plan.tensors[b]
            if tb.offset >= ta.offset + ta.nbytes:
                break
            if lives[a].overlaps(lives[b]):
                raise PlanError(f"tensors '{ta.name}' and '{tb.name}' are live at the same time but share arena bytes")


def naive_arena_size(plan: Plan) -> int:
    """Bytes needed without reuse (every tensor in its own slot), for reports."""
    return sum(align_up(t.nbytes) for t in plan.tensors)
