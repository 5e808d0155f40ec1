"""The weights of a plan's weighted layers in their ONNX nodes' terms, for the QDQ and AIMET exports.

The plan holds its integers (refined or not: AdaRound, clipping, bias correction) in the runtime layout;
``fixpoint.interop.weight_layout`` traces each element back to its place in the ONNX initializer, and
every integer is checked to be a rounding of the model's weight before it is exported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from fixpoint.interop.qdq_import import QdqError
from fixpoint.interop.weight_layout import layout_maps
from fixpoint.lower.ops_weighted import DATAPATH_WEIGHT_BITS
from fixpoint.lower.weights import round_half_away, weight_qmax
from fixpoint.ops import registry
from fixpoint.plan import Plan

__all__ = ["WEIGHT_NODES", "WeightExport", "WeightedLayer", "dequantized_bias", "dequantized_weight"]

log = logging.getLogger(__name__)

RUNTIME_AXIS: dict[str, int] = registry.runtime_values("weight_channel_axis")
# ONNX nodes whose weight input a DequantizeLinear with per-output-channel scales can carry. A plan layer
# lowered from another node (an Add / Mul with a constant operand, run as a per-element depthwise) has one
# scale per element, which QDQ has no axis for: that constant stays float in the export (docs/interop.md).
WEIGHT_NODES = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def _onnx_weight_axis(node: onnx.NodeProto) -> int:
    """Output-channel axis of the weight input of an ONNX node (Conv [O, I, kh, kw], Gemm by transB)."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return 0 if node.op_type == "Conv" or attrs.get("transB", 0) else 1


@dataclass
class WeightedLayer:
    """A weighted plan layer in its ONNX node's terms: the plan's integers in the ONNX weight layout,
    per-channel scales and int32 bias in ONNX channel order (``axis``), and how many integers are not
    the nearest rounding of weight / scale (AdaRound's choices)."""

    layer: Any
    node: onnx.NodeProto
    q: np.ndarray
    scale: np.ndarray
    axis: int
    bias_name: str  # the bias initializer; "" with ``bias``: a bias input the export adds
    bias: np.ndarray | None
    refined: int


def _attr(node: onnx.NodeProto, name: str, default: Any) -> Any:
    return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), default)


def _expand(v: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    if v.size == 1:
        return v.reshape([1] * ndim)
    shape = [1] * ndim
    shape[axis] = -1
    return v.reshape(shape)


def _reorder(per_runtime_channel: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Values per runtime channel placed at their ONNX channel (``order[c]``)."""
    if per_runtime_channel.size == 1:
        return per_runtime_channel
    out = np.empty_like(per_runtime_channel)
    out[order] = per_runtime_channel
    return out


class WeightExport:
    """The weighted layers of ``plan`` mapped onto ``model`` (the model the plan was made from)."""

    def __init__(self, plan: Plan, model: onnx.ModelProto, model_path: str) -> None:
        self.plan, self.model, self.model_path = plan, model, model_path
        self.nodes = {n.name: n for n in model.graph.node}
        self.inits = {t.name: t for t in model.graph.initializer}
        self.report = plan.meta.get("lowering", {}).get("layers", {})
        self._weighted: list[WeightedLayer] | None = None

    def layers(self) -> list[WeightedLayer]:
        """Every weighted layer with its plan integers, scales and bias in the ONNX layout (made once)."""
        if self._weighted is None:
            found = list(self._weighted_nodes())
            wanted = {(layer.name, 1): node.input[1] for layer, node, _ in found}
            for layer, node, _ in found:
                bias = self._bias_init(layer, node)
                if bias:
                    wanted[layer.name, 2] = bias
            maps = layout_maps(self.model, wanted) if found else {}
            self._weighted = [self._in_onnx_layout(layer, node, scale, maps) for layer, node, scale in found]
        return self._weighted

    def _weighted_nodes(self):
        """(layer, ONNX node, per-channel scales) of every weighted layer QDQ can carry."""
        for layer in self.plan.layers:
            if "weights" not in layer.arrays:
                continue
            node = self.nodes.get(layer.source_nodes[0] if layer.source_nodes else layer.name)
            if node is not None and node.op_type not in WEIGHT_NODES:
                log.info(
                    "layer '%s': the constant operand of %s node '%s' stays float (per-element scales)",
                    layer.name,
                    node.op_type,
                    node.name,
                )
                continue
            scale = np.asarray(self.report.get(layer.name, {}).get("weight_scale", []), np.float64)
            if node is None or len(node.input) < 2 or node.input[1] not in self.inits or not scale.size:
                raise QdqError(
                    f"layer '{layer.name}': no weight of {self.model_path} to carry its integers "
                    f"(export from the model the plan was made from)"
                )
            yield layer, node, scale

    def _bias_init(self, layer, node: onnx.NodeProto) -> str:
        """The initializer holding the layer's float bias: the node's own (Conv, Gemm) or the constant of
        an Add fused into the layer (MatMul + Add); "" when it has none."""
        if node.op_type != "MatMul":
            return node.input[2] if len(node.input) > 2 and node.input[2] in self.inits else ""
        for name in layer.source_nodes[1:]:
            add = self.nodes.get(name)
            if add is not None and add.op_type == "Add":
                return next((i for i in add.input if i in self.inits), "")
        return ""

    def _bias(self, layer, node: onnx.NodeProto, order: np.ndarray, maps) -> tuple[str, np.ndarray | None]:
        """(initializer, the plan's int32 bias in its layout); ("", None) when the plan's bias is zero and
        the model has none. A bias the model has no place for or normalization changed is refused."""
        plan_b = np.asarray(layer.arrays["bias"]).astype(np.int32) if "bias" in layer.arrays else None
        name = self._bias_init(layer, node)
        if plan_b is None or (not name and not np.any(plan_b)):
            return "", None
        if not name:
            if node.op_type == "MatMul" or _attr(node, "beta", 1.0) != 1.0:
                raise QdqError(
                    f"layer '{layer.name}': the plan has a bias (bias correction) but {node.op_type} node "
                    f"'{node.name}' has no bias input to carry it"
                )
            return "", _reorder(plan_b, order)  # a new bias input of the node (export_qdq)
        layout = maps.get((layer.name, 2))
        if layout is None:
            raise QdqError(
                f"layer '{layer.name}': the bias '{name}' in {self.model_path} is changed by normalization (such "
                f"as Gemm's beta or a folded BatchNormalization); export from a model with those folded"
            )
        return name, layout.to_onnx(plan_b)

    def _in_onnx_layout(self, layer, node, scale: np.ndarray, maps) -> WeightedLayer:
        """The plan's own integers (refined or not) moved to the ONNX weight layout, after checking that
        they are a rounding of the model's weights (nearest, AdaRound's floor/ceil or clipped)."""
        layout = maps.get((layer.name, 1))
        if layout is None:
            raise QdqError(
                f"layer '{layer.name}': the weights in {self.model_path} are changed by normalization (such as "
                f"a folded BatchNormalization), so the plan's integers have no place in them; export from a "
                f"model with those folded"
            )
        axis, runtime_axis = _onnx_weight_axis(node), RUNTIME_AXIS[layer.op]
        plan_w = np.asarray(layer.arrays["weights"]).astype(np.int64)
        w = layout.to_runtime(numpy_helper.to_array(self.inits[node.input[1]]).astype(np.float64))
        ratio = w / _expand(scale, plan_w.ndim, runtime_axis)
        hi = weight_qmax(DATAPATH_WEIGHT_BITS[layer.datapath])
        # clipping (a clipped scale, the narrow range) saturates at the extremes; a given -2**(bits-1) too
        saturated = ((plan_w >= hi) & (ratio >= plan_w)) | ((plan_w <= -hi) & (ratio <= plan_w))
        # AdaRound picks floor or ceil, within one step of weight / scale
        rounded = (np.abs(plan_w - ratio) < 1 + 1e-9) | saturated
        if plan_w.shape != ratio.shape or not np.all(rounded):
            raise QdqError(
                f"layer '{layer.name}': the plan's weights are not a rounding of the weights in {self.model_path} "
                f"(equalized, or made from another model); export from the model the plan was made from"
            )
        # ONNX channel of each runtime channel: scales and bias follow it (per-tensor scales need no map)
        order = layout.channel_map(runtime_axis, axis)
        if order is None:
            if scale.size > 1:
                raise QdqError(
                    f"layer '{layer.name}': the plan's output channels do not map to one axis of its ONNX weight"
                )
            order = np.arange(plan_w.shape[runtime_axis])
        bias_name, bias = self._bias(layer, node, order, maps)
        refined = int(np.count_nonzero((round_half_away(ratio) != plan_w) & ~saturated))
        return WeightedLayer(
            layer, node, layout.to_onnx(plan_w), _reorder(scale, order), axis, bias_name, bias, refined
        )


def dequantized_weight(graph: onnx.GraphProto, item: WeightedLayer, exact: dict[str, Any]) -> list[onnx.NodeProto]:
    """The weight initializer becomes the plan's integers behind a per-channel DequantizeLinear."""
    wname, scale = item.node.input[1], item.scale
    _replace_init(graph, wname, f"{wname}_quantized", item.q.astype(np.int8))
    graph.initializer.extend(
        [
            numpy_helper.from_array(scale.astype(np.float32), f"{wname}_scale"),
            numpy_helper.from_array(np.zeros(scale.size, np.int8), f"{wname}_zero_point"),
        ]
    )
    exact[wname] = [float(v) for v in scale]
    inputs = [f"{wname}_quantized", f"{wname}_scale", f"{wname}_zero_point"]
    return [helper.make_node("DequantizeLinear", inputs, [wname], axis=item.axis)]


def dequantized_bias(graph: onnx.GraphProto, item: WeightedLayer, s_in: float) -> list[onnx.NodeProto]:
    """The plan's int32 bias (bias correction included) behind DequantizeLinear with scale s_in * s_w; a
    node without a bias input gets one."""
    bname = item.bias_name
    if not bname:
        bname = f"{item.node.name or item.node.output[0]}_bias"
        item.node.input.extend([""] * (2 - len(item.node.input)) + [bname])
    else:
        graph.initializer.remove(next(t for t in graph.initializer if t.name == bname))
    bias = item.bias
    # per channel along the bias's one non-unit axis (an Add's [1, N] constant too)
    axis = next((k for k, n in enumerate(bias.shape) if n > 1), 0)
    bscale = (s_in * np.broadcast_to(item.scale, (bias.shape[axis] if bias.ndim else 1,))).astype(np.float32)
    graph.initializer.extend(
        [
            numpy_helper.from_array(bias, f"{bname}_quantized"),
            numpy_helper.from_array(bscale, f"{bname}_scale"),
            numpy_helper.from_array(np.zeros(bscale.size, np.int32), f"{bname}_zero_point"),
        ]
    )
    inputs = [f"{bname}_quantized", f"{bname}_scale", f"{bname}_zero_point"]
    return [helper.make_node("DequantizeLinear", inputs, [bname], axis=axis)]


def _replace_init(graph: onnx.GraphProto, old: str, new: str, values: np.ndarray) -> None:
    kept = [t for t in graph.initializer if t.name != old]
    del graph.initializer[:]
    graph.initializer.extend(kept + [numpy_helper.from_array(values, new)])
