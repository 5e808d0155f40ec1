"""How the policy search scores a set of activation parameters: lower, simulate bit-exactly on the scoring
samples, compare with float, per sample -- and when one score counts as better than another.

Per-sample losses (not just their mean) let a move be judged by a paired test: on 64-128 scoring samples
the mean softmax KL is dominated by a handful of samples near a decision boundary (on mobilenetv3_small's
128 calibration samples the 5 worst carry 40-63 % of it), so small differences of the mean are noise.
With ``significance`` > 0 a move is only accepted when its per-sample improvements are consistent; the
policy search leaves it off by default (measured: on 128 samples it blocks the real gains with the noise).
The robust aggregates (``trimmed``, ``log``) are off by default too: they lower the eval-input KL on some
models and raise it on others, and top-1 does not follow (docs/calibration.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from .ir import Graph, ModelError
from .lower import LowerOptions, lower
from .plan import RequantProfile
from .quant import TensorQuant
from .sim.scoring import SimulatedOutputs, relative_squared_errors

log = logging.getLogger(__name__)


def output_losses(kind: str, ref: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Per-sample loss of one output: softmax KL for 2-D class rows under ``kl``, else the relative squared
    error (its mean is 1/SQNR)."""
    if kind == "kl" and ref.ndim == 2 and ref.shape[1] >= 2:
        p, q = _probabilities(ref), _probabilities(got, like=ref)
        return np.sum(p * (np.log(p + 1e-12) - np.log(q + 1e-12)), axis=1)
    return relative_squared_errors(ref, got)


def output_loss(kind: str, ref: np.ndarray, got: np.ndarray) -> float:
    """Loss of one output: the mean of :func:`output_losses`."""
    return float(np.mean(output_losses(kind, ref, got)))


def _probabilities(x: np.ndarray, like: np.ndarray | None = None) -> np.ndarray:
    """Rows as probabilities: as they are when the float output already is one (a final Softmax), else softmax."""
    ref = x if like is None else like
    if np.all(ref >= 0) and np.allclose(ref.sum(axis=1), 1.0, atol=1e-3):
        clipped = np.clip(x, 0.0, None)
        return clipped / np.maximum(clipped.sum(axis=1, keepdims=True), 1e-12)
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Score:
    """Loss of one plan on all scoring samples, on the search half and on the held-out half; ``per_sample``
    is the loss of each scoring sample (summed over outputs; its mean is ``total``)."""

    total: float
    search: float
    heldout: float
    per_sample: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)

    def beats(self, other: "Score", min_gain: float, significance: float = 0.0) -> bool:
        """Lower by ``min_gain`` of the search-half loss, lower on the held-out half (when there is one), and
        (``significance`` > 0) lower per sample by that many standard errors of the paired differences."""
        return (
            self.search < other.search * (1.0 - min_gain)
            and self.heldout <= other.heldout
            and (self.heldout < other.heldout or self.heldout == 0.0)
            and self.significantly_below(other, significance)
        )

    def significantly_below(self, other: "Score", significance: float) -> bool:
        """Paired test over the scoring samples: mean improvement > ``significance`` x its standard error.
        Without per-sample losses (or with ``significance`` 0) only the totals are compared."""
        if self.total >= other.total:
            return False
        a, b = self.per_sample, other.per_sample
        if significance <= 0.0 or len(a) < 2 or len(a) != len(b):
            return True
        diff = b - a
        if not np.all(np.isfinite(diff)):
            return bool(np.isfinite(self.total))
        spread = float(np.std(diff, ddof=1)) / np.sqrt(len(diff))
        return bool(float(np.mean(diff)) > significance * spread)


AGGREGATES = ("mean", "trimmed", "log")


def aggregate(kind: str, losses: np.ndarray) -> float:
    """One figure from per-sample losses. ``mean`` is the plain mean; ``trimmed`` drops the 10 % largest and
    10 % smallest before averaging; ``log`` is the geometric mean (mean of log loss), so a sample's weight does
    not grow with how badly it is hit and a few boundary samples cannot steer the search."""
    if not len(losses):
        return 0.0
    if kind == "trimmed" and len(losses) >= 10:
        cut = len(losses) // 10
        return float(np.mean(np.sort(losses)[cut : len(losses) - cut]))
    if kind == "log":
        return float(np.exp(np.mean(np.log(np.maximum(losses, 0.0) + 1e-12))))
    return float(np.mean(losses))


FAILED = Score(float("inf"), float("inf"), float("inf"))
# Cost model of one evaluation (lower + simulate) on a quiet 2-core machine, measured on the example and zoo
# networks: fixed + per layer + per multiply-accumulate and sample.
_COST_FIXED, _COST_PER_LAYER, _COST_PER_MAC = 5e-3, 2e-3, 0.6e-9


class OutputScorer:
    """Loss of a set of activation parameters: lower, simulate bit-exactly, compare with float; samples split
    in two interleaved halves (search, held-out)."""

    def __init__(
        self,
        graph: Graph,
        profile: RequantProfile,
        lowering: LowerOptions,
        x: list[np.ndarray],
        loss: str,
        holdout: bool = True,
        aggregate: str = "mean",
    ) -> None:
        self.graph, self.profile, self.lowering, self.kind = graph, profile, lowering, loss
        self.aggregate = aggregate
        self.outputs = SimulatedOutputs(graph, x)
        self.count = self.outputs.count
        split = holdout and self.count >= 2
        index = np.arange(self.count)
        self.halves = (index[0::2], index[1::2]) if split else (index, index[:0])
        self.refused = 0  # candidates lowering refused (counted as evaluations)
        self.plan_size: tuple[int, int] | None = None  # (layers, multiply-accumulates) of a lowered plan

    @property
    def evaluations(self) -> int:
        return self.outputs.evaluations + self.refused

    def budget(self, seconds: float) -> int:
        """Evaluations the modelled cost allows in ``seconds`` (deterministic: from the network's size)."""
        layers, macs = self.plan_size or (1, 0)
        cost = _COST_FIXED + _COST_PER_LAYER * layers + _COST_PER_MAC * macs * self.count
        return max(0, int(seconds / cost))

    def score(self, quant: dict[str, TensorQuant], lowering: LowerOptions | None = None) -> Score:
        plan = lower(self.graph, quant, self.profile, lowering or self.lowering)
        if self.plan_size is None:
            from .mixed.costs import layer_macs

            self.plan_size = (len(plan.layers), sum(layer_macs(plan, layer) for layer in plan.layers))
        per_sample = sum(output_losses(self.kind, ref, got) for ref, got in self.outputs.pairs(plan))
        search, held = self.halves
        agg = self.aggregate
        total = aggregate(agg, per_sample)
        if not len(held):
            return Score(total, total, 0.0, per_sample)
        return Score(total, aggregate(agg, per_sample[search]), aggregate(agg, per_sample[held]), per_sample)

    def loss(self, quant: dict[str, TensorQuant]) -> float:
        return self.score(quant).total

    def try_score(self, quant: dict[str, TensorQuant], lowering: LowerOptions | None = None) -> Score:
        """A candidate the board cannot represent (lowering refuses its scale) is never chosen."""
        try:
            return self.score(quant, lowering)
        except ModelError as exc:
            log.debug("policy search: candidate not representable here (%s)", exc)
            self.refused += 1
            return FAILED

    def try_loss(self, quant: dict[str, TensorQuant]) -> float:
        return self.try_score(quant).total
