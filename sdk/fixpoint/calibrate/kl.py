"""Entropy (KL-divergence) threshold search, TensorRT style, vectorised.

For every candidate i (bins kept), TensorRT builds P = hist[:i] with all mass
beyond folded into bin i-1, and Q = hist[:i] merged into ``levels`` groups
and spread back evenly over each group's non-empty bins, then picks the i of
least KL(P || Q). Doing that literally is O(bins**2) Python work per tensor.

Here every term comes from prefix sums instead. With Z the total count,
h' the kept bins (outliers folded into the last), S_g / P_g / n_g the sum of
h / h' / the number of non-empty h' bins in group g, and Zq = sum(hist[:i]):

    KL = (1/Z) * sum_j h'_j log h'_j - log Z - (1/Z) * sum_g P_g log(S_g / (n_g Zq))

The first levels-1 groups depend only on the group size i // levels, so their
sum is computed once per distinct size and every candidate adds its own last
group in O(1). Unlike the reference implementations no epsilon smoothing is
applied: a candidate whose last group would get probability 0 for outlier
mass is simply invalid.
"""

from __future__ import annotations

import numpy as np


def _xlogx(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)


def kl_divergences(hist: np.ndarray, levels: int, kept: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(candidates i, KL for each); by default i = levels .. last non-empty bin + 1."""
    h = np.asarray(hist, np.float64)
    last = last_occupied(h)
    if last <= levels:
        return np.array([max(last, 1)]), np.zeros(1)
    if kept is None:
        kept = np.arange(levels, last + 1)
    cum = np.concatenate([[0.0], np.cumsum(h)])
    cum_nz = np.concatenate([[0.0], np.cumsum(h > 0)])
    cum_hlogh = np.concatenate([[0.0], np.cumsum(_xlogx(h))])
    total = cum[-1]
    outliers = total - cum[kept]
    last_bin = h[kept - 1]

    per_group = kept // levels  # the last group also takes the remainder
    head = _head_terms(cum, cum_nz, levels, per_group)
    last_start = (levels - 1) * per_group
    s_last = cum[kept] - cum[last_start]  # S of the last group (no outliers)
    n_last = cum_nz[kept] - cum_nz[last_start]
    n_last = n_last + ((last_bin == 0) & (outliers > 0))  # the folded bin becomes non-empty
    # P_g = S_g except the last group, which also holds the outliers. Since n_g >= 1
    # wherever S_g > 0, sum_g P_g log(S_g / n_g) needs no masking beyond xlogx.
    p_last = s_last + outliers
    cross = (
        head
        + p_last * (np.log(np.maximum(s_last, 1e-300)) - np.log(np.maximum(n_last, 1.0)))
        - total * np.log(np.maximum(cum[kept], 1e-300))
    )
    plogp = cum_hlogh[kept - 1] + _xlogx(last_bin + outliers)
    divergence = (plogp - cross) / total - np.log(total)
    divergence[(p_last > 0) & (s_last == 0)] = np.inf  # Q gives no mass where P has some
    divergence[cum[kept] == 0] = np.inf  # nothing at all below the threshold
    return kept, divergence


def _head_terms(cum: np.ndarray, cum_nz: np.ndarray, levels: int, per_group: np.ndarray) -> np.ndarray:
    """sum over the first levels-1 groups of S_g log S_g - S_g log n_g, for each candidate.

    Those groups depend on the group size only, not on where the last group
    ends, so each distinct size (at most bins / levels of them) is summed once:
    O(sizes * levels + candidates) instead of O(candidates * levels).
    """
    sizes = np.sort(np.asarray(per_group))
    distinct = sizes[np.concatenate([[True], sizes[1:] != sizes[:-1]])] if sizes.size else sizes
    starts = np.arange(levels - 1)[None, :] * distinct[:, None]
    group_sum = cum[starts + distinct[:, None]] - cum[starts]
    nonzero = cum_nz[starts + distinct[:, None]] - cum_nz[starts]
    by_size = np.sum(_xlogx(group_sum) - group_sum * np.log(np.maximum(nonzero, 1.0)), axis=1)
    return by_size[np.searchsorted(distinct, per_group)]


def last_occupied(hist: np.ndarray) -> int:
    """1 + index of the last non-empty bin (0 for an empty histogram)."""
    occupied = np.flatnonzero(hist)
    return int(occupied[-1]) + 1 if occupied.size else 0


def kl_threshold_bins(hist: np.ndarray, levels: int, max_candidates: int = 128) -> int:
    """Number of leading bins whose upper edge is the KL-optimal clip threshold.

    Every candidate when there are at most ``max_candidates``; otherwise a
    strided pass, then every candidate between the best one's neighbours
    (same answer on smooth histograms at a fraction of the work).
    """
    last = last_occupied(hist)
    if last <= levels:
        return max(last, 1)
    stride = max(1, -(-(last - levels) // max_candidates))
    coarse = np.arange(levels, last + 1, stride)
    if coarse[-1] != last:  # (np.unique would do, but its first call costs a 45 ms lazy import)
        coarse = np.append(coarse, last)
    kept, divergence = kl_divergences(hist, levels, coarse)
    best = int(kept[int(np.argmin(divergence))])
    if stride == 1:
        return best
    fine = np.arange(max(levels, best - stride), min(last, best + stride) + 1)
    kept, divergence = kl_divergences(hist, levels, fine)
    return int(kept[int(np.argmin(divergence))])
