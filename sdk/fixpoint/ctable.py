"""The calibration table (CTable): every quantization decision of a plan, in one JSON file.

A reviewer reads it to see how each tensor was quantized (scale, zero point,
range policy, observed range) and which register values each layer got, and
how much precision the board's registers cost (relative scale errors).
Format: docs/ctable.md, JSON Schema: docs/ctable.schema.json.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .fileio import atomic_write_text
from .lower.context import LowerReport
from .plan import Plan, PlanTensor
from .quant import TensorQuant

CTABLE_FORMAT = "fixpoint-ctable"
CTABLE_VERSION = 2
# 2 added the optional per-tensor "given" (QDQ / encodings import) and the layer field "recurrent"
# (lstm / gru: per-gate weight scales, gate and cell quantization); a version-1 table reads unchanged
READABLE_CTABLE_VERSIONS = (1, 2)
QRANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}
REGISTER_ARRAYS = ("multiplier", "shift")


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _representable(t: PlanTensor) -> list[float]:
    qmin, qmax = QRANGE[t.dtype]
    return [t.scale * (qmin - t.zero_point), t.scale * (qmax - t.zero_point)]


def _origin_quant(plan: Plan, quant: dict[str, TensorQuant], rules: dict[str, str], name: str) -> TensorQuant | None:
    """The calibration entry a tensor's quantization came from (following same_as_input)."""
    seen = set()
    while name not in seen:
        seen.add(name)
        rule = rules.get(name, "calibrated")
        if not rule.startswith("same_as_input:"):
            return quant.get(name) if rule in ("calibrated", "equalized") else None
        name = rule.split(":", 1)[1]
    return None


def tensor_entry(plan: Plan, index: int, quant: dict[str, TensorQuant], rules: dict[str, str]) -> dict[str, Any]:
    t = plan.tensors[index]
    rule = rules.get(t.name, "calibrated")
    own, origin = quant.get(t.name), _origin_quant(plan, quant, rules, t.name)
    if rule == "equalized":  # calibration of the float model, rescaled per channel: only its shape applies
        own = None
    if rule == "softmax_output":
        scheme, policy, rng = ("asymmetric" if t.zero_point else "symmetric"), "fixed", _representable(t)
    elif origin is not None:
        scheme, policy = origin.scheme, origin.policy
        rng = [origin.lo, origin.hi] if rule == "calibrated" else _representable(t)
    else:
        scheme, policy, rng = "unknown", "unknown", _representable(t)
    return {
        "index": index,
        "name": t.name,
        "shape": list(t.shape),
        "dtype": t.dtype,
        "bits": 8 if t.dtype == "int8" else 16,
        "scale": t.scale,
        "zero_point": t.zero_point,
        "scheme": scheme,
        "policy": policy,
        "rule": rule,
        "range": [float(v) for v in rng],
        "representable": _representable(t),
        "observed": [float(own.observed_min), float(own.observed_max)] if own is not None else None,
        "source_layout": t.source_layout,
    }


def _with_given(entry: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Add what an imported model gave for this tensor and how far the plan's scale is from it."""
    if entry["name"] in given:
        g = dict(given[entry["name"]])
        g["scale_error"] = abs(entry["scale"] - g["scale"]) / g["scale"]
        entry["given"] = g
    return entry


def _registers(layer) -> dict[str, Any]:
    regs = dict(layer.params)
    for key in REGISTER_ARRAYS:
        if key in layer.arrays:
            regs[key] = [int(v) for v in np.asarray(layer.arrays[key]).reshape(-1)]
    return regs


def layer_entry(plan: Plan, index: int, report: LowerReport) -> dict[str, Any]:
    layer = plan.layers[index]
    info = report.layers.get(layer.name)
    errors = dict(info.scale_errors) if info else {}
    return {
        "index": index,
        "name": layer.name,
        "op": layer.op,
        "engine": layer.engine,
        "datapath": layer.datapath,
        "inputs": [plan.tensors[i].name for i in layer.inputs],
        "output": plan.tensors[layer.output].name,
        "source_nodes": list(layer.source_nodes),
        "registers": _registers(layer),
        "arrays": {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in sorted(layer.arrays.items())},
        "scale_errors": {k: float(v) for k, v in errors.items()},
        "max_scale_error": max(errors.values(), default=0.0),
        "weight_bits": info.weight_bits if info and info.weight_bits else None,
        "weight_sqnr_db": _finite_or_none(info.weight_sqnr_db) if info else None,
        "bias_saturated": info.bias_saturated if info else 0,
        "constants": dict(info.constants) if info else {},
        "refinements": dict(info.refinements) if info else {},
        "notes": list(info.notes) if info else [],
        "recurrent": dict(info.recurrent) if info and info.recurrent else None,
    }


def build_ctable(plan: Plan, quant: dict[str, TensorQuant], lower_report: LowerReport | None = None) -> dict[str, Any]:
    """The CTable of a lowered plan; the report defaults to the one lowering stored in plan.meta."""
    if lower_report is None:
        lower_report = LowerReport.from_dict(plan.meta.get("lowering", {}))
    rules = lower_report.tensor_rules
    return {
        "format": CTABLE_FORMAT,
        "version": CTABLE_VERSION,
        "model_name": plan.model_name,
        "model_hash": plan.model_hash,
        "source_model_sha256": plan.source_model_sha256,
        "profile": {
            "rounding": plan.profile.rounding,
            "multiplier_bits": plan.profile.multiplier_bits,
            "shift_min": plan.profile.shift_min,
            "shift_max": plan.profile.shift_max,
            "per_channel": plan.profile.per_channel,
        },
        "options": dict(lower_report.options),
        "inputs": [plan.tensors[i].name for i in plan.inputs],
        "outputs": [plan.tensors[i].name for i in plan.outputs],
        "tensors": [
            _with_given(tensor_entry(plan, i, quant, rules), plan.meta.get("given", {}))
            for i in range(len(plan.tensors))
        ],
        "layers": [layer_entry(plan, i, lower_report) for i in range(len(plan.layers))],
    }


def write_ctable(path: str | os.PathLike, ctable: dict[str, Any]) -> Path:
    """Write the CTable as JSON atomically (never a half-written file)."""
    path = Path(path)
    text = json.dumps(ctable, indent=1, allow_nan=False)  # strict JSON: fails before touching the file
    return atomic_write_text(path, text + "\n")


def read_ctable(path: str | os.PathLike) -> dict[str, Any]:
    """Load a CTable, checking its format tag and version."""
    from .ir import ModelError

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable CTable ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != CTABLE_FORMAT:
        raise ModelError(f"{path}: not a Fixpoint CTable (format field missing)")
    if data.get("version") not in READABLE_CTABLE_VERSIONS:
        raise ModelError(
            f"{path}: CTable version {data.get('version')} is not supported "
            f"(expected one of {READABLE_CTABLE_VERSIONS})"
        )
    return data
