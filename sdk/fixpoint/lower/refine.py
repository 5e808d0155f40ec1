"""Data-driven refinements of one layer's quantized weights.

Both use the statistics of the layer's input patches over a few samples
(``LowerOptions.samples``). By default (``LowerOptions.sequential``) the inputs
are those the already-lowered layers produce (``fixpoint.lower.sequential``)
and the target is the float layer on float inputs; otherwise the float inputs
of the original ONNX model serve for both.

* ``adaptive_rounding`` picks floor or ceil per weight to minimise the layer's
  output error (``fixpoint.lower.adaround``), and with automatic clipping the
  scale (clipped or not) per output channel;
* ``bias_correction`` removes the mean output shift: ``b_c -= mu_q . s_c q_c -
  mu_f . w_c`` with ``mu_q`` / ``mu_f`` the mean quantized-network / float input
  patch (equal without sequential inputs).
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

import numpy as np

from fixpoint.calibrate.data import first_inputs
from fixpoint.ir import ModelError, Node
from fixpoint.ops import registry

from .adaround import MAX_DEPTH, AdaRoundConfig, Objective, RoundingResult, learned_round
from .context import LowerContext
from .onnx_acts import float_session, iterate_float
from .patches import patch_stats
from .sequential import SequentialInputs, reconstruction_terms
from .weights import QuantizedWeights, round_half_away

log = logging.getLogger(__name__)

REFINABLE = registry.keys_where(lambda row: row.refinable)


def _channels_first(w: np.ndarray, op: str) -> np.ndarray:
    """Weights as [C_out, depth] with depth in patch order (output channels: the row's weight_channel_axis)."""
    axis = registry.RUNTIME_ROWS[op].weight_channel_axis
    if axis == 0:
        return w.reshape(w.shape[0], -1)
    return np.moveaxis(w, axis, -1).reshape(-1, w.shape[axis]).T


def _restore(q: np.ndarray, shape: tuple[int, ...], op: str) -> np.ndarray:
    """The inverse of _channels_first."""
    axis = registry.RUNTIME_ROWS[op].weight_channel_axis
    if axis == 0:
        return q.reshape(shape)
    moved = [*(d for i, d in enumerate(shape) if i != axis), shape[axis]]
    return np.moveaxis(q.T.reshape(moved), -1, axis)


def refine_layer(
    ctx: LowerContext,
    node: Node,
    w: np.ndarray,
    b: np.ndarray,
    qw: QuantizedWeights,
    alternatives: tuple[QuantizedWeights, ...] = (),
) -> tuple[QuantizedWeights, np.ndarray]:
    """Refined weights and float bias of a conv / depthwise / fully connected node (else unchanged).

    ``alternatives``: the same weights under other scales (e.g. unclipped); with adaptive rounding the
    scale whose learned rounding has the least output error on the samples is kept. With sequential
    inputs (``ctx.sequential``) the result is recorded so that later layers see this layer quantized.
    """
    qw, b = _refine(ctx, node, w, b, qw, alternatives)
    if ctx.sequential is not None:
        ctx.sequential.record(node, qw.dequantize(), b)
    return qw, b


def _layer_objective(ctx: LowerContext, node: Node, w: np.ndarray, w2: np.ndarray, centered: bool):
    """(Objective, mean patch the quantized layer sees, mean float patch), or None without samples."""
    out_shape = ctx.graph.values[node.outputs[0]].shape
    if ctx.sequential is not None and node.op in REFINABLE:
        xq, xf = ctx.sequential.inputs_of(node)
        return reconstruction_terms(node, xq, xf, w2, w.shape, out_shape, centered)
    x = ctx.layer_inputs.get(node.name)
    if x is None:
        return None
    stats = patch_stats(node, x, w.shape, out_shape)
    gram = stats.centered() if centered else stats.gram
    return Objective(gram, stats.group_of, stats.count), stats.mean, stats.mean


def _refine(
    ctx: LowerContext,
    node: Node,
    w: np.ndarray,
    b: np.ndarray,
    qw: QuantizedWeights,
    alternatives: tuple[QuantizedWeights, ...],
) -> tuple[QuantizedWeights, np.ndarray]:
    options = ctx.options
    rounding, correction = options.refinements_for(qw.bits)
    if node.op not in REFINABLE or not (rounding or correction):
        return qw, b
    w2 = _channels_first(w, node.op)
    terms = _layer_objective(ctx, node, w, w2, correction)
    if terms is None:
        return qw, b
    objective, mean_q, mean_f = terms
    scale = np.broadcast_to(qw.scale, (w2.shape[0],)).astype(np.float64)
    q2 = _channels_first(qw.values.astype(np.float64), node.op)
    info = ctx.layer_report(node).refinements
    if rounding and w2.shape[1] > MAX_DEPTH:
        ctx.layer_report(node).notes.append(f"adaptive rounding skipped: patch depth {w2.shape[1]} > {MAX_DEPTH}")
    elif rounding:
        q2, scale, result, chosen = _best_rounding(w2, (qw, *alternatives), objective, options)
        qw = QuantizedWeights(qw.values, scale if qw.scale.size > 1 else scale[:1], qw.axis, qw.bits)
        if alternatives:
            info["weight_clip"] = chosen
        info["adaptive_rounding"] = {
            "flips": result.flips,
            "output_mse_nearest": result.mse_before,
            "output_mse_adaptive": result.mse_after,
        }
    if correction:
        # the mean output the quantized layer gives on its real inputs minus the float layer's on float inputs
        group_of = objective.group_of
        shift = np.einsum("oi,oi->o", q2 * scale[:, None], mean_q[group_of]) - np.einsum(
            "oi,oi->o", w2, mean_f[group_of]
        )
        b = b - shift
        info["bias_correction"] = {"max_abs_shift": float(np.max(np.abs(shift))) if shift.size else 0.0}
    values = _restore(q2, w.shape, node.op).astype(np.int8)
    return QuantizedWeights(values, qw.scale, qw.axis, qw.bits), b


def _best_rounding(
    w2: np.ndarray, candidates: tuple[QuantizedWeights, ...], objective: Objective, options
) -> tuple[np.ndarray, np.ndarray, RoundingResult, str]:
    """Learned rounding under each candidate scale; per output channel the one of least reconstruction loss
    (channels are independent), or per layer when the scale is one per tensor.

    Returns the integer weights [C_out, depth], the scales [C_out], the combined result and what was chosen.
    """
    c_out = w2.shape[0]
    results, scales = [], []
    for candidate in candidates:
        scales.append(np.broadcast_to(candidate.scale, (c_out,)).astype(np.float64))
        results.append(
            learned_round(
                w2,
                scales[-1],
                candidates[0].qmax,
                objective,
                objective.group_of,
                objective.count,
                AdaRoundConfig(iterations=options.adaround_iterations),
                options.adaptive_rounding_passes,
            )
        )
    losses = np.stack([r.channel_loss for r in results])  # real output units: comparable
    if candidates[0].scale.size > 1:
        pick = np.argmin(losses, axis=0)
    else:
        pick = np.full(c_out, int(np.argmin(losses.sum(axis=1))))
    rows = np.arange(c_out)
    values = np.stack([r.values for r in results])[pick, rows].astype(np.float64)
    scale = np.stack(scales)[pick, rows]
    channel_loss = losses[pick, rows]
    qmax = candidates[0].qmax
    nearest = np.clip(round_half_away(w2 / scale[:, None]), -qmax, qmax)
    combined = RoundingResult(
        values.astype(np.int8),
        int(np.count_nonzero(values != nearest)),
        results[0].mse_before,
        float(channel_loss.sum()),
        channel_loss,
    )
    counts = np.bincount(pick, minlength=len(candidates))
    chosen = ", ".join(f"{name}: {n}" for name, n in zip(("clipped", "unclipped", "other"), counts) if n)
    return values, scale, combined, f"channels {chosen}"


def sample_activations(ctx: LowerContext, names: list[str]) -> dict[str, np.ndarray]:
    """Float NHWC activations of the original model (as onnxruntime runs it) over the option samples."""
    from fixpoint.normalize.float_exec import to_nhwc

    graph = ctx.graph
    if ctx.options.samples is None:
        raise ModelError(
            "equalization, adaptive rounding and bias correction need samples "
            "(LowerOptions.samples: a few float inputs in the model's layout)"
        )
    if not graph.source_path or not os.path.isfile(graph.source_path):
        raise ModelError(
            f"equalization, adaptive rounding and bias correction need the source ONNX model "
            f"(graph.source_path '{graph.source_path}' is not a file)"
        )
    inputs = first_inputs(ctx.options.samples, ctx.options.max_samples)
    session, _ = float_session(graph.source_path, names)
    by_name = dict(zip(graph.inputs, inputs))
    ordered = [by_name[i.name] for i in session.get_inputs()]  # onnxruntime feeds in model order
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for part, acts in iterate_float(session, ordered, batch_size=len(inputs[0])):
        acts.update({name: x[part] for name, x in by_name.items()})
        for name in chunks:
            if name not in acts:
                raise ModelError(f"tensor '{name}' is not produced by the source model {graph.source_path}")
            chunks[name].append(acts[name])
    return {name: to_nhwc(np.concatenate(parts), graph.values[name].source_layout) for name, parts in chunks.items()}


def collect_layer_inputs(ctx: LowerContext) -> dict[str, np.ndarray]:
    """Float NHWC input activations of every refinable layer (after any equalization).

    With ``LowerOptions.sequential`` (the default) nothing is collected up front: ``ctx.sequential`` runs
    the float and the quantized network alongside the lowering instead.
    """
    wanted = {node.name: node.inputs[0] for node in ctx.graph.nodes if node.op in REFINABLE}
    if not wanted:
        return {}
    if ctx.options.uses_sequential():
        ctx.sequential = SequentialInputs(ctx, sample_inputs(ctx))
        return {}
    acts = sample_activations(ctx, sorted(set(wanted.values())))
    result = {}
    for node_name, value_name in wanted.items():
        data = acts[value_name]
        if value_name in ctx.activation_scales:  # cross-layer equalization rescaled its channels
            data = data * ctx.activation_scales[value_name]
        result[node_name] = data
    log.info("collected float inputs of %d layers", len(result))
    return result


def sample_inputs(ctx: LowerContext) -> dict[str, np.ndarray]:
    """The option samples as NHWC graph inputs, by name."""
    from fixpoint.normalize.float_exec import to_nhwc

    if ctx.options.samples is None:
        raise ModelError(
            "adaptive rounding and bias correction need samples "
            "(LowerOptions.samples: a few float inputs in the model's layout)"
        )
    inputs = first_inputs(ctx.options.samples, ctx.options.max_samples)
    return {
        name: to_nhwc(np.asarray(x, np.float64), ctx.graph.values[name].source_layout)
        for name, x in zip(ctx.graph.inputs, inputs)
    }


def refined_weights(graph, quant, profile, options) -> dict[str, tuple]:
    """The refined low-bit weights one lowering with ``options`` gives, as ``LowerOptions.fixed_weights``
    (empty when no layer is refined: nothing to fix)."""
    from .pipeline import lower_with_report

    if options.equalize or not options.wants_layer_inputs():  # equalized weights are another graph's
        return {}
    plan, report = lower_with_report(graph, quant, profile, replace(options, plan_memory=False))
    fixed = {}
    for layer in plan.layers:
        info = report.layers.get(layer.name)
        if info is None or not info.refinements or "weights" not in layer.arrays:
            continue
        s_in = plan.tensors[layer.inputs[0]].scale
        scale = np.asarray(info.weight_scale, np.float64)
        bias = layer.arrays["bias"].astype(np.float64) * s_in * scale
        fixed[layer.name] = (layer.arrays["weights"], scale, bias, info.weight_bits)
    return fixed
