"""Out: a plan's quantization as an ONNX QDQ model, AIMET encodings (1.0.0) or the CTable.

* ``qdq``: the float ONNX model the plan was made from with a QuantizeLinear/DequantizeLinear pair
  on every plan tensor (the plan's scale and zero point, int8/int16), the weights of every weighted
  layer stored as the plan's integers behind DequantizeLinear (per output channel), biases as the
  plan's int32 behind DequantizeLinear with scale ``s_in * s_w``. QDQ scales are float32; the exact
  float64 scales the plan uses ride along in the model's metadata (``fixpoint.exact_scales``) so that
  ``fixpoint calibrate`` of the exported model gives back the identical plan.
* ``aimet``: encodings 1.0.0 (activation and per-channel parameter encodings; offsets on the unsigned
  integer, ``offset = -(zp + 2**(bits-1))``).
* ``ctable``: the CTable (docs/ctable.md).

Weights are matched to the model by the layer's main ONNX node and exported as the plan's own integers
(refined by AdaRound / clipping / bias correction or not) in the ONNX layout (``export_weights``); the model
must be the one the plan was made from, with its weights not changed by normalization's arithmetic (fold
BatchNormalization first, e.g. with onnxruntime's ``quant_pre_process``). AIMET encodings carry scales
only, so a plan whose integers are not the nearest rounding is refused there. docs/interop.md lists what
QDQ cannot express.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from fixpoint.interop.qdq_import import QdqError
from fixpoint.interop.export_weights import WeightedLayer, WeightExport, dequantized_bias, dequantized_weight
from fixpoint.lower.widths import REQUANTIZE
from fixpoint.plan import Plan

log = logging.getLogger(__name__)

EXACT_SCALES_KEY = "fixpoint.exact_scales"
MS_DOMAIN = "com.microsoft"
FORMATS = ("qdq", "aimet", "ctable")
LOWBIT_DATAPATHS = ("s2", "s1")
ONNX_INT = {8: TensorProto.INT8, 16: TensorProto.INT16}


def _bits(dtype: str) -> int:
    return 16 if dtype == "int16" else 8


@dataclass
class ActivationValue:
    """An ONNX activation and its plan tensors: ``made`` at its producer's width, ``copy`` the requantized
    copy at the other width (mixed-width plans; a graph output made at the other width has ``made`` named
    ``<value>@int16`` and ``copy`` the plan output), ``copy_readers`` the ONNX nodes reading the copy."""

    value: str
    made: Any = None
    copy: Any = None
    copy_readers: set[str] = field(default_factory=set)


class _Exporter:
    def __init__(self, plan: Plan, model: onnx.ModelProto, model_path: str) -> None:
        self.plan, self.model, self.model_path = plan, model, model_path
        self.nodes = {n.name: n for n in model.graph.node}
        self.inits = {t.name: t for t in model.graph.initializer}
        self.report = plan.meta.get("lowering", {}).get("layers", {})
        self._weights = WeightExport(plan, model, model_path)

    def weighted(self) -> list[WeightedLayer]:
        """Every weighted layer with its plan integers, scales and bias in the ONNX layout (made once)."""
        return self._weights.layers()

    def activation_tensors(self):
        """Every plan tensor that quantizes an ONNX tensor: its own tensor and the requantized copy of
        another width (``<value>@int16``, mixed-width plans) alike."""
        values = {o for n in self.model.graph.node for o in n.output} | {i.name for i in self.model.graph.input}
        return [t for t in self.plan.tensors if (t.source or t.name) in values]

    def activation_values(self) -> list[ActivationValue]:
        """Per quantized ONNX value: the plan tensor its producer makes and the requantized copy, if any."""
        copies = {self.plan.tensors[la.output].name for la in self.plan.layers if la.op == REQUANTIZE}
        exported = {t.name for t in self.activation_tensors()}
        lost = sorted(copies - exported)
        if lost:  # a copy of a tensor the ONNX model does not have: QDQ has no edge to carry it
            raise QdqError(
                f"tensor '{lost[0]}': a requantized copy of a plan tensor that is no tensor of {self.model_path}; "
                f"QDQ cannot carry it (put the layers reading it at its producer's width)"
            )
        made: dict[str, ActivationValue] = {}
        for t in self.activation_tensors():
            value = t.source or t.name
            entry = made.setdefault(value, ActivationValue(value))
            if t.name in copies:
                entry.copy = t
            else:
                entry.made = t
        for entry in made.values():
            if entry.copy is not None:
                entry.copy_readers = self._copy_readers(entry)
        return [e for e in made.values() if e.made is not None]

    def _copy_readers(self, entry: ActivationValue) -> set[str]:
        """Names of the ONNX nodes reading ``entry.value`` that the plan runs on the requantized copy."""
        index = {t.name: i for i, t in enumerate(self.plan.tensors)}
        made_i, copy_i = index[entry.made.name], index[entry.copy.name]
        widths: dict[str, set[int]] = {}  # plan layer -> which of the two it reads
        for layer in self.plan.layers:
            for i in layer.inputs:
                if i in (made_i, copy_i) and layer.op != REQUANTIZE:
                    for node in [layer.name, *layer.source_nodes]:
                        widths.setdefault(node, set()).add(i)
        readers, unknown = set(), []
        for node in self.model.graph.node:
            if entry.value not in node.input:
                continue
            key = node.name or node.output[0]
            read = widths.get(key) or next(
                (w for name, w in widths.items() if name.startswith(f"{key}.")), None
            )  # a layer named after the node: 'softmax.rows' reads for 'softmax'
            if read is None:
                unknown.append(key)
            elif read == {copy_i}:
                readers.add(key)
            elif read != {made_i}:
                unknown.append(key)
        if unknown:
            raise QdqError(
                f"tensor '{entry.value}': the plan reads it at {entry.made.dtype} and {entry.copy.dtype}; cannot "
                f"tell at which width ONNX node(s) {', '.join(unknown)} read it"
            )
        return readers


def export_qdq(plan: Plan, model_path: str | Path) -> onnx.ModelProto:
    model = onnx.load(str(model_path))
    ex = _Exporter(plan, model, str(model_path))
    graph = model.graph
    exact: dict[str, Any] = {}
    new_nodes: list[onnx.NodeProto] = []
    for item in ex.weighted():
        new_nodes += dequantized_weight(graph, item, exact)
        if item.bias is not None:
            new_nodes += dequantized_bias(graph, item, plan.tensors[item.layer.inputs[0]].scale)
    for entry in ex.activation_values():
        new_nodes += _quantize_activation(graph, entry)
        exact[entry.value] = float(entry.made.scale)
        if entry.copy is not None:
            exact[f"{entry.value}@{entry.copy.dtype}"] = float(entry.copy.scale)
    kept = list(graph.node)
    del graph.node[:]
    graph.node.extend(new_nodes + kept)
    _topological_sort(graph)
    _int16_in_contrib_domain(model)
    helper.set_model_props(
        model, {**{p.key: p.value for p in model.metadata_props}, EXACT_SCALES_KEY: json.dumps(exact)}
    )
    return model


def _qdq_pair(graph: onnx.GraphProto, t, x: str, source: str, result: str) -> list[onnx.NodeProto]:
    """QuantizeLinear/DequantizeLinear of ``source`` into ``result`` with plan tensor ``t``'s parameters
    (initializers and node outputs named after ``x``)."""
    bits = _bits(t.dtype)
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(t.scale, np.float32), f"{x}_scale"),
            numpy_helper.from_array(np.array(t.zero_point, np.int8 if bits == 8 else np.int16), f"{x}_zero_point"),
        ]
    )
    params = [f"{x}_scale", f"{x}_zero_point"]
    return [
        helper.make_node("QuantizeLinear", [source, *params], [f"{x}_QuantizeLinear_Output"]),
        helper.make_node("DequantizeLinear", [f"{x}_QuantizeLinear_Output", *params], [result]),
    ]


def _quantize_activation(graph: onnx.GraphProto, entry: ActivationValue) -> list[onnx.NodeProto]:
    """Q/DQ on the value with its producer's parameters; its consumers read the DequantizeLinear output (a
    graph output keeps its name). A requantized copy is a second Q/DQ pair of the other width on that output,
    read by the nodes the plan runs on the copy (QDQ's form of a ``requantize`` layer); a graph output made
    at the other width ends in the copy (the plan output, at the base width)."""
    x, made, copy = entry.value, entry.made, entry.copy
    is_output = x in {o.name for o in graph.output}
    first = f"{x}_DequantizeLinear_Output"
    second = f"{x}_{copy.dtype}_DequantizeLinear_Output" if copy is not None else ""
    if is_output:
        source = f"{x}_float"
        if copy is None:
            first = x
        else:
            second = x
        for node in graph.node:
            node.output[:] = [source if o == x else o for o in node.output]
    else:
        source = x
    for node in graph.node:
        reads = second if (node.name or node.output[0]) in entry.copy_readers else first
        node.input[:] = [reads if i == x else i for i in node.input]
    nodes = _qdq_pair(graph, made, x, source, first)
    if copy is not None:
        nodes += _qdq_pair(graph, copy, f"{x}@{copy.dtype}", first, second)
    return nodes


def _int16_in_contrib_domain(model: onnx.ModelProto) -> None:
    """16-bit QuantizeLinear/DequantizeLinear need opset 21; on an older model they are onnxruntime's
    ``com.microsoft`` ones (what its own quantizer writes), since raising the opset would change other ops
    (e.g. ReduceMean's axes from opset 18)."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 21)
    if opset >= 21:
        return
    int16 = {t.name for t in model.graph.initializer if t.data_type == TensorProto.INT16}
    used = False
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear") and len(node.input) > 2 and node.input[2] in int16:
            node.domain, used = MS_DOMAIN, True
    if used and not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))


def _topological_sort(graph: onnx.GraphProto) -> None:
    """Order the nodes so every input is made first, keeping the given order wherever it already holds:
    the model's own nodes keep their order (so a re-import lowers its layers in the plan's order) and each
    inserted Q/DQ node lands right after what it reads."""
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        at = next((k for k, n in enumerate(pending) if all(i in ready for i in n.input)), None)
        if at is None:
            raise QdqError(f"graph '{graph.name}': cannot order the exported nodes (a cycle?)")
        node = pending.pop(at)
        ordered.append(node)
        ready.update(node.output)
    del graph.node[:]
    graph.node.extend(ordered)


def _aimet_entry(name: str, scale: list[float], zero_points: list[int], bits: int, per_channel: bool) -> dict:
    half = 1 << (bits - 1)
    return {
        "name": name,
        "dtype": "INT",
        "enc_type": "PER_CHANNEL" if per_channel else "PER_TENSOR",
        "bw": bits,
        "is_sym": all(z == 0 for z in zero_points),
        "scale": scale,
        "offset": [-(z + half) for z in zero_points],
    }


def _refuse_two_widths(ex: _Exporter) -> None:
    """AIMET encodings hold one encoding per tensor name (1.0.0 and 2.0.0 alike; 0.6.1 keys by name too),
    so a tensor a mixed-width plan holds at int8 and int16 has no faithful entry: refused, naming it."""
    for entry in ex.activation_values():
        if entry.copy is not None:
            raise QdqError(
                f"tensor '{entry.value}': the plan holds it at {entry.made.dtype} and {entry.copy.dtype} "
                f"(requantized copy '{entry.copy.name}'); AIMET encodings give one encoding per tensor, so a "
                f"mixed-width plan cannot be written as AIMET encodings: export --format qdq (a second "
                f"Q/DQ pair carries the copy) or ctable"
            )


def _aimet_weights(ex: _Exporter) -> list[WeightedLayer]:
    """The weighted layers, refusing what an encoding cannot carry: encodings hold scales only and their
    consumer (AIMET, ``fixpoint calibrate --encodings``) rounds the float weights again, losing AdaRound's
    choices (a clipped scale survives: it is in the encoding) and any ternary / binary rule."""
    items = ex.weighted()
    for item in items:
        if item.layer.datapath in LOWBIT_DATAPATHS:
            raise QdqError(
                f"layer '{item.layer.name}': {item.layer.datapath} weights (ternary / binary) are no rounding "
                f"of weight / scale that an AIMET encoding describes: export --format qdq (carries the integers)"
            )
        if item.refined:
            raise QdqError(
                f"layer '{item.layer.name}': {item.refined} of the plan's weights are refined (adaptive rounding) "
                f"away from the nearest rounding; AIMET encodings carry scales, not integers, so a consumer would "
                f"round them again: export --format qdq (carries the integers), or calibrate with "
                f"--no-adaptive-rounding"
            )
    return items


def export_aimet(plan: Plan, model_path: str | Path) -> dict[str, Any]:
    """AIMET encodings 1.0.0 of the plan's activations and weights."""
    model = onnx.load(str(model_path))
    ex = _Exporter(plan, model, str(model_path))
    _refuse_two_widths(ex)
    params = [
        _aimet_entry(
            item.node.input[1],
            [float(v) for v in item.scale],
            [0] * item.scale.size,
            4 if item.layer.datapath == "s4" else 8,
            item.scale.size > 1,
        )
        for item in _aimet_weights(ex)
    ]
    acts = [
        _aimet_entry(t.name, [float(t.scale)], [int(t.zero_point)], _bits(t.dtype), False)
        for t in ex.activation_tensors()
    ]
    # quantizer_args: the default bit widths (AIMET's loader ignores them; tools/check_aimet_encodings.py builds
    # its QuantizationSimModel from them, so all-int4 weights must say 4)
    return {
        "version": "1.0.0",
        "activation_encodings": acts,
        "param_encodings": params,
        "excluded_layers": [],
        "quantizer_args": {
            "activation_bitwidth": 16 if any(t.dtype == "int16" for t in plan.tensors) else 8,
            "param_bitwidth": max((p["bw"] for p in params), default=8),
            "per_channel_quantization": any(len(p["scale"]) > 1 for p in params),
            "quant_scheme": "fixpoint",
        },
    }


def exact_scales(model: onnx.ModelProto) -> dict[str, Any]:
    """The float64 scales a Fixpoint export stored next to its float32 QDQ scales ({} otherwise)."""
    for prop in model.metadata_props:
        if prop.key == EXACT_SCALES_KEY:
            try:
                data = json.loads(prop.value)
            except json.JSONDecodeError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}
