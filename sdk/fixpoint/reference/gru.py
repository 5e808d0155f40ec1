"""Reference integer GRU: the arithmetic of ``fp_gru_s8`` (docs/kernels.md "gru").

ONNX GRU with ``linear_before_reset = 1`` (PyTorch's export) in the integer LSTM's scheme
(:mod:`fixpoint.reference.lstm`): int8 x and h, int16 Q3.12 gates, TFLite's interpolated int16
sigmoid / tanh tables (Q0.15 out). Gate order z, r, h (ONNX).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lstm import ACT_FRAC, Scale
from .lut import lut_s16
from .requant import requant32, round_half_away_div_pow2, sat32

GATES = 3


@dataclass(frozen=True)
class GruParams:
    """The scalar fields of ``fp_gru_params_t`` (tables and arrays are passed separately)."""

    input_offset: int
    hidden_offset: int
    output_offset: int
    input_scale: tuple[Scale, Scale, Scale]
    recurrent_scale: tuple[Scale, Scale, Scale]
    hidden_scale: Scale
    output_sequence: int = 1
    reverse: int = 0
    rounding: str = "double"
    multiplier_bits: int = 32


def _sides(p: GruParams, x, h, weights, bias) -> tuple[np.ndarray, np.ndarray]:
    """The requantized input and recurrent parts [3, H] of one step's gates."""
    hidden = weights.shape[0] // GATES
    n_in = weights.shape[1] - hidden
    a = sat32(bias[: GATES * hidden] + weights[:, :n_in] @ (x + p.input_offset)).reshape(GATES, hidden)
    b = sat32(bias[GATES * hidden :] + weights[:, n_in:] @ (h + p.hidden_offset)).reshape(GATES, hidden)
    rq = (p.rounding, p.multiplier_bits)
    a = np.stack([requant32(a[q], *p.input_scale[q], *rq) for q in range(GATES)])
    b = np.stack([requant32(b[q], *p.recurrent_scale[q], *rq) for q in range(GATES)])
    return a, b


def gru_step(p: GruParams, x, h, weights, bias, sigmoid_lut, tanh_lut) -> np.ndarray:
    """The next h (int8 values as int64) from the step's input and the previous h."""
    a, b = _sides(p, x, h, weights, bias)
    z, r = (lut_s16(np.clip(a[q] + b[q], -32768, 32767), sigmoid_lut) for q in range(2))
    gated = round_half_away_div_pow2(r * np.clip(b[2], -32768, 32767), ACT_FRAC)
    n = lut_s16(np.clip(a[2] + gated, -32768, 32767), tanh_lut)
    fresh = requant32(sat32((32768 - z) * n), *p.hidden_scale, p.rounding, p.multiplier_bits)
    kept = round_half_away_div_pow2(z * (h + p.hidden_offset), ACT_FRAC)
    return np.clip(fresh + kept + p.output_offset, -128, 127)


def gru_initial_state(hidden: int, hidden_offset: int) -> np.ndarray:
    """The streaming state a reset writes (fp_gru_s8_state_reset): h = the h zero point."""
    return np.full(hidden, np.int8(np.clip(-hidden_offset, -128, 127)).view(np.uint8), np.uint8)


def gru_s8(x, weights, bias, sigmoid_lut, tanh_lut, p: GruParams, state: np.ndarray | None = None) -> np.ndarray:
    """h of every step [T, H] (``output_sequence``) or the last h [H]; ``x`` is [T, input_size] int8.
    ``state`` (uint8 [H], the C kernel's streaming h): start from it, leave the final h in it."""
    x = np.asarray(x, np.int64)
    weights, bias = np.asarray(weights, np.int64), np.asarray(bias, np.int64)
    hidden = weights.shape[0] // GATES
    h = np.full(hidden, np.clip(-p.hidden_offset, -128, 127), np.int64)
    if state is not None:
        h = state[:hidden].view(np.int8).astype(np.int64)
    out = np.zeros((x.shape[0], hidden), np.int64)
    for s in range(x.shape[0]):
        t = x.shape[0] - 1 - s if p.reverse else s
        h = gru_step(p, x[t], h, weights, bias, sigmoid_lut, tanh_lut)
        out[t] = h
    if state is not None:
        state[:hidden] = h.astype(np.int8).view(np.uint8)
    return (out if p.output_sequence else h).astype(np.int8)
