"""The inputs the quantized network actually feeds each layer, for sequential weight refinement.

AdaRound proper reconstructs each layer's float output from the inputs the *quantized* network produces:
the earlier layers are already rounded (and bias-corrected), their outputs are on the integer grid, and
each layer can absorb part of the error it inherits. :class:`SequentialInputs` runs the normalized graph
in float (:mod:`fixpoint.normalize.float_exec`) twice over the calibration samples, node by node as the
lowering reaches them:

* the float pass (original weights) gives the target: ``x_f`` at each layer input;
* the quantized pass uses the weights already lowered (dequantized, with their corrected bias) and puts
  every activation on the grid of its plan tensor (scale, zero point, clamp), so ``x_q`` carries the
  earlier layers' weight and activation rounding.

Values are dropped once their last consumer has run, which bounds memory to the live activations.
"""

from __future__ import annotations

import logging

import numpy as np

from fixpoint.ir import Node
from fixpoint.normalize.float_exec import KERNELS

from .adaround import Objective
from .context import LowerContext
from .patches import _im2col

log = logging.getLogger(__name__)


class SequentialInputs:
    """Float and quantized-network activations of a graph, advanced lazily in node order."""

    def __init__(self, ctx: LowerContext, inputs: dict[str, np.ndarray]) -> None:
        self.ctx = ctx
        self.float_env = {name: np.asarray(x, np.float64) for name, x in inputs.items()}
        self.quant_env = dict(self.float_env)
        self.lowered: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # node -> dequantized weight, bias
        self.done = 0
        self.last_use = _last_use(ctx)
        self._fake_quantized: set[str] = set()

    def record(self, node: Node, weight: np.ndarray, bias: np.ndarray) -> None:
        """The float weights (dequantized) and bias ``node`` was lowered to."""
        self.lowered[node.name] = (np.asarray(weight, np.float64), np.asarray(bias, np.float64))

    def inputs_of(self, node: Node) -> tuple[np.ndarray, np.ndarray]:
        """(quantized-network input, float input) of ``node``'s data input, NHWC, over the samples."""
        nodes = self.ctx.graph.nodes
        while self.done < len(nodes) and nodes[self.done] is not node:
            self._run(nodes[self.done], self.done)
            self.done += 1
        name = node.inputs[0]
        return self._grid(name), self.float_env[name]

    def _grid(self, name: str) -> np.ndarray:
        """The quantized env's ``name`` on its plan tensor's grid (once; the plan tensor exists by now)."""
        x = self.quant_env[name]
        if name in self._fake_quantized or name not in self.ctx.index:
            return x
        qp = self.ctx.qparams(name)
        q = np.clip(np.floor(x / qp.scale + 0.5) + qp.zero_point, qp.qmin, qp.qmax)
        self.quant_env[name] = (q - qp.zero_point) * qp.scale
        self._fake_quantized.add(name)
        return self.quant_env[name]

    def _run(self, node: Node, position: int) -> None:
        graph = self.ctx.graph
        out = graph.values[node.outputs[0]]
        float_args, quant_args = [], []
        for k, name in enumerate(node.inputs):
            if name in self.float_env:
                float_args.append(self.float_env[name])
                quant_args.append(self._grid(name))
                continue
            const = self.ctx.const(node, k, "input")
            float_args.append(const)
            quant_args.append(const)
        if node.name in self.lowered:
            quant_args[1] = self.lowered[node.name][0]
            quant_args[2:] = [self.lowered[node.name][1]]
        shape = [len(float_args[0]), *out.shape[1:]]  # the graph's batch is 1; the samples' is n
        self.float_env[out.name] = KERNELS[node.op](node, float_args, shape)
        self.quant_env[out.name] = KERNELS[node.op](node, quant_args, shape)
        for name in node.inputs:
            if self.last_use.get(name, -1) <= position and name in self.float_env:
                del self.float_env[name], self.quant_env[name]


def _last_use(ctx: LowerContext) -> dict[str, int]:
    """Value name -> index of the last node reading it (graph outputs are never needed here)."""
    last: dict[str, int] = {}
    for i, node in enumerate(ctx.graph.nodes):
        for name in node.inputs:
            last[name] = i
    return last


CHUNK = 8  # samples per im2col chunk: bounds memory for large feature maps


def _group_rows(node: Node, x: np.ndarray, w_shape: tuple[int, ...], out_shape: list[int]):
    """Patch rows of ``x`` per channel group as [rows, n_groups, depth] (the layout of PatchStats)."""
    if node.op == "fully_connected":
        return x.reshape(-1, 1, w_shape[1])
    kh, kw = w_shape[1], w_shape[2]
    cg = w_shape[3] if node.op == "conv2d" else 1
    n_groups = x.shape[3] // cg
    cols = _im2col(x, node, kh, kw, (out_shape[1], out_shape[2]))
    flat = cols.reshape(-1, kh, kw, n_groups, cg)
    return np.moveaxis(flat, 3, 1).reshape(len(flat), n_groups, kh * kw * cg)


def reconstruction_terms(
    node: Node,
    xq: np.ndarray,
    xf: np.ndarray,
    w2: np.ndarray,
    w_shape: tuple[int, ...],
    out_shape: list[int],
    centered: bool,
) -> tuple[Objective, np.ndarray, np.ndarray]:
    """The layer's :class:`Objective` on quantized-network patches ``xq`` against float patches ``xf``, and
    the mean patches (quantized, float) per group. ``w2``: float weights [C_out, depth] in patch order.

    ``centered``: the loss left after bias correction (each channel's mean residual removed).
    """
    c_out, depth = w2.shape
    gram = total_q = total_f = None
    linear, sum_e, sq_e = np.zeros((c_out, depth)), np.zeros(c_out), np.zeros(c_out)
    count = 0
    for start in range(0, len(xq), CHUNK):
        rq = _group_rows(node, np.asarray(xq[start : start + CHUNK], np.float64), w_shape, out_shape)
        rf = _group_rows(node, np.asarray(xf[start : start + CHUNK], np.float64), w_shape, out_shape)
        n_groups = rq.shape[1]
        group_of = np.arange(c_out) // (c_out // n_groups)
        if gram is None:
            gram, total_q, total_f = (
                np.zeros((n_groups, depth, depth)),
                np.zeros((n_groups, depth)),
                np.zeros((n_groups, depth)),
            )
        for g in range(n_groups):
            pq, pf = rq[:, g], rf[:, g]
            gram[g] += pq.T @ pq
            total_q[g] += pq.sum(axis=0)
            total_f[g] += pf.sum(axis=0)
            chans = np.flatnonzero(group_of == g)
            ew = (pq - pf) @ w2[chans].T  # [rows, channels]: inherited error per output
            linear[chans] += (pq.T @ ew).T
            sum_e[chans] += ew.sum(axis=0)
            sq_e[chans] += (ew**2).sum(axis=0)
        count += len(rq)
    mean_q, mean_f = total_q / max(count, 1), total_f / max(count, 1)
    group_of = np.arange(c_out) // (c_out // gram.shape[0])
    if centered:
        gram = gram - count * np.einsum("gi,gj->gij", mean_q, mean_q)
        linear = linear - mean_q[group_of] * sum_e[:, None]
        sq_e = sq_e - sum_e**2 / max(count, 1)
    return Objective(gram, group_of, count, linear, np.maximum(sq_e, 0.0)), mean_q, mean_f
