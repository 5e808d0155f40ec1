"""Per-tensor int8 / int16 choice from the measured error (docs/calibration.md, "int8 or int16 per tensor").

The plan is lowered twice from the same statistics, with 8-bit and with 16-bit activations, and both are
simulated bit-exactly on calibration samples next to the float graph (``run_normalized``). For every layer
output the SQNR of each width against float is measured; a tensor is chosen int16 when its int8 SQNR is
below ``threshold_db`` and int16 improves it by at least ``margin_db``, and the reason is kept per tensor
("ln out int16: int8 SQNR 18.2 dB < 25"). A layer whose op has no s16 kernel (lstm, gru) keeps int8.

The choice is applied: ``fixpoint.pipeline`` lowers the plan with the int16 layers as
``LowerOptions.activation_bits_overrides`` (the 16-bit calibration of the same statistics beside it), and
``plan.meta["tensor_precision"]`` records what was applied, the requantize layers it took, or why not.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from ..ir import Graph
from ..lower import LowerOptions, lower
from ..normalize.float_exec import run_normalized, to_nhwc
from ..ops.runtime_ops import RUNTIME_OPS
from ..plan import Plan, RequantProfile
from ..sim.executor import quantize_input, run_plan

__all__ = [
    "TensorChoice",
    "choose_tensor_bits",
    "measure",
    "Precision",
    "as_meta",
    "precision_lines",
    "THRESHOLD_DB",
    "MARGIN_DB",
    "WATCHED_OPS",
]

log = logging.getLogger(__name__)

THRESHOLD_DB = 25.0  # int8 below this SQNR asks for int16 ...
MARGIN_DB = 6.0  # ... when int16 is at least this much better
SAMPLES = 16
# the ops whose presence makes run_calibration measure the choice (sequence / attention models)
WATCHED_OPS = ("layer_norm", "batch_matmul")


@dataclass
class TensorChoice:
    tensor: str
    layer: str
    op: str
    bits: int
    sqnr8: float
    sqnr16: float | None
    reason: str


@dataclass
class Precision:
    """The measured choice and the 16-bit calibration the int16 layers are lowered with."""

    choices: list[TensorChoice]
    quant16: dict | None

    @property
    def widths(self) -> dict[str, int]:
        """Layer -> 16 for the layers chosen int16 (``LowerOptions.activation_bits_overrides``)."""
        return {c.layer: 16 for c in self.choices if c.bits == 16}


def _sqnr(ref: np.ndarray, got: np.ndarray) -> float:
    noise = float(np.sum((ref - got) ** 2))
    power = float(np.sum(ref**2))
    if noise == 0:
        return float("inf")
    return 10 * np.log10(power / noise) if power > 0 else float("-inf")


def _simulate(plan: Plan, samples: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Every layer output of ``plan`` dequantized (stored NHWC float), by tensor name."""
    xs = [quantize_input(plan, x, i) for i, x in enumerate(samples)]
    captured = run_plan(plan, xs, capture=True).intermediates or {}
    out = {}
    for t in plan.tensors:
        if t.name in captured:
            out[t.name] = (captured[t.name].astype(np.float64) - t.zero_point) * t.scale
    return out


def _reason(name: str, bits: int, s8: float, s16: float | None, has16: bool, threshold: float, margin: float) -> str:
    if not has16:
        return f"{name} int8: no s16 kernel for this op (int8 SQNR {s8:.1f} dB)"
    if s16 is None:
        return f"{name} int8: no 16-bit parameters (int8 SQNR {s8:.1f} dB)"
    if bits == 16:
        return f"{name} int16: int8 SQNR {s8:.1f} dB < {threshold:g} (int16 {s16:.1f} dB)"
    if s8 >= threshold:
        return f"{name} int8: SQNR {s8:.1f} dB >= {threshold:g}"
    return f"{name} int8: SQNR {s8:.1f} dB < {threshold:g} but int16 gains only {s16 - s8:.1f} dB < {margin:g}"


def choose_tensor_bits(
    graph: Graph,
    quant8: dict,
    quant16: dict | None,
    profile: RequantProfile,
    lowering: LowerOptions,
    samples: list[np.ndarray],
    threshold_db: float | None = None,
    margin_db: float | None = None,
) -> list[TensorChoice]:
    """One choice per layer output of the 8-bit plan (``samples``: float inputs, one array per graph input;
    thresholds None: the module's THRESHOLD_DB / MARGIN_DB)."""
    threshold_db = THRESHOLD_DB if threshold_db is None else threshold_db
    margin_db = MARGIN_DB if margin_db is None else margin_db
    samples = [np.asarray(x, dtype=np.float32)[:SAMPLES] for x in samples]
    # the measurement compares uniform 8- and 16-bit plans of the ranges alone: the lowering's own per-layer
    # widths and the data-driven weight refinements (which need samples it does not pass) stay out
    options = replace(
        lowering,
        activation_bits=8,
        samples=None,
        activation_bits_overrides={},
        activation_quant={},
        equalize=False,
        bias_correction=False,
        adaptive_rounding=False,
    )
    plan8 = lower(graph, quant8, profile, options)
    got8 = _simulate(plan8, samples)
    got16: dict[str, np.ndarray] = {}
    if quant16 is not None:
        try:
            # int16 has no low-bit weight datapath: the 16-bit plan runs 8-bit weights (such layers stay int8)
            options16 = replace(options, activation_bits=16, weight_bits=8, weight_bits_overrides={})
            got16 = _simulate(lower(graph, quant16, profile, options16), samples)
        except Exception as exc:  # noqa: BLE001 - no 16-bit plan: every tensor keeps int8, with the reason
            log.info("tensor precision: no 16-bit plan (%s)", exc)
    runs = [
        run_normalized(graph, {n: x[i : i + 1] for n, x in zip(graph.inputs, samples)}) for i in range(len(samples[0]))
    ]  # the float executor takes one sample at a time
    floats = {name: np.concatenate([r[name] for r in runs]) for name in runs[0]}
    choices = []
    for layer in plan8.layers:
        t = plan8.tensors[layer.output]
        if t.name not in floats or t.name not in got8:
            continue
        ref = to_nhwc(np.asarray(floats[t.name], dtype=np.float64), t.source_layout)
        s8 = _sqnr(ref, got8[t.name])
        s16 = _sqnr(ref, got16[t.name]) if t.name in got16 else None
        has16 = "s16" in RUNTIME_OPS[layer.op].datapaths
        bits = 16 if has16 and s16 is not None and s8 < threshold_db and s16 - s8 >= margin_db else 8
        reason = _reason(f"{layer.name} out", bits, s8, s16, has16, threshold_db, margin_db)
        if bits == 16 and layer.datapath != "s8":  # s4 / s2 / s1 weights have no s16 datapath
            bits = 8
            reason = f"{layer.name} out int8: {layer.datapath} weights need int8 activations (int8 SQNR {s8:.1f} dB)"
        choices.append(TensorChoice(t.name, layer.name, layer.op, bits, s8, s16, reason))
        log.debug("tensor precision: %s", reason)
    return choices


def measure(
    graph: Graph,
    calib: Any,
    config: Any,
    profile: RequantProfile,
    lowering: LowerOptions,
    samples: list[np.ndarray],
) -> Precision | None:
    """The int8 / int16 choice for an 8-bit calibration of a model with attention / normalization layers
    (None otherwise: the measurement costs two lowerings and two simulations)."""
    if config.bits != 8 or not any(node.op in WATCHED_OPS for node in graph.nodes):
        return None
    quant16 = quant16_of(graph, calib, config)
    return Precision(choose_tensor_bits(graph, calib.quant, quant16, profile, lowering, samples), quant16)


def quant16_of(graph: Graph, calib: Any, config: Any) -> dict | None:
    """The 16-bit calibration of the same statistics (None: a statistic is missing or a policy fails)."""
    from ..mixed.search import quant_16  # noqa: PLC0415 - fixpoint.mixed imports the calibrator

    return quant_16(graph, calib, config) if all(n in calib.stats for n in calib.quant) else None


def quant_of_width(graph: Graph, calib: Any, config: Any, bits: int) -> dict | None:
    """The calibration of ``bits``-bit activations from the same statistics (None: a statistic is missing or
    a policy fails): the 16-bit one of an 8-bit calibration, or the 8-bit one of a 16-bit calibration."""
    if bits == 16:
        return quant16_of(graph, calib, config)
    from .api import tensor_quant  # noqa: PLC0415 - the calibrator's package imports this module
    from .config import resolve_policies  # noqa: PLC0415

    if not all(n in calib.stats for n in calib.quant):
        return None
    cfg = replace(config, bits=bits)
    try:
        specs = resolve_policies(list(calib.stats), graph, cfg)
        return {name: tensor_quant(calib.stats[name], *specs[name], cfg) for name in calib.quant}
    except Exception as exc:  # noqa: BLE001 - no calibration of that width: the lowering names what is missing
        log.info("no %d-bit calibration (%s)", bits, exc)
        return None


def as_meta(
    choices: list[TensorChoice], applied_bits: int, plan: Plan | None = None, note: str = "", widths_from: str = ""
) -> dict[str, Any]:
    """plan.meta["tensor_precision"]: the choices, the base width, and what ``plan`` applied (its int16
    layers and requantize layers); ``note``: why the choice was not applied; ``widths_from``: what set the
    widths instead of the choice (the user's overrides)."""
    meta: dict[str, Any] = {
        "threshold_db": THRESHOLD_DB,
        "margin_db": MARGIN_DB,
        "plan_activation_bits": applied_bits,
        "tensors": [asdict(c) for c in choices],
    }
    if plan is not None:
        meta["int16_layers"] = [la.name for la in plan.layers if la.op != "requantize" and la.datapath == "s16"]
        meta["requantize_layers"] = [la.name for la in plan.layers if la.op == "requantize"]
    if note:
        meta["note"] = note
    if widths_from:
        meta["widths_from"] = widths_from
    return meta


def precision_lines(plan: Any) -> list[str]:
    """Markdown: the per-tensor choice and its reason (empty when not measured)."""
    info = getattr(plan, "meta", {}).get("tensor_precision")
    if not info:
        return []
    lines = [
        "## int8 or int16 per tensor",
        "",
        f"* int16 where int8's SQNR against float is below {info['threshold_db']:g} dB and int16 gains at "
        f"least {info['margin_db']:g} dB; the plan's base width is {info['plan_activation_bits']}-bit",
    ]
    applied = set(info.get("int16_layers", []))
    if "int16_layers" in info:
        rq = info.get("requantize_layers", [])
        lines.append(
            f"* applied: {len(applied)} layer(s) run int16, {len(rq)} requantize layer(s) between widths"
            + (f" ({', '.join(rq)})" if rq else "")
        )
    if info.get("note"):
        lines.append(f"* not applied: {info['note']}")
    if info.get("widths_from"):
        lines.append(f"* the widths come from {info['widths_from']}, not from this choice")
    lines.append("")
    marks = {True: " (applied)", False: ""}
    return lines + [f"* {c['reason']}{marks[c['layer'] in applied]}" for c in info["tensors"]] + [""]
