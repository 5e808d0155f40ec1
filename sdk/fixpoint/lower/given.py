"""Weights and biases a QDQ model (or an encodings file) gives as integers: taken as they are.

``LowerOptions.given_params`` maps an ONNX node name to the parameters it reads
(:class:`fixpoint.interop.qdq_import.GivenParam`). A weighted layer whose own node (or a node
fused into it) has a given weight uses those integers and scales instead of rounding the float
weights again. The float weights of the normalized graph are ``scale * q`` in the runtime layout,
so dividing by the given per-channel scale recovers every integer to within float32 rounding;
anything further away means the normalizer changed the weights (a folded BatchNormalization),
and the layer falls back to ordinary quantization with a note. Zero points other than 0 and
scales the board cannot use per channel fall back the same way (docs/interop.md).
"""

from __future__ import annotations

import logging

import numpy as np

from fixpoint.ir import Node

from .context import LowerContext
from .weights import QuantizedWeights

log = logging.getLogger(__name__)

# |w / scale - q| above this means the float weight is not the given integer any more
_RECOVERY_TOLERANCE = 1e-3


def _given(ctx: LowerContext, node: Node) -> list:
    given = ctx.options.given_params or {}
    return [p for name in (node.name, *node.fused) for p in given.get(name, [])]


def _note(ctx: LowerContext, node: Node, text: str) -> None:
    ctx.layer_report(node).notes.append(text)
    log.info("layer '%s': %s", node.name, text)


def _expand(v: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = -1
    return v.reshape(shape)


def given_weights(
    ctx: LowerContext, node: Node, w: np.ndarray, axis: int, bits: int, per_channel: bool, scheme: str = "symmetric"
) -> QuantizedWeights | None:
    """The model's own integer weights in the runtime layout, or None (then quantize as usual)."""
    channels = w.shape[axis]
    for p in _given(ctx, node):
        if p.values.size != w.size or p.scale.size not in (1, channels) or p.bits == 32:
            continue
        if scheme != "symmetric":
            _note(
                ctx,
                node,
                f"given weight scales of '{p.name}' are not powers of two and the board shifts only; "
                f"quantized again ({scheme})",
            )
            return None
        if np.any(p.zero_point != 0):
            _note(
                ctx,
                node,
                f"given weights '{p.name}' have a zero point; the kernels take symmetric weights, "
                "so they were quantized again",
            )
            return None
        if p.scale.size > 1 and not per_channel:
            _note(
                ctx,
                node,
                f"given per-channel weight scales of '{p.name}' need per-channel registers, "
                "which the board or the options do not have; quantized again per tensor",
            )
            return None
        scale = np.broadcast_to(p.scale, (channels,)).astype(np.float64) if per_channel else p.scale
        ratio = w / _expand(scale, w.ndim, axis) if scale.size > 1 else w / float(scale[0])
        q = np.rint(ratio)
        if np.max(np.abs(ratio - q), initial=0.0) > _RECOVERY_TOLERANCE:
            _note(
                ctx,
                node,
                f"weights differ from the given integers of '{p.name}' (changed by normalization); quantized again",
            )
            return None
        limit = 1 << (bits - 1)
        if np.any(q < -limit) or np.any(q >= limit):
            _note(ctx, node, f"given weights of '{p.name}' do not fit the {bits}-bit datapath; quantized again")
            return None
        ctx.layer_report(node).refinements["given_weights"] = {
            "source": p.name,
            "bits": p.bits,
            "per_channel": bool(p.scale.size > 1),
        }
        return QuantizedWeights(q.astype(np.int8), np.asarray(scale, dtype=np.float64), axis, bits)
    return None


def given_bias(ctx: LowerContext, node: Node, b: np.ndarray, bias_scale: np.ndarray, dtype: type) -> np.ndarray | None:
    """The model's int32 bias when its scale is the layer's accumulator scale, else None."""
    for p in _given(ctx, node):
        if p.bits != 32 or p.values.size != b.size or np.any(p.zero_point != 0):
            continue
        wanted = np.broadcast_to(np.asarray(bias_scale, np.float64), b.shape)
        given = np.broadcast_to(p.scale, b.shape)
        # float32 scales in the file against the float64 product s_in * s_w: equal to float32 precision
        if not np.allclose(given, wanted, rtol=1e-6, atol=0.0):
            _note(ctx, node, f"given bias '{p.name}' has scale != input scale x weight scale; quantized again")
            return None
        return p.values.reshape(b.shape).astype(dtype)
    return None
