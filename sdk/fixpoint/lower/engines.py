"""Engine assignment, a lowering pass: each layer goes to the cheapest engine of the target that can
run it within its limits, else to the CPU, with a one-line reason per layer in the report.

A layer is first lowered for the board-wide profile; its facts (kernel, stride, dilation, channels,
zero points, MACs) are read from that lowered layer, every engine is checked against them, and the
layer is lowered again for the chosen engine's own requantizer when it differs (a shift-only engine
whose scales cannot be powers of two then refuses, and the next engine is tried).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from fixpoint.ir import ModelError, Node
from .context import LowerContext


@dataclass(frozen=True)
class LayerFacts:
    """What an engine's limits are checked against, from one lowered layer."""

    op: str
    datapath: str
    kernel: int
    stride: int
    dilation: int
    channels: int  # output channels (an engine's accumulator lanes)
    zero_points: tuple[int, ...]
    macs: int


def layer_facts(
    ctx: LowerContext,
    node: Node,
    op: str,
    datapath: str,
    params: dict[str, Any],
    arrays: dict[str, np.ndarray],
    output: int,
) -> LayerFacts:
    out_shape = ctx.tensors[output].shape
    in_tensors = [ctx.tensor(n) for n in node.inputs if n in ctx.index]
    weights = arrays.get("weights")
    kernel = max(
        [int(params.get(k, 1)) for k in ("filter_h", "filter_w")]
        + ([int(d) for d in weights.shape[1:3]] if weights is not None and weights.ndim == 4 else [])
    )
    # MACs (or window taps) per output element: the weights per output channel, else the pool window
    window = int(params.get("filter_h", 1)) * int(params.get("filter_w", 1))
    per_output = int(weights.size // max(out_shape[3], 1)) if weights is not None else window
    return LayerFacts(
        op=op,
        datapath=datapath,
        kernel=kernel,
        stride=max(int(params.get("stride_h", 1)), int(params.get("stride_w", 1))),
        dilation=max(int(params.get("dilation_h", 1)), int(params.get("dilation_w", 1))),
        channels=int(out_shape[3]),
        zero_points=tuple(t.zero_point for t in [*in_tensors, ctx.tensors[output]]),
        macs=int(np.prod(out_shape)) * max(per_output, 1),
    )


def _limit(what: str, value: int, limit: int, engine: str) -> str | None:
    return f"{what} {value} exceeds {engine}'s {limit}" if limit and value > limit else None


def refusal(engine, facts: LayerFacts) -> str | None:
    """Why ``engine`` cannot run the layer, or None."""
    if engine.ops is not None and facts.op not in engine.ops:
        return f"{engine.name} does not run {facts.op}"
    if facts.datapath not in engine.datapaths:
        return f"{engine.name} has no {facts.datapath} datapath"
    lim = engine.limits
    problem = (
        _limit("kernel", facts.kernel, lim.kernel_max, engine.name)
        or _limit("stride", facts.stride, lim.stride_max, engine.name)
        or _limit("dilation", facts.dilation, lim.dilation_max, engine.name)
        or _limit("channels", facts.channels, lim.channels_max, engine.name)
    )
    if problem:
        return problem
    if engine.symmetric_only and any(facts.zero_points):
        return f"{engine.name} is symmetric-only, zero points are {list(facts.zero_points)}"
    return None


def choose(ctx: LowerContext, node: Node, facts: LayerFacts, relower: Callable[[Any], Any]) -> tuple[Any, Any, str]:
    """(engine, lowered layer for it, one-line reason): the cheapest capable engine; ties keep the
    board's order. ``relower(engine)`` lowers the layer for that engine's profile (raises when its
    requantizer cannot represent the scales). A layer with an engine override gets that engine or fails."""
    pinned = _pinned(ctx, node, facts)
    engines = pinned or list(ctx.options.engines)
    refused: list[str] = []
    capable = []
    for engine in engines:
        why = refusal(engine, facts)
        if why:
            refused.append(why)
        else:
            capable.append(engine)
    capable.sort(key=lambda e: engine_cost(e, facts))
    for engine in list(capable):
        try:
            lowered = relower(engine)
        except ModelError as exc:
            refused.append(f"{engine.name} cannot represent the scales ({_short(exc)})")
            capable.remove(engine)
            continue
        if pinned:
            return (
                engine,
                lowered,
                (f"layer {node.name} on {engine.name}: engine override ({engine_cost(engine, facts):.0f} cycles)"),
            )
        return engine, lowered, _reason(node, engine, facts, capable, refused)
    if pinned:
        raise ModelError(
            f"layer '{node.name}': engine override '{engines[0].name}' cannot run it ({'; '.join(refused)})"
        )
    raise ModelError(
        f"layer '{node.name}': no engine of the target runs {facts.op} on the {facts.datapath} "
        f"datapath ({'; '.join(refused)})"
    )


def _pinned(ctx: LowerContext, node: Node, facts: LayerFacts) -> list:
    """[the engine an override pins the layer to], after checking it can run the layer; [] without one."""
    name = ctx.options.engine_for(node.name, *node.outputs)
    if name is None:
        return []
    engine = next((e for e in ctx.options.engines if e.name == name), None)
    if engine is None:
        raise ModelError(
            f"layer '{node.name}': engine override '{name}' is not an engine of the target "
            f"({', '.join(e.name for e in ctx.options.engines)})"
        )
    why = refusal(engine, facts)
    if why:
        raise ModelError(f"layer '{node.name}': engine override '{name}' cannot run it ({why})")
    return [engine]


def engine_cost(engine, facts: LayerFacts) -> float:
    return engine.cost(facts.macs)


def _short(exc: Exception) -> str:
    text = str(exc)
    return text.split(": ", 1)[-1][:80]


def _reason(node: Node, engine, facts: LayerFacts, capable: list, refused: list[str]) -> str:
    cost = f"{engine_cost(engine, facts):.0f} cycles"
    others = [f"{e.name} {engine_cost(e, facts):.0f}" for e in capable if e is not engine]
    parts = [f"cheapest capable ({cost}; {', '.join(others)})"] if others else []
    parts += refused
    return f"layer {node.name} on {engine.name}: {'; '.join(parts) or 'the only engine'}"
