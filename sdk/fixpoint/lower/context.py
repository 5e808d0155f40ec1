"""Shared state of one lowering run and the helpers every op lowering uses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fixpoint.ir import Graph, ModelError, Node
from fixpoint.plan import PlanTensor, RequantProfile
from fixpoint.quant import TensorQuant

from .options import LowerOptions
from .scales import ScaleRegisters, quantize_scale, require_representable
from .weights import round_half_away

DTYPE_OF_BITS = {8: "int8", 16: "int16"}
QRANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}


@dataclass
class LayerReport:
    """What lowering one layer cost in precision (read by the CTable)."""

    name: str
    op: str
    datapath: str
    engine: str = "default"
    engine_reason: str = ""  # one line: why this engine
    scale_errors: dict[str, float] = field(default_factory=dict)  # what -> max relative error
    weight_bits: int = 0
    weight_sqnr_db: float | None = None
    bias_saturated: int = 0
    refinements: dict[str, Any] = field(default_factory=dict)
    constants: dict[str, dict[str, Any]] = field(default_factory=dict)  # quantized constant operands
    notes: list[str] = field(default_factory=list)
    # real weight scale per output channel (or one): what `fixpoint export` writes into QDQ / encodings
    weight_scale: list[float] = field(default_factory=list)
    # recurrent layers: per-gate weight scales, gate and cell quantization (CTable "recurrent")
    recurrent: dict[str, Any] = field(default_factory=dict)


@dataclass
class LowerReport:
    layers: dict[str, LayerReport] = field(default_factory=dict)
    tensor_rules: dict[str, str] = field(default_factory=dict)  # tensor -> how its qparams were set
    options: dict[str, Any] = field(default_factory=dict)
    # equalized activations: per-channel factor f with plan value = f * float model value
    activation_scales: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layers": {k: asdict(v) for k, v in self.layers.items()},
            "tensor_rules": dict(self.tensor_rules),
            "options": dict(self.options),
            "activation_scales": dict(self.activation_scales),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LowerReport":
        return cls(
            layers={k: LayerReport(**v) for k, v in data.get("layers", {}).items()},
            tensor_rules=dict(data.get("tensor_rules", {})),
            options=dict(data.get("options", {})),
            activation_scales=dict(data.get("activation_scales", {})),
        )


@dataclass
class QParams:
    scale: float
    zero_point: int
    dtype: str

    @property
    def qmin(self) -> int:
        return QRANGE[self.dtype][0]

    @property
    def qmax(self) -> int:
        return QRANGE[self.dtype][1]


@dataclass
class LowerContext:
    graph: Graph
    quant: dict[str, TensorQuant]
    profile: RequantProfile
    options: LowerOptions
    act_bits: int  # the width of the layer being lowered (the base width between layers)
    tensors: list[PlanTensor] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    report: LowerReport = field(default_factory=LowerReport)
    # float weights replacing the graph's constants (equalization); never mutate the graph
    weight_overrides: dict[str, np.ndarray] = field(default_factory=dict)
    # per-channel factors cross-layer equalization applied to activations (new = old * factor)
    activation_scales: dict[str, np.ndarray] = field(default_factory=dict)
    equalized: set[str] = field(default_factory=set)  # values whose calibration was rescaled
    equalized_pairs: dict[str, str] = field(default_factory=dict)  # first layer -> second layer
    # float input activations per layer for the data-driven refinements
    layer_inputs: dict[str, np.ndarray] = field(default_factory=dict)
    # float and quantized-network activations advanced alongside lowering (fixpoint.lower.sequential)
    sequential: Any = None
    # requantizers of the engines layers went to, where they differ from ``profile`` (plan.engine_profiles)
    engine_profiles: dict[str, RequantProfile] = field(default_factory=dict)
    base_bits: int = 0  # the plan's width: graph inputs and outputs (0: act_bits)
    # value -> plan tensor the layer being lowered reads instead (its input requantized to its width)
    views: dict[str, int] = field(default_factory=dict)
    produced_bits: dict[str, int] = field(default_factory=dict)  # value -> width of its producer
    converted: dict[tuple[str, int], int] = field(default_factory=dict)  # (value, bits) -> requantized copy

    def __post_init__(self) -> None:
        self.base_bits = self.base_bits or self.act_bits

    @property
    def act_dtype(self) -> str:
        return DTYPE_OF_BITS[self.act_bits]

    def quant_for(self, bits: int) -> dict[str, TensorQuant]:
        """The calibration of ``bits``-bit activations: ``quant`` at the base width, else the options'."""
        if bits == self.base_bits:
            return self.quant
        quant = self.options.activation_quant.get(bits)
        if quant is None:
            raise ModelError(
                f"{bits}-bit activations (activation bits override) need a {bits}-bit calibration "
                f"of the same tensors in LowerOptions.activation_quant"
            )
        return quant

    # ---- tensors ---------------------------------------------------------
    def calibrated_qparams(self, value_name: str, consumer: str = "", bits: int | None = None) -> QParams:
        """The calibrated quantization of a value at ``bits`` (default: the current layer's width)."""
        bits = bits or self.act_bits
        tq = self.quant_for(bits).get(value_name)
        if tq is None:
            where = f" (used by layer '{consumer}')" if consumer else ""
            raise ModelError(f"tensor '{value_name}'{where} has no calibration entry")
        if tq.bits != bits:
            raise ModelError(
                f"tensor '{value_name}' was calibrated for {tq.bits}-bit activations but the "
                f"plan uses {bits}-bit activations"
            )
        if not (np.isfinite(tq.scale) and tq.scale > 0):
            raise ModelError(f"tensor '{value_name}': calibrated scale {tq.scale} is not a positive number")
        qp = QParams(float(tq.scale), int(tq.zero_point), DTYPE_OF_BITS[bits])
        if bits == 16 and qp.zero_point != 0:
            raise ModelError(
                f"tensor '{value_name}': 16-bit activations must be symmetric (zero point 0), "
                f"calibration gave {qp.zero_point}"
            )
        if not qp.qmin <= qp.zero_point <= qp.qmax:
            raise ModelError(f"tensor '{value_name}': zero point {qp.zero_point} outside [{qp.qmin}, {qp.qmax}]")
        return qp

    def add_tensor(self, value_name: str, qp: QParams, rule: str = "calibrated", name: str = "") -> int:
        """A plan tensor for graph value ``value_name`` (named ``name``, default the value's name)."""
        value = self.graph.values.get(value_name)
        if value is None:
            raise ModelError(f"tensor '{value_name}' is not a value of graph '{self.graph.name}'")
        if len(value.shape) != 4:
            raise ModelError(f"tensor '{value_name}': expected a 4-D NHWC shape, got {value.shape}")
        self.tensors.append(
            PlanTensor(
                name=name or value_name,
                shape=[int(d) for d in value.shape],
                dtype=qp.dtype,
                scale=qp.scale,
                zero_point=qp.zero_point,
                source=value_name,
                source_layout=value.source_layout or "NHWC",
            )
        )
        self.report.tensor_rules[name or value_name] = rule
        if name:  # a requantized copy: the value itself stays where its producer put it
            return len(self.tensors) - 1
        self.index[value_name] = len(self.tensors) - 1
        return self.index[value_name]

    def tensor_index(self, value_name: str) -> int:
        """The plan tensor the current layer reads for ``value_name`` (its requantized copy, if any)."""
        if value_name in self.views:
            return self.views[value_name]
        if value_name not in self.index:
            raise ModelError(f"tensor '{value_name}' is used before it is produced")
        return self.index[value_name]

    def tensor(self, value_name: str) -> PlanTensor:
        return self.tensors[self.tensor_index(value_name)]

    def qparams(self, value_name: str) -> QParams:
        t = self.tensor(value_name)
        return QParams(t.scale, t.zero_point, t.dtype)

    # ---- constants -------------------------------------------------------
    def const(self, node: Node, position: int, what: str) -> np.ndarray:
        if position >= len(node.inputs):
            raise ModelError(f"layer '{node.name}' ({node.op}): missing {what} input")
        name = node.inputs[position]
        if name in self.weight_overrides:
            return self.weight_overrides[name]
        value = self.graph.values.get(name)
        if value is None or value.data is None:
            raise ModelError(f"layer '{node.name}' ({node.op}): {what} '{name}' must be a constant")
        return np.asarray(value.data, dtype=np.float64)

    # ---- registers -------------------------------------------------------
    def layer_report(self, node: Node) -> LayerReport:
        return self.report.layers[node.name]

    def registers(self, node: Node, what: str, scale, acc_bits: int = 32) -> ScaleRegisters:
        """Registers for a real scale; records the error and enforces the tolerance."""
        scale = np.atleast_1d(np.asarray(scale, dtype=np.float64))
        if np.any(scale < 0) or not np.all(np.isfinite(scale)):
            raise ModelError(
                f"layer '{node.name}': {what} scale must be finite and non-negative, "
                f"got {scale[~(scale >= 0) | ~np.isfinite(scale)][0]}"
            )
        regs = quantize_scale(scale, self.profile, acc_bits)
        require_representable(regs, node.name, what, self.profile, self.options.max_scale_error, acc_bits)
        self.layer_report(node).scale_errors[what] = regs.max_rel_error
        return regs


def act_clamp(node: Node, qp: QParams) -> tuple[int, int]:
    """The node's fused activation as integer bounds: zp + round(bound / scale), within the dtype."""
    act, act_range = node.attrs.get("act", "none"), node.attrs.get("act_range")
    lo, hi = qp.qmin, qp.qmax
    if act in ("none", "", None):
        return lo, hi
    if act == "relu" and act_range is None:
        act_range = [0.0, float("inf")]
    if act not in ("relu", "clip") or act_range is None or len(act_range) != 2:
        raise ModelError(
            f"layer '{node.name}': fused activation '{act}' with range {act_range} is not "
            f"one of none, relu, clip [lo, hi]"
        )
    real_lo, real_hi = float(act_range[0]), float(act_range[1])
    if np.isfinite(real_lo):
        lo = int(np.clip(qp.zero_point + round_half_away(real_lo / qp.scale), qp.qmin, qp.qmax))
    if np.isfinite(real_hi):
        hi = int(np.clip(qp.zero_point + round_half_away(real_hi / qp.scale), qp.qmin, qp.qmax))
    return lo, max(lo, hi)
