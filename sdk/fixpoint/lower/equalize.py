"""Cross-layer equalization (Nagel et al., "Data-Free Quantization", 2019).

For a layer pair ``L1 -> (relu) -> L2`` where L2 is the only reader of L1's
output, ``relu(x / s) = relu(x) / s`` for ``s > 0``, so dividing output channel
``c`` of L1 (weights and bias) by ``s_c`` and multiplying the matching input
columns of L2 by ``s_c`` leaves the float model unchanged. Choosing
``s_c = sqrt(r1_c / r2_c)`` (``r`` = per-channel weight ranges) gives both
layers the same range ``sqrt(r1_c r2_c)`` per channel, which is what
per-tensor weight quantization needs. The rescaled activation changes range,
so its calibration is rescaled too (from sample activations).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from fixpoint.ir import Graph, ModelError, Node
from fixpoint.ops import registry

log = logging.getLogger(__name__)

# ops whose weights can be rescaled per output channel (registry rows with a weight_channel_axis)
FIRST_OPS = registry.keys_where(lambda row: row.weight_channel_axis is not None)
SCALE_LIMIT = 1e4  # keep factors sane when a channel is (almost) dead


@dataclass
class Equalization:
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # constant name -> new float data
    activation_scales: dict[str, np.ndarray] = field(default_factory=dict)  # value -> per-channel factor
    pairs: list[tuple[str, str]] = field(default_factory=list)


def _positive_homogeneous(node: Node) -> bool:
    act, rng = node.attrs.get("act", "none"), node.attrs.get("act_range")
    return act in ("none", None) or (act == "relu" and (rng is None or (rng[0] == 0 and rng[1] == float("inf"))))


def _second_ok(node: Node) -> bool:
    return node.op == "fully_connected" or (node.op == "conv2d" and int(node.attrs.get("groups", 1)) == 1)


def equalizable_pairs(graph: Graph) -> list[tuple[Node, Node]]:
    """(L1, L2) pairs whose shared activation can be rescaled per channel."""
    uses: dict[str, int] = {}
    for node in graph.nodes:
        for name in node.inputs:
            uses[name] = uses.get(name, 0) + 1
    pairs = []
    for first in graph.nodes:
        out = first.outputs[0]
        if (
            first.op not in FIRST_OPS
            or len(first.inputs) < 3
            or not _positive_homogeneous(first)
            or out in graph.outputs
        ):
            continue
        readers = graph.consumers(out)
        if len(readers) != 1 or not _second_ok(readers[0]) or readers[0].inputs[0] != out:
            continue
        consts = [*first.inputs[1:3], *readers[0].inputs[1:3]]
        if all(uses.get(c, 0) == 1 for c in consts):  # shared weights cannot be rescaled twice
            pairs.append((first, readers[0]))
    return pairs


def _out_axis(op: str) -> int:
    return registry.RUNTIME_ROWS[op].weight_channel_axis


def _out_channel_ranges(w: np.ndarray, op: str) -> np.ndarray:
    axis = _out_axis(op)
    return np.abs(w).max(axis=tuple(i for i in range(w.ndim) if i != axis))


def _in_channel_view(w: np.ndarray, op: str, channels: int) -> np.ndarray:
    """L2 weights as [..., channels] so the last axis is the shared activation's channel."""
    if op == "fully_connected":  # columns are the NHWC flattening: channel = column % C
        return w.reshape(w.shape[0], -1, channels)
    return w  # OHWI: input channel is last


def _equalize_pair(first: Node, second: Node, data: dict[str, np.ndarray], channels: int) -> np.ndarray:
    w1, b1 = data[first.inputs[1]], data[first.inputs[2]]
    w2 = _in_channel_view(data[second.inputs[1]], second.op, channels)
    r1 = _out_channel_ranges(w1, first.op)
    r2 = np.abs(w2).reshape(-1, channels).max(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where((r1 > 0) & (r2 > 0), np.sqrt(r1 / r2), 1.0)
    s = np.clip(s, 1.0 / SCALE_LIMIT, SCALE_LIMIT)
    per_channel = [1] * w1.ndim
    per_channel[_out_axis(first.op)] = -1
    data[first.inputs[1]] = w1 / s.reshape(per_channel)
    data[first.inputs[2]] = b1 / s
    data[second.inputs[1]] = (w2 * s).reshape(data[second.inputs[1]].shape)
    return s


def equalize_graph(graph: Graph, iterations: int = 4) -> Equalization:
    """Equalized float weights (the graph is not modified) and the activation factors applied."""
    pairs = equalizable_pairs(graph)
    result = Equalization(pairs=[(a.name, b.name) for a, b in pairs])
    if not pairs:
        return result
    data = {
        name: np.asarray(graph.values[name].data, dtype=np.float64)
        for a, b in pairs
        for name in (*a.inputs[1:3], *b.inputs[1:3])
    }
    for _ in range(max(1, iterations)):  # chains share layers: alternate until stable
        for first, second in pairs:
            out = first.outputs[0]
            channels = graph.values[out].shape[3]
            s = _equalize_pair(first, second, data, channels)
            result.activation_scales[out] = result.activation_scales.get(out, np.ones(channels)) / s
    result.weights = data
    log.info("cross-layer equalization of %d layer pair(s)", len(pairs))
    return result


def rescaled_ranges(activations: dict[str, np.ndarray], scales: dict[str, np.ndarray]) -> dict[str, float]:
    """Per rescaled value: how much its per-tensor range grows (new / old), measured on NHWC samples."""
    ratios = {}
    for name, factor in scales.items():
        x = activations.get(name)
        if x is None:
            raise ModelError(f"equalization: no sample activations of '{name}'")
        old = np.abs(x).reshape(-1, x.shape[-1]).max(axis=0)
        new = old * factor
        ratios[name] = float(new.max() / old.max()) if old.max() > 0 else 1.0
    return ratios


def apply_equalization(ctx, iterations: int = 4) -> Equalization:
    """Equalize ``ctx.graph``'s weights and rescale the calibration of the rescaled activations."""
    from fixpoint.calibrate.qparams import quant_from_range

    from .refine import sample_activations

    eq = equalize_graph(ctx.graph, iterations)
    if not eq.pairs:
        return eq
    ratios = rescaled_ranges(sample_activations(ctx, sorted(eq.activation_scales)), eq.activation_scales)
    quant = dict(ctx.quant)  # never modify the caller's calibration
    for name, ratio in ratios.items():
        tq = quant.get(name)
        if tq is None:
            raise ModelError(f"tensor '{name}' has no calibration entry")
        quant[name] = quant_from_range(
            name,
            tq.lo * ratio,
            tq.hi * ratio,
            tq.bits,
            tq.scheme,
            tq.policy,
            (tq.observed_min * ratio, tq.observed_max * ratio),
        )
        ctx.equalized.add(name)
    ctx.quant = quant
    ctx.weight_overrides.update(eq.weights)
    ctx.activation_scales.update(eq.activation_scales)
    ctx.report.activation_scales.update({k: [float(f) for f in v] for k, v in eq.activation_scales.items()})
    for first, second in eq.pairs:
        ctx.equalized_pairs[first] = second
    return eq
