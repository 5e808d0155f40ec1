"""Adaptive weight rounding: per output channel, choose floor or ceil for each weight.

Rounding to nearest minimises each weight's own error, not the layer's output
error: errors of correlated inputs add up. With ``G`` the patch Gram matrix of
the channel (``fixpoint.lower.patches``) and ``d = s*q - w`` the weight error,
the output mean square error is ``d^T G d / n``. A greedy coordinate descent
starts from round-to-nearest and repeatedly moves the one weight (to its
other rounding neighbour) that lowers ``d^T G d`` the most, until no move
helps. All channels are searched at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_DEPTH = 4096     # G is depth x depth floats per group; bigger layers keep nearest rounding


@dataclass
class RoundingResult:
    values: np.ndarray         # [C_out, depth] integer weights
    flips: int                 # weights moved off round-to-nearest
    mse_before: float          # sum over channels of d^T G d / n, nearest rounding
    mse_after: float


def _objective(d: np.ndarray, gram: np.ndarray, group_of: np.ndarray) -> np.ndarray:
    """Per-channel d^T G d."""
    return np.einsum("oi,oij,oj->o", d, gram[group_of], d) if gram.shape[0] > 1 else \
        np.einsum("oi,ij,oj->o", d, gram[0], d)


def adaptive_round(w: np.ndarray, scale: np.ndarray, qmax: int, gram: np.ndarray, group_of: np.ndarray,
                   count: int, max_moves_per_weight: float = 2.0) -> RoundingResult:
    """Integer weights ``[C_out, depth]`` for float ``w`` and per-channel ``scale`` minimising output MSE."""
    c_out, depth = w.shape
    ratio = w / scale[:, None]
    q = np.clip(np.sign(ratio) * np.floor(np.abs(ratio) + 0.5), -qmax, qmax)
    lower, upper = np.clip(np.floor(ratio), -qmax, qmax), np.clip(np.ceil(ratio), -qmax, qmax)
    d = (q - ratio) * scale[:, None]
    g_rows = gram[group_of] if gram.shape[0] > 1 else np.broadcast_to(gram[0], (c_out, depth, depth))
    diag = np.einsum("oii->oi", g_rows)
    grad = np.einsum("oij,oj->oi", g_rows, d)          # G d, per channel
    before = float(_objective(d, gram, group_of).sum())
    rows = np.arange(c_out)
    for _ in range(int(max_moves_per_weight * depth)):
        # the only other candidate of each weight is its other rounding neighbour
        step = np.where(q == lower, upper - q, lower - q)
        gain = 2.0 * scale[:, None] * step * grad + (scale[:, None] * step) ** 2 * diag
        j = np.argmin(gain, axis=1)
        best = gain[rows, j]
        active = best < -1e-12 * np.maximum(np.abs(before), 1e-30)
        if not active.any():
            break
        o = rows[active]
        delta = step[o, j[active]]
        q[o, j[active]] += delta
        grad[o] += (scale[o] * delta)[:, None] * g_rows[o, j[active], :]
    d = (q - ratio) * scale[:, None]
    after = float(_objective(d, gram, group_of).sum())
    nearest = np.clip(np.sign(ratio) * np.floor(np.abs(ratio) + 0.5), -qmax, qmax)
    return RoundingResult(q.astype(np.int8), int(np.count_nonzero(q != nearest)),
                          before / max(count, 1), after / max(count, 1))
