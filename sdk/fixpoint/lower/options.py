"""User-facing options of the lowering stage."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any


from fixpoint.ir import ModelError


# 8 and 4: int8 / int4 weights; 2: ternary {-1, 0, 1}; 1: binary {-1, +1} (s2 / s1 datapaths)
WEIGHT_BITS = (1, 2, 4, 8)


@dataclass(frozen=True)
class EngineSpec:
    """An execution engine of the target (CPU, accelerator) and what it runs."""

    name: str
    datapaths: tuple[str, ...] = ("s8", "s4", "s16", "s2", "s1")
    ops: tuple[str, ...] | None = None      # runtime op keys; None = every op

    def supports(self, op: str, datapath: str) -> bool:
        return datapath in self.datapaths and (self.ops is None or op in self.ops)


@dataclass
class LowerOptions:
    """How float weights and calibrated activations become integer registers.

    ``weight_bits_overrides`` maps a layer name or glob (matched against the
    layer name and its output value name) to 1, 2, 4 or 8; 4-, 2- and 1-bit layers
    run on the ``s4``, ``s2`` (ternary) and ``s1`` (binary) datapaths.
    ``activation_bits`` None takes the calibrated width.
    ``samples`` (a few float inputs, source layout, batch first, or a
    ``fixpoint.calibrate.CalibrationData``) feed the data-driven steps
    ``equalize``, ``adaptive_rounding`` and ``bias_correction``.
    """

    weight_bits: int = 8
    weight_bits_overrides: dict[str, int] = field(default_factory=dict)
    activation_bits: int | None = None
    per_channel: bool = True                  # also limited by profile.per_channel
    weight_scheme: str = "auto"               # "symmetric" | "pow2" | "auto" (pow2 on shift-only boards)
    max_scale_error: float = 1e-3             # beyond the multiplier register's own precision
    equalize: bool = False                    # cross-layer equalization of conv -> relu -> conv
    equalize_iterations: int = 4
    bias_correction: bool = False             # remove the mean output shift caused by weight rounding
    adaptive_rounding: bool = False           # per-channel rounding search minimising output MSE
    adaptive_rounding_passes: int = 2         # search budget: moves per weight
    samples: Any = None                       # array [N, ...] or CalibrationData; the first max_samples are used
    max_samples: int = 64
    engines: Any = None                       # [EngineSpec] or a board's engines; None: "default"
    plan_memory: bool = True                  # run fixpoint.memory.plan_arena

    def __post_init__(self) -> None:
        if self.weight_bits not in WEIGHT_BITS:
            raise ModelError(f"lower options: weight_bits must be 1, 2, 4 or 8, got {self.weight_bits}")
        for pattern, bits in self.weight_bits_overrides.items():
            if bits not in WEIGHT_BITS:
                raise ModelError(f"lower options: weight bits override '{pattern}' must be 1, 2, 4 or 8, "
                                 f"got {bits}")
        if self.activation_bits not in (None, 8, 16):
            raise ModelError(f"lower options: activation_bits must be 8 or 16, got {self.activation_bits}")
        if self.weight_scheme not in ("auto", "symmetric", "pow2"):
            raise ModelError(f"lower options: weight_scheme must be auto, symmetric or pow2, "
                             f"got '{self.weight_scheme}'")
        if not self.max_scale_error > 0:
            raise ModelError(f"lower options: max_scale_error must be positive, got {self.max_scale_error}")

    def weight_bits_for(self, *names: str) -> int:
        """Bits of a layer: the first override whose pattern matches one of ``names``."""
        for pattern, bits in self.weight_bits_overrides.items():
            if any(fnmatch.fnmatchcase(n, pattern) for n in names if n):
                return bits
        return self.weight_bits

    def summary(self) -> dict[str, Any]:
        """The options that shape the plan, JSON-ready (recorded in plan.meta)."""
        return {
            "weight_bits": self.weight_bits,
            "weight_bits_overrides": dict(self.weight_bits_overrides),
            "activation_bits": self.activation_bits,
            "per_channel": self.per_channel,
            "weight_scheme": self.weight_scheme,
            "max_scale_error": self.max_scale_error,
            "equalize": self.equalize,
            "bias_correction": self.bias_correction,
            "adaptive_rounding": self.adaptive_rounding,
            "samples": 0 if self.samples is None else int(min(len(self.samples), self.max_samples)),
        }
