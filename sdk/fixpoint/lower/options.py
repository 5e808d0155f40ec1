"""User-facing options of the lowering stage."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any


from fixpoint.ir import ModelError
from fixpoint.target import EngineSpec

__all__ = ["EngineSpec", "LowerOptions"]  # EngineSpec lives in fixpoint.target (plain data)

# 8 and 4: int8 / int4 weights; 2: ternary {-1, 0, 1}; 1: binary {-1, +1} (s2 / s1 datapaths)
WEIGHT_BITS = (1, 2, 4, 8)


@dataclass
class LowerOptions:
    """How float weights and calibrated activations become integer registers.

    ``weight_bits_overrides`` maps a layer name or glob (matched against the
    layer name and its output value name) to 1, 2, 4 or 8; 4-, 2- and 1-bit layers
    run on the ``s4``, ``s2`` (ternary) and ``s1`` (binary) datapaths.
    ``activation_bits`` None takes the calibrated width (of the graph inputs): the plan's base width.
    ``activation_bits_overrides`` maps a layer name or glob (matched like the weight bits overrides) to
    8 or 16: the width of that layer's datapath, i.e. of its output and of the inputs it reads. Where a
    tensor made at one width is read at the other, lowering inserts a ``requantize`` layer; graph
    inputs and outputs keep the base width. A width other than the base needs that width's
    calibration of the same tensors in ``activation_quant`` (bits -> tensor -> TensorQuant).
    ``engine_overrides`` maps a layer name or glob (as ``weight_bits_overrides``) to the name of an
    engine of ``engines``: the layer goes to that engine instead of the cheapest capable one, and
    lowering fails (one line naming layer and engine) when that engine cannot run it.
    ``samples`` (a few float inputs, source layout, batch first, or a
    ``fixpoint.calibrate.CalibrationData``) feed the data-driven steps
    ``equalize``, ``adaptive_rounding`` and ``bias_correction``.
    """

    weight_bits: int = 8
    weight_bits_overrides: dict[str, int] = field(default_factory=dict)
    activation_bits: int | None = None
    activation_bits_overrides: dict[str, int] = field(default_factory=dict)
    # calibration of the other activation width, by bits (the 16-bit one of an 8-bit plan): not in summary()
    activation_quant: dict[int, Any] = field(default_factory=dict)
    per_channel: bool = True  # also limited by profile.per_channel
    weight_scheme: str = "auto"  # "symmetric" | "pow2" | "auto" (pow2 on shift-only boards)
    max_scale_error: float = 1e-3  # beyond the multiplier register's own precision
    equalize: bool = False  # cross-layer equalization of conv -> relu -> conv
    equalize_iterations: int = 4
    # None = automatic: on for 4-bit layers when samples are given (int4 loses 2-3 pp without them)
    bias_correction: bool | None = None  # remove the mean output shift caused by weight rounding
    adaptive_rounding: bool | None = None  # AdaRound: learned rounding minimising the layer's output MSE
    adaptive_rounding_passes: int = 2  # greedy polish budget: moves per weight
    adaround_iterations: int = 200  # AdaRound optimisation steps per layer
    # refine each layer on the inputs the already-quantized layers produce (False: float inputs); None = automatic:
    # on when any layer has 1/2/4-bit weights, where the layers compound their rounding error (kws int4 output
    # SQNR 20.5 -> 26.8 dB), off for all-8-bit plans, where it did not lower the policy search's loss
    # (cnn_bn_res 0.000287 -> 0.000303, bench/results/precision.md; docs/calibration.md)
    sequential: bool | None = None
    # node name -> (int weights, scale, float bias) taken as they are (fixpoint.lower.refine.refined_weights):
    # lets a range search score plans with the refined weights the final plan will have, without refining each
    fixed_weights: dict[str, Any] = field(default_factory=dict)
    weight_clip: str | None = None  # "none" | "mse" | "sigma:K" per output channel; None: mse at 4 bits
    samples: Any = None  # array [N, ...] or CalibrationData; the first max_samples are used
    max_samples: int = 64
    engines: Any = None  # [EngineSpec] or a board's engines; None: "default"
    engine_overrides: dict[str, str] = field(default_factory=dict)  # layer name / glob -> engine name
    plan_memory: bool = True  # run fixpoint.memory.plan_arena
    # integers a QDQ model / encodings file gives, by ONNX node name (fixpoint.lower.given)
    given_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.weight_bits not in WEIGHT_BITS:
            raise ModelError(f"lower options: weight_bits must be 1, 2, 4 or 8, got {self.weight_bits}")
        for pattern, bits in self.weight_bits_overrides.items():
            if bits not in WEIGHT_BITS:
                raise ModelError(f"lower options: weight bits override '{pattern}' must be 1, 2, 4 or 8, got {bits}")
        if self.activation_bits not in (None, 8, 16):
            raise ModelError(f"lower options: activation_bits must be 8 or 16, got {self.activation_bits}")
        for pattern, bits in self.activation_bits_overrides.items():
            if bits not in (8, 16):
                raise ModelError(f"lower options: activation bits override '{pattern}' must be 8 or 16, got {bits}")
        if self.activation_bits_overrides and self.equalize:
            # equalization rescales the base width's calibration only
            raise ModelError("lower options: activation bits overrides and equalize cannot be combined")
        if self.weight_scheme not in ("auto", "symmetric", "pow2"):
            raise ModelError(
                f"lower options: weight_scheme must be auto, symmetric or pow2, got '{self.weight_scheme}'"
            )
        if self.weight_clip is not None:
            from .weights import parse_weight_clip

            try:
                parse_weight_clip(self.weight_clip)
            except ValueError as exc:
                raise ModelError(f"lower options: {exc}") from None
        for pattern, engine in self.engine_overrides.items():
            if not isinstance(engine, str) or not engine:
                raise ModelError(f"lower options: engine override '{pattern}' must name an engine, got {engine!r}")
        if self.engine_overrides and not self.engines:
            raise ModelError(
                f"lower options: engine override '{next(iter(self.engine_overrides))}' needs a "
                f"target with engines (a board)"
            )
        if not self.max_scale_error > 0:
            raise ModelError(f"lower options: max_scale_error must be positive, got {self.max_scale_error}")

    def weight_bits_for(self, *names: str) -> int:
        """Bits of a layer: the first override whose pattern matches one of ``names``."""
        for pattern, bits in self.weight_bits_overrides.items():
            if any(fnmatch.fnmatchcase(n, pattern) for n in names if n):
                return bits
        return self.weight_bits

    def engine_for(self, *names: str) -> str | None:
        """The engine a layer is pinned to: the first engine override matching one of ``names``, or None."""
        for pattern, engine in self.engine_overrides.items():
            if any(fnmatch.fnmatchcase(n, pattern) for n in names if n):
                return engine
        return None

    def activation_bits_for(self, base: int, *names: str) -> int:
        """Activation width of a layer: the first override whose pattern matches one of ``names``, else ``base``."""
        for pattern, bits in self.activation_bits_overrides.items():
            if any(fnmatch.fnmatchcase(n, pattern) for n in names if n):
                return bits
        return base

    def clip_for(self, bits: int) -> str:
        """Weight clip method of a layer with ``bits``-bit weights."""
        return self.weight_clip if self.weight_clip is not None else ("mse" if bits <= 4 else "none")

    def refinements_for(self, bits: int) -> tuple[bool, bool]:
        """(adaptive rounding, bias correction) of a layer with ``bits``-bit weights."""
        auto = bits <= 4 and self.samples is not None
        # ternary / binary values come from their own threshold rule, not a rounding grid to learn on
        rounding = bits >= 4 and (auto if self.adaptive_rounding is None else self.adaptive_rounding)
        return (rounding, auto if self.bias_correction is None else self.bias_correction)

    def wants_layer_inputs(self) -> bool:
        """Whether lowering needs the float layer inputs (a refinement is on, or may be on automatically)."""
        if self.adaptive_rounding or self.bias_correction:
            return True
        low = self.weight_bits <= 4 or any(b <= 4 for b in self.weight_bits_overrides.values())
        return low and self.samples is not None and None in (self.adaptive_rounding, self.bias_correction)

    def uses_sequential(self) -> bool:
        """Whether the refinements run on the quantized network's inputs (``sequential``, resolved)."""
        if self.sequential is not None:
            return self.sequential
        return self.weight_bits < 8 or any(bits < 8 for bits in self.weight_bits_overrides.values())

    def summary(self) -> dict[str, Any]:
        """The options that shape the plan, JSON-ready (recorded in plan.meta)."""
        return {
            "weight_bits": self.weight_bits,
            "weight_bits_overrides": dict(self.weight_bits_overrides),
            "activation_bits": self.activation_bits,
            **(
                {"activation_bits_overrides": dict(self.activation_bits_overrides)}
                if self.activation_bits_overrides
                else {}
            ),
            "per_channel": self.per_channel,
            "weight_scheme": self.weight_scheme,
            "max_scale_error": self.max_scale_error,
            "equalize": self.equalize,
            "bias_correction": "auto" if self.bias_correction is None else self.bias_correction,
            "adaptive_rounding": "auto" if self.adaptive_rounding is None else self.adaptive_rounding,
            "weight_clip": "auto" if self.weight_clip is None else self.weight_clip,
            "sequential_refinement": "auto" if self.sequential is None else self.sequential,
            "samples": 0 if self.samples is None else int(min(len(self.samples), self.max_samples)),
            **({"given_params": sorted(self.given_params)} if self.given_params else {}),
            **({"engine_overrides": dict(self.engine_overrides)} if self.engine_overrides else {}),
        }
