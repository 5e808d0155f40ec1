"""Second-order statistics of a layer's input patches, for the weight refinements.

For output channel ``o`` the pre-activation is ``p . w_o + b_o`` where ``p``
is the input patch the channel sees (im2col row, flattened like the weights:
KH, KW, C_in for conv; H, W, C for fully connected). A weight error ``d`` then
shifts the output by ``p . d``: its mean is ``mu . d`` (removed by bias
correction) and its mean square ``d^T G d / n`` with ``G = sum p p^T``.
Channels that see the same patches (a conv group, all of a fully connected
layer) share one ``G``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fixpoint.ir import Node

CHUNK = 8  # samples per im2col chunk: bounds memory for large feature maps


@dataclass
class PatchStats:
    gram: np.ndarray  # [n_groups, depth, depth], sum of p p^T
    mean: np.ndarray  # [n_groups, depth], mean patch
    group_of: np.ndarray  # [C_out] -> group index
    count: int  # number of patches (rows)

    def centered(self) -> np.ndarray:
        """Covariance-like Gram (sum (p - mu)(p - mu)^T): what remains after bias correction."""
        return self.gram - self.count * np.einsum("gi,gj->gij", self.mean, self.mean)


def _im2col(x: np.ndarray, node: Node, kh: int, kw: int, out_hw: tuple[int, int]) -> np.ndarray:
    """[n, OH, OW, KH, KW, C] patches of NHWC ``x`` with zero (= real 0) padding."""
    top, left, bottom, right = node.attrs.get("pads", [0, 0, 0, 0])
    sh, sw = node.attrs.get("strides", [1, 1])
    dh, dw = node.attrs.get("dilations", [1, 1])
    oh, ow = out_hw
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    taps = [
        [xp[:, i * dh : i * dh + sh * oh : sh, j * dw : j * dw + sw * ow : sw, :] for j in range(kw)] for i in range(kh)
    ]
    return np.stack([np.stack(row, axis=3) for row in taps], axis=3)


def _accumulate(rows_per_group: list[np.ndarray], gram: np.ndarray, total: np.ndarray) -> None:
    for g, rows in enumerate(rows_per_group):
        gram[g] += rows.T @ rows
        total[g] += rows.sum(axis=0)


def patch_stats(node: Node, x: np.ndarray, w_shape: tuple[int, ...], out_shape: list[int]) -> PatchStats:
    """Statistics of ``node``'s input patches over float NHWC inputs ``x`` [n, H, W, C]."""
    x = np.asarray(x, dtype=np.float64)
    if node.op == "fully_connected":
        rows = x.reshape(-1, w_shape[1])  # one row per sample, or per step of a sequence (rank-3 MatMul)
        return PatchStats((rows.T @ rows)[None], rows.mean(axis=0)[None], np.zeros(w_shape[0], np.int64), len(rows))
    if node.op == "conv2d":
        c_out, kh, kw, cg = w_shape
        n_groups = x.shape[3] // cg
        group_of = np.arange(c_out) // (c_out // n_groups)
    else:  # depthwise: every output channel reads its own input channel
        _, kh, kw, c_out = w_shape
        cg, n_groups = 1, x.shape[3]
        group_of = np.arange(c_out) // (c_out // n_groups)
    depth = kh * kw * cg
    gram, total, count = np.zeros((n_groups, depth, depth)), np.zeros((n_groups, depth)), 0
    for start in range(0, len(x), CHUNK):
        cols = _im2col(x[start : start + CHUNK], node, kh, kw, (out_shape[1], out_shape[2]))
        flat = cols.reshape(-1, kh, kw, n_groups, cg)
        _accumulate([flat[:, :, :, g, :].reshape(len(flat), depth) for g in range(n_groups)], gram, total)
        count += len(flat)
    return PatchStats(gram, total / max(count, 1), group_of, count)
