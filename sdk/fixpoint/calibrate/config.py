"""Calibration options and the per-tensor policy overrides.

Overrides map a key to a policy spec. A key matches a tensor by its value
name or by the name of the layer producing it (the normalized node's name or
any ONNX node fused into it); keys may be glob patterns (``"conv*"``).
Precedence: exact tensor name, then exact layer name, then the first matching
pattern in dict order. A spec is a policy name, optionally with its
parameter: ``"percentile:99.9"``.
"""

from __future__ import annotations

import fnmatch
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from fixpoint.calibrate.data import DEFAULT_MAX_SAMPLES
from fixpoint.calibrate.errors import CalibrationError
from fixpoint.calibrate.policies import DEFAULT_PERCENTILE, FIXED, POLICIES
from fixpoint.ir import Graph
from fixpoint.quant import SCHEMES

log = logging.getLogger(__name__)

DEFAULT_POLICY = "l2"


@dataclass
class CalibrationConfig:
    """How activation ranges are chosen.

    ``scheme`` None means "asymmetric" for 8-bit and "symmetric" for 16-bit
    activations (16-bit kernels take no zero point).
    """

    policy: str = DEFAULT_POLICY
    per_tensor_policy: dict[str, str] = field(default_factory=dict)
    scheme: str | None = None
    bits: int = 8
    percentile: float = DEFAULT_PERCENTILE
    batch_size: int = 32
    max_samples: int | None = DEFAULT_MAX_SAMPLES  # samples read from the set (None: all)
    progress: bool = True
    # tensors whose quantization is given (QDQ model, encodings file): name -> [scale, zero_point];
    # they keep exactly these parameters and no range policy runs on them (docs/interop.md)
    pinned: dict[str, list[float]] = field(default_factory=dict)
    # the same at the other width (8 <-> 16) of a plan with per-layer widths: a QDQ model's tensors given
    # at that width and the copies it requantizes to it (docs/interop.md)
    pinned_other_width: dict[str, list[float]] = field(default_factory=dict)

    @property
    def resolved_scheme(self) -> str:
        if self.scheme is not None:
            return self.scheme
        return "symmetric" if self.bits == 16 else "asymmetric"

    def validate(self) -> None:
        """Raise CalibrationError naming the first bad option."""
        if self.bits not in (8, 16):
            raise CalibrationError(f"activation bits must be 8 or 16, got {self.bits}")
        if self.resolved_scheme not in SCHEMES:
            raise CalibrationError(f"unknown scheme '{self.scheme}' (choose from {', '.join(SCHEMES)})")
        if self.bits == 16 and self.resolved_scheme == "asymmetric":
            raise CalibrationError(
                "16-bit activations need scheme 'symmetric' or 'pow2' (16-bit kernels take no zero point)"
            )
        if not 50.0 <= self.percentile <= 100.0:
            raise CalibrationError(f"percentile must be in [50, 100], got {self.percentile}")
        if self.batch_size < 1:
            raise CalibrationError(f"batch size must be >= 1, got {self.batch_size}")
        if self.max_samples is not None and self.max_samples < 1:
            raise CalibrationError(f"max samples must be >= 1, got {self.max_samples}")
        parse_policy(self.policy, self.percentile, "policy")
        for key, spec in self.per_tensor_policy.items():
            parse_policy(spec, self.percentile, f"per-tensor policy for '{key}'")


def parse_policy(spec: str, percentile: float, where: str) -> tuple[str, dict[str, Any]]:
    """'percentile:99.9' -> ('percentile', {'percentile': 99.9})."""
    name, _, arg = str(spec).partition(":")
    name = name.strip()
    if name not in POLICIES and name != FIXED:
        raise CalibrationError(
            f"{where}: unknown range policy '{name}' (choose from {', '.join(POLICIES)}, {FIXED}:MIN,MAX)"
        )
    options: dict[str, Any] = {"percentile": percentile}
    if name == FIXED:  # without a range: every tensor needs an override or a pinned entry
        return name, (_fixed_range(spec, arg, where) if arg else {})
    if arg:
        if name != "percentile":
            raise CalibrationError(f"{where}: policy '{name}' takes no parameter (got '{spec}')")
        try:
            options["percentile"] = float(arg)
        except ValueError:
            raise CalibrationError(f"{where}: bad percentile in '{spec}'") from None
        if not 50.0 <= options["percentile"] <= 100.0:
            raise CalibrationError(f"{where}: percentile must be in [50, 100], got '{arg}'")
    return name, options


def _fixed_range(spec: str, arg: str, where: str) -> dict[str, float]:
    """'fixed:MIN,MAX' -> {'lo': MIN, 'hi': MAX}: finite, MIN <= 0 <= MAX after widening, MIN < MAX."""
    parts = arg.split(",")
    try:
        lo, hi = (float(p) for p in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        lo = hi = None
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise CalibrationError(f"{where}: policy 'fixed' needs a finite range MIN,MAX with MIN < MAX (got '{spec}')")
    return {"lo": lo, "hi": hi}


def layer_names(graph: Graph | None, tensor: str) -> list[str]:
    """Names of the layer producing ``tensor``: the node and every ONNX node fused into it."""
    if graph is None:
        return []
    node = graph.producer(tensor)
    return [] if node is None else [node.name, *node.fused]


def resolve_policies(
    names: list[str], graph: Graph | None, config: CalibrationConfig
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Policy spec for every tensor: its override if any, else the global policy."""
    overrides = config.per_tensor_policy
    default = parse_policy(config.policy, config.percentile, "policy")
    used: set[str] = set()
    resolved = {}
    for name in names:
        key = _match(name, layer_names(graph, name), overrides)
        if key is None:
            resolved[name] = default
        else:
            used.add(key)
            resolved[name] = parse_policy(overrides[key], config.percentile, f"per-tensor policy for '{key}'")
    for key in overrides:
        if key not in used:
            log.warning("per-tensor policy key '%s' matches no calibrated tensor or layer", key)
    return resolved


def _match(tensor: str, layers: list[str], overrides: dict[str, str]) -> str | None:
    if tensor in overrides:
        return tensor
    for layer in layers:
        if layer in overrides:
            return layer
    for pattern in overrides:
        if any(fnmatch.fnmatchcase(n, pattern) for n in (tensor, *layers)):
            return pattern
    return None
