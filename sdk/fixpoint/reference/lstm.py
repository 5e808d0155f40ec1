"""Reference integer LSTM: the arithmetic of ``fp_lstm_s8`` (docs/kernels.md "lstm").

TFLite's 8x8_16 integer LSTM: int8 input and hidden state, int16 gates with scale
2^-12 (Q3.12), sigmoid / tanh by TFLite's interpolated int16 tables (Q0.15 out),
int16 cell state with scale 2^-cell_frac_bits. Gate order i, o, f, c (ONNX).
Written with numpy over the units of a step; the steps run in a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lut import lut_s16
from .requant import requant32, round_half_away_div_pow2, sat32

GATE_FRAC = 12
ACT_FRAC = 15
Scale = tuple[int, int]


@dataclass(frozen=True)
class LstmParams:
    """The scalar fields of ``fp_lstm_params_t`` (the tables and arrays are passed separately)."""

    input_offset: int
    hidden_offset: int
    output_offset: int
    input_scale: tuple[Scale, Scale, Scale, Scale]
    recurrent_scale: tuple[Scale, Scale, Scale, Scale]
    hidden_scale: Scale
    cell_frac_bits: int
    cell_clip: int = 0
    output_sequence: int = 1
    reverse: int = 0
    rounding: str = "double"
    multiplier_bits: int = 32


def _requant_rows(acc: np.ndarray, scales, hidden: int, rounding: str, bits: int) -> np.ndarray:
    """Requantize [4H] accumulators with one scale per gate."""
    m = np.repeat([s[0] for s in scales], hidden)
    s = np.repeat([s[1] for s in scales], hidden)
    return requant32(acc, m, s, rounding, bits)


def lstm_gates(p: LstmParams, x: np.ndarray, h: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """int16 gate values [4H] of one step from the step's input and the previous h."""
    hidden = weights.shape[0] // 4
    w = weights.astype(np.int64)
    n_in = w.shape[1] - hidden
    a = sat32(bias[: 4 * hidden] + w[:, :n_in] @ (x.astype(np.int64) + p.input_offset))
    b = sat32(bias[4 * hidden :] + w[:, n_in:] @ (h.astype(np.int64) + p.hidden_offset))
    total = _requant_rows(a, p.input_scale, hidden, p.rounding, p.multiplier_bits) + _requant_rows(
        b, p.recurrent_scale, hidden, p.rounding, p.multiplier_bits
    )
    return np.clip(total, -32768, 32767)


def lstm_cell(p: LstmParams, f, i, g, c) -> np.ndarray:
    """f * c + i * g at the cell scale (rounded half away from zero), clipped."""
    kept = round_half_away_div_pow2(sat32(np.asarray(f, np.int64) * c), ACT_FRAC)
    added = round_half_away_div_pow2(sat32(np.asarray(i, np.int64) * g), 2 * ACT_FRAC - p.cell_frac_bits)
    lim = p.cell_clip if p.cell_clip > 0 else None
    lo, hi = (-lim, lim) if lim else (-32768, 32767)
    return np.clip(kept + added, lo, hi)


def lstm_state_split(state: np.ndarray, hidden: int) -> tuple[np.ndarray, np.ndarray]:
    """Views of a streaming state (uint8 [3H], C layout: cell int16 [H] then h int8 [H])."""
    return state[: 2 * hidden].view("<i2"), state[2 * hidden : 3 * hidden].view(np.int8)


def lstm_initial_state(hidden: int, hidden_offset: int) -> np.ndarray:
    """The streaming state a reset writes (fp_lstm_s8_state_reset): c = 0, h = the h zero point."""
    state = np.zeros(3 * hidden, np.uint8)
    state[2 * hidden :] = np.int8(np.clip(-hidden_offset, -128, 127)).view(np.uint8)
    return state


def lstm_s8(
    x, weights, bias, sigmoid_lut, tanh_lut, cell_tanh_lut, p: LstmParams, state: np.ndarray | None = None
) -> np.ndarray:
    """h of every step [T, H] (``output_sequence``) or the last h [H]; ``x`` is [T, input_size] int8.
    ``state`` (uint8 [3H], the C kernel's streaming layout): start from it, leave the final state in it."""
    x = np.asarray(x, np.int64)
    weights, bias = np.asarray(weights, np.int64), np.asarray(bias, np.int64)
    hidden = weights.shape[0] // 4
    steps = x.shape[0]
    h = np.full(hidden, np.clip(-p.hidden_offset, -128, 127), np.int64)
    c = np.zeros(hidden, np.int64)
    if state is not None:
        c_view, h_view = lstm_state_split(state, hidden)
        c, h = c_view.astype(np.int64), h_view.astype(np.int64)
    out = np.zeros((steps, hidden), np.int64)
    for s in range(steps):
        t = steps - 1 - s if p.reverse else s
        gates = lstm_gates(p, x[t], h, weights, bias).reshape(4, hidden)
        i, o, f = (lut_s16(gates[q], sigmoid_lut) for q in range(3))
        g = lut_s16(gates[3], tanh_lut)
        c = lstm_cell(p, f, i, g, c)
        v = requant32(
            o * lut_s16(c, cell_tanh_lut), p.hidden_scale[0], p.hidden_scale[1], p.rounding, p.multiplier_bits
        )
        h = np.clip(v + p.output_offset, -128, 127)
        out[t] = h
    if state is not None:
        c_view[...], h_view[...] = c, h
    return (out if p.output_sequence else h).astype(np.int8)
