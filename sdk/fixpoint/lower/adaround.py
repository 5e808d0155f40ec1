"""Adaptive weight rounding: per output channel, choose floor or ceil for each weight.

Rounding to nearest minimises each weight's own error, not the layer's output
error: errors of correlated inputs add up. With ``G`` the patch Gram matrix of
the channel (``fixpoint.lower.patches``) and ``d = s*q - w`` the weight error,
the output mean square error is ``d^T G d / n``. A greedy coordinate descent
starts from round-to-nearest and repeatedly moves the one weight (to its
other rounding neighbour) that lowers ``d^T G d`` the most, until no move
helps. All channels are searched at once.

Sequential refinement (``fixpoint.lower.sequential``) feeds the layer the inputs of the already-quantized
network ``p_q`` while the target stays the float output ``w . p_f``: the residual of channel ``o`` is
``d . p_q + w . (p_q - p_f)``, so its sum of squares is ``d^T G d + 2 d . l + c`` with ``G`` the Gram of the
quantized patches, ``l = sum p_q (w . e)`` and ``c = sum (w . e)^2`` (``e = p_q - p_f``, the inherited error).
``Objective`` carries ``G`` with the optional ``l`` and ``c``; rounding then also absorbs inherited error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_DEPTH = 4096  # G is depth x depth floats per group; bigger layers keep nearest rounding


@dataclass
class RoundingResult:
    values: np.ndarray  # [C_out, depth] integer weights
    flips: int  # weights moved off round-to-nearest
    mse_before: float  # sum over channels of d^T G d / n, nearest rounding
    mse_after: float
    channel_loss: np.ndarray | None = None  # [C_out] reconstruction loss per channel after rounding


@dataclass
class Objective:
    """Per-channel reconstruction loss ``d^T G d + 2 d . linear + const`` of a weight error ``d``."""

    gram: np.ndarray  # [n_groups, depth, depth]
    group_of: np.ndarray  # [C_out] -> group
    count: int  # rows (patches) the sums run over
    linear: np.ndarray | None = None  # [C_out, depth]: inherited-error cross term (sequential inputs)
    const: np.ndarray | None = None  # [C_out]: inherited error alone

    def value(self, d: np.ndarray) -> np.ndarray:
        v = _quadratic(d, self.gram, self.group_of)
        if self.linear is not None:
            v = v + 2.0 * np.einsum("oi,oi->o", d, self.linear)
        return v if self.const is None else v + self.const

    def gradient(self, d: np.ndarray) -> np.ndarray:
        """Half the gradient: G d + linear."""
        g = _gram_product(d, self.gram, self.group_of)
        return g if self.linear is None else g + self.linear


def _quadratic(d: np.ndarray, gram: np.ndarray, group_of: np.ndarray) -> np.ndarray:
    """Per-channel d^T G d."""
    return (
        np.einsum("oi,oij,oj->o", d, gram[group_of], d)
        if gram.shape[0] > 1
        else np.einsum("oi,ij,oj->o", d, gram[0], d)
    )


def _as_objective(gram, group_of, count) -> Objective:
    return gram if isinstance(gram, Objective) else Objective(gram, group_of, count)


def adaptive_round(
    w: np.ndarray,
    scale: np.ndarray,
    qmax: int,
    gram: np.ndarray | Objective,
    group_of: np.ndarray,
    count: int,
    max_moves_per_weight: float = 2.0,
    start: np.ndarray | None = None,
) -> RoundingResult:
    """Integer weights ``[C_out, depth]`` for float ``w`` and per-channel ``scale`` minimising output MSE.

    ``gram``: the patch Gram matrices, or an :class:`Objective` (then ``group_of`` / ``count`` are its own).
    ``start``: integer weights (each the floor or ceil of ``w / scale``) to descend from instead of nearest.
    """
    obj = _as_objective(gram, group_of, count)
    gram, group_of, count = obj.gram, obj.group_of, obj.count
    c_out, depth = w.shape
    ratio = w / scale[:, None]
    q = (
        np.clip(np.sign(ratio) * np.floor(np.abs(ratio) + 0.5), -qmax, qmax)
        if start is None
        else np.array(start, dtype=np.float64)
    )
    lower, upper = np.clip(np.floor(ratio), -qmax, qmax), np.clip(np.ceil(ratio), -qmax, qmax)
    d = (q - ratio) * scale[:, None]
    g_rows = gram[group_of] if gram.shape[0] > 1 else np.broadcast_to(gram[0], (c_out, depth, depth))
    diag = np.einsum("oii->oi", g_rows)
    grad = obj.gradient(d)  # G d (+ linear), per channel
    before = float(obj.value(d).sum())
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
    per_channel = obj.value(d)
    after = float(per_channel.sum())
    nearest = np.clip(np.sign(ratio) * np.floor(np.abs(ratio) + 0.5), -qmax, qmax)
    return RoundingResult(
        q.astype(np.int8),
        int(np.count_nonzero(q != nearest)),
        before / max(count, 1),
        after / max(count, 1),
        per_channel / max(count, 1),
    )


# AdaRound (Nagel et al. 2020): a continuous rounding variable per weight, the rectified sigmoid
# h(V) in [0, 1], added to floor(w / s); trained on the layer's reconstruction loss d^T G d with a
# regulariser 1 - |2h - 1|^beta whose beta anneals from 20 to 2, which drives every h to 0 or 1.
ZETA, GAMMA = 1.1, -0.1


@dataclass
class AdaRoundConfig:
    iterations: int = 200  # bounded: each costs one [C_out, depth] x [depth, depth] product
    reg: float = 0.01  # regulariser weight, relative to the normalised reconstruction loss
    beta: tuple[float, float] = (20.0, 2.0)
    warmup: float = 0.2  # share of iterations without the regulariser
    lr: float = 0.03  # Adam step on V (0.01 had not converged in 200 steps)


def _rect_sigmoid(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h(V) and dh/dV."""
    sig = 1.0 / (1.0 + np.exp(-v))
    raw = sig * (ZETA - GAMMA) + GAMMA
    inside = (raw > 0.0) & (raw < 1.0)
    return np.clip(raw, 0.0, 1.0), np.where(inside, (ZETA - GAMMA) * sig * (1.0 - sig), 0.0)


def _gram_product(d: np.ndarray, gram: np.ndarray, group_of: np.ndarray) -> np.ndarray:
    """G d per channel (one shared G: a single matrix product)."""
    return d @ gram[0] if gram.shape[0] == 1 else np.einsum("oj,oij->oi", d, gram[group_of])


def learned_round(
    w: np.ndarray,
    scale: np.ndarray,
    qmax: int,
    gram: np.ndarray | Objective,
    group_of: np.ndarray,
    count: int,
    config: AdaRoundConfig | None = None,
    passes: float = 2.0,
) -> RoundingResult:
    """AdaRound: learned floor/ceil per weight minimising the layer's output reconstruction error, then the
    greedy descent of :func:`adaptive_round` from that point; the better of it and the greedy descent from
    nearest rounding is returned (so never worse than either on the calibration data)."""
    config = config or AdaRoundConfig()
    obj = _as_objective(gram, group_of, count)
    count = obj.count
    ratio = w / scale[:, None]
    low = np.floor(ratio)
    fixed_hi, fixed_lo = ratio >= qmax, ratio <= -qmax  # clipped weights keep the end code
    rest = np.clip(ratio - low, 1e-4, 1 - 1e-4)
    v = -np.log((ZETA - GAMMA) / (rest - GAMMA) - 1.0)  # h(V) starts at the fractional part
    nearest = adaptive_round(w, scale, qmax, obj, group_of, count, 0.0)
    norm = max(nearest.mse_before * max(count, 1), 1e-30)
    m1, m2 = np.zeros_like(v), np.zeros_like(v)
    start = int(config.warmup * config.iterations)
    for it in range(config.iterations):
        h, dh = _rect_sigmoid(v)
        q = np.where(fixed_hi, qmax, np.where(fixed_lo, -qmax, low + h))
        d = (q - ratio) * scale[:, None]
        grad_q = 2.0 * obj.gradient(d) * scale[:, None] / norm
        if it >= start:
            beta = config.beta[0] + (config.beta[1] - config.beta[0]) * (it - start) / max(config.iterations - start, 1)
            t = 2.0 * h - 1.0
            grad_q = grad_q - config.reg * beta * np.abs(t) ** (beta - 1.0) * np.sign(t) * 2.0 / t.size
        g = np.where(fixed_hi | fixed_lo, 0.0, grad_q * dh)
        m1 = 0.9 * m1 + 0.1 * g
        m2 = 0.999 * m2 + 0.001 * g * g
        v -= config.lr * (m1 / (1 - 0.9 ** (it + 1))) / (np.sqrt(m2 / (1 - 0.999 ** (it + 1))) + 1e-8)
    h, _ = _rect_sigmoid(v)
    hard = np.clip(np.where(fixed_hi, qmax, np.where(fixed_lo, -qmax, low + (h >= 0.5))), -qmax, qmax)
    learned = adaptive_round(w, scale, qmax, obj, group_of, count, passes, start=hard)
    greedy = adaptive_round(w, scale, qmax, obj, group_of, count, passes)
    # per channel the better of the two (channels are independent: each has its own loss)
    pick = learned.channel_loss <= greedy.channel_loss
    values = np.where(pick[:, None], learned.values, greedy.values)
    channel_loss = np.where(pick, learned.channel_loss, greedy.channel_loss)
    rounded = np.clip(np.sign(ratio) * np.floor(np.abs(ratio) + 0.5), -qmax, qmax)
    return RoundingResult(
        values, int(np.count_nonzero(values != rounded)), nearest.mse_before, float(channel_loss.sum()), channel_loss
    )
