"""Quantization parameters of one activation tensor: the calibrate -> lower contract."""

from __future__ import annotations

from dataclasses import dataclass

SCHEMES = ("symmetric", "asymmetric", "pow2")
POLICIES = ("max", "percentile", "kl", "l1", "l2", "auto", "fixed")


@dataclass
class TensorQuant:
    """How one activation tensor (by its ONNX / normalized-IR value name) is quantized.

    real = scale * (q - zero_point), q in [qmin, qmax] of a signed ``bits``-bit integer.
    """

    name: str
    scale: float
    zero_point: int
    bits: int  # 8 or 16 (activations)
    scheme: str  # one of SCHEMES
    policy: str  # range policy that chose [lo, hi] (one of POLICIES)
    lo: float  # chosen clip range, real units
    hi: float
    observed_min: float = 0.0
    observed_max: float = 0.0

    @property
    def qmin(self) -> int:
        return -(1 << (self.bits - 1))

    @property
    def qmax(self) -> int:
        return (1 << (self.bits - 1)) - 1
