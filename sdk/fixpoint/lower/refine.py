"""Data-driven refinements of one layer's quantized weights.

Both use the statistics of the layer's float input patches over a few
samples (``LowerOptions.samples``, run through the original ONNX model):

* ``adaptive_rounding`` picks floor or ceil per weight to minimise the layer's
  output error (``fixpoint.lower.adaround``);
* ``bias_correction`` removes the mean output shift the weight rounding causes:
  ``b_c -= mu_c . (s_c q_c - w_c)`` with ``mu_c`` the mean input patch. The
  correction is analytical (no quantized model is run); only the input means
  come from data.
"""
from __future__ import annotations

import logging
import os

import numpy as np

from fixpoint.calibrate.data import first_inputs
from fixpoint.ir import ModelError, Node
from fixpoint.ops import registry

from .adaround import MAX_DEPTH, AdaRoundConfig, learned_round
from .context import LowerContext
from .onnx_acts import float_session, iterate_float
from .patches import patch_stats
from .weights import QuantizedWeights

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


def refine_layer(ctx: LowerContext, node: Node, w: np.ndarray, b: np.ndarray, qw: QuantizedWeights,
                 alternatives: tuple[QuantizedWeights, ...] = ()) -> tuple[QuantizedWeights, np.ndarray]:
    """Refined weights and float bias of a conv / depthwise / fully connected node (else unchanged).

    ``alternatives``: the same weights under other scales (e.g. unclipped); with adaptive rounding the
    scale whose learned rounding has the least output error on the samples is kept.
    """
    x = ctx.layer_inputs.get(node.name)
    options = ctx.options
    rounding, correction = options.refinements_for(qw.bits)
    if x is None or node.op not in REFINABLE or not (rounding or correction):
        return qw, b
    stats = patch_stats(node, x, w.shape, ctx.graph.values[node.outputs[0]].shape)
    w2 = _channels_first(w, node.op)
    scale = np.broadcast_to(qw.scale, (w2.shape[0],)).astype(np.float64)
    q2 = _channels_first(qw.values.astype(np.float64), node.op)
    info = ctx.layer_report(node).refinements
    if rounding and w2.shape[1] > MAX_DEPTH:
        ctx.layer_report(node).notes.append(f"adaptive rounding skipped: patch depth {w2.shape[1]} > {MAX_DEPTH}")
    elif rounding:
        gram = stats.centered() if correction else stats.gram
        best = None
        for k, candidate in enumerate((qw, *alternatives)):
            c_scale = np.broadcast_to(candidate.scale, (w2.shape[0],)).astype(np.float64)
            result = learned_round(w2, c_scale, qw.qmax, gram, stats.group_of, stats.count,
                                   AdaRoundConfig(iterations=options.adaround_iterations),
                                   options.adaptive_rounding_passes)
            if best is None or result.mse_after < best[1].mse_after:   # real output units: comparable
                best = (k, result, candidate, c_scale)
        k, result, qw, scale = best
        if alternatives:
            info["weight_clip"] = "clipped" if k == 0 else f"alternative {k} (unclipped)"
        q2 = result.values.astype(np.float64)
        info["adaptive_rounding"] = {"flips": result.flips, "output_mse_nearest": result.mse_before,
                                     "output_mse_adaptive": result.mse_after}
    if correction:
        shift = np.einsum("oi,oi->o", q2 * scale[:, None] - w2, stats.mean[stats.group_of])
        b = b - shift
        info["bias_correction"] = {"max_abs_shift": float(np.max(np.abs(shift))) if shift.size else 0.0}
    values = _restore(q2, w.shape, node.op).astype(np.int8)
    return QuantizedWeights(values, qw.scale, qw.axis, qw.bits), b


def sample_activations(ctx: LowerContext, names: list[str]) -> dict[str, np.ndarray]:
    """Float NHWC activations of the original model (as onnxruntime runs it) over the option samples."""
    from fixpoint.normalize.float_exec import to_nhwc

    graph = ctx.graph
    if ctx.options.samples is None:
        raise ModelError("equalization, adaptive rounding and bias correction need samples "
                         "(LowerOptions.samples: a few float inputs in the model's layout)")
    if not graph.source_path or not os.path.isfile(graph.source_path):
        raise ModelError(f"equalization, adaptive rounding and bias correction need the source ONNX model "
                         f"(graph.source_path '{graph.source_path}' is not a file)")
    inputs = first_inputs(ctx.options.samples, ctx.options.max_samples)
    session, _ = float_session(graph.source_path, names)
    by_name = dict(zip(graph.inputs, inputs))
    ordered = [by_name[i.name] for i in session.get_inputs()]   # onnxruntime feeds in model order
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for part, acts in iterate_float(session, ordered, batch_size=len(inputs[0])):
        acts.update({name: x[part] for name, x in by_name.items()})
        for name in chunks:
            if name not in acts:
                raise ModelError(f"tensor '{name}' is not produced by the source model {graph.source_path}")
            chunks[name].append(acts[name])
    return {name: to_nhwc(np.concatenate(parts), graph.values[name].source_layout)
            for name, parts in chunks.items()}


def collect_layer_inputs(ctx: LowerContext) -> dict[str, np.ndarray]:
    """Float NHWC input activations of every refinable layer (after any equalization)."""
    wanted = {node.name: node.inputs[0] for node in ctx.graph.nodes if node.op in REFINABLE}
    if not wanted:
        return {}
    acts = sample_activations(ctx, sorted(set(wanted.values())))
    result = {}
    for node_name, value_name in wanted.items():
        data = acts[value_name]
        if value_name in ctx.activation_scales:   # cross-layer equalization rescaled its channels
            data = data * ctx.activation_scales[value_name]
        result[node_name] = data
    log.info("collected float inputs of %d layers", len(result))
    return result
