"""Label-free per-tensor policy search on the simulated network output (the default of ``fixpoint calibrate``).

Every range policy optimises something local to its tensor; the user cares about
the network output. This stage picks, per activation tensor, one candidate
(policy x percentile level x activation scheme the board allows) by the loss of
the bit-exact simulated output against the float model on a few calibration
samples -- no labels:

1. **Starting points.** Every candidate policy is first applied to *all*
   tensors and scored; the best of these single policies is where the search
   starts. The result is therefore never worse than the best single policy on
   the scoring data (by construction: the search only accepts improvements).
2. **First sweep** (graph order): for each tensor every candidate is tried with
   the other tensors fixed; the best is kept (greedy coordinate descent). The
   spread of a tensor's candidate losses is its sensitivity.
3. **Second sweep** over the sensitive tensors, most sensitive first, with the
   later choices in place -- greedy-once misses interactions such as a
   consumer's range that only pays once its producer's range moved.

The whole search is time-boxed (``time_box`` seconds of wall time, checked
before every simulation; the starting points are always completed) and bounded
by ``max_evaluations``. Loss (``loss``): ``kl`` is the mean KL divergence of
the softmax of float vs integer outputs (outputs that are already probability
rows are used as they are) for 2-D ``[batch, classes]`` outputs and 1/SQNR for
the others; ``mse`` is 1/SQNR everywhere (regressors, detectors).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .calibrate import CalibrationConfig, CalibrationResult
from .calibrate.config import parse_policy, resolve_policies
from .calibrate.data import first_inputs
from .calibrate.policies import choose_range
from .calibrate.qparams import quant_from_range
from .ir import Graph, ModelError
from .lower import LowerOptions, lower
from .plan import RequantProfile
from .quant import TensorQuant
from .sim.scoring import SimulatedOutputs, relative_mse

log = logging.getLogger(__name__)

DEFAULT_CANDIDATES = ("l2", "max", "percentile:99.9", "percentile:99.99", "percentile:99.999", "kl", "l1")
LOSSES = ("kl", "mse")


@dataclass
class PolicySearchOptions:
    """What to try, on how much data, for how long."""

    candidates: tuple[str, ...] = DEFAULT_CANDIDATES
    loss: str = "kl"                # see the module docstring
    num_samples: int = 128          # calibration samples the loss is measured on
    time_box: float = 30.0          # seconds of wall time (the single-policy starts always complete)
    max_evaluations: int = 100000   # plans simulated at most (a deterministic bound, e.g. for tests)
    sweeps: int = 2
    min_gain: float = 0.02          # a change must lower the loss by this share (guards against fitting noise)
    try_symmetric: bool = True      # also offer the symmetric scheme where the asymmetric one is the default
    progress: bool = True

    def validate(self) -> None:
        if not self.candidates:
            raise ModelError("policy search: no candidate policies given")
        if self.loss not in LOSSES:
            raise ModelError(f"policy search: unknown loss '{self.loss}' (choose from {', '.join(LOSSES)})")
        if self.num_samples < 1:
            raise ModelError(f"policy search: num_samples must be at least 1, got {self.num_samples}")
        if not self.time_box > 0:
            raise ModelError(f"policy search: time box must be positive, got {self.time_box}")
        if self.sweeps < 0:
            raise ModelError(f"policy search: sweeps must be >= 0, got {self.sweeps}")


@dataclass
class PolicySearchReport:
    """What the search did; ``chosen``/``gain`` feed the calibration report."""

    loss: str
    default_policy: str
    default_loss: float                 # every tensor at the configured policy
    single: dict[str, float]            # candidate spec applied to every tensor -> loss
    start: str                          # best single policy
    final_loss: float
    chosen: dict[str, str] = field(default_factory=dict)       # tensor -> candidate label
    gain: dict[str, float] = field(default_factory=dict)        # tensor -> loss drop its choice caused
    unchanged: list[str] = field(default_factory=list)          # tensors left with the default's range
    evaluations: int = 0
    sweeps_done: int = 0
    seconds: float = 0.0
    timed_out: bool = False
    num_samples: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"loss": self.loss, "default_policy": self.default_policy, "default_loss": self.default_loss,
                "single": self.single, "start": self.start, "final_loss": self.final_loss,
                "chosen": self.chosen, "gain": self.gain, "unchanged": self.unchanged,
                "evaluations": self.evaluations,
                "sweeps_done": self.sweeps_done, "seconds": round(self.seconds, 2), "timed_out": self.timed_out,
                "num_samples": self.num_samples}


@dataclass(frozen=True)
class _Candidate:
    label: str          # e.g. "percentile:99.9" or "l2/sym"
    policy: str
    options: tuple      # sorted (key, value) pairs
    scheme: str


def search_policies(graph: Graph, calib: CalibrationResult, config: CalibrationConfig, profile: RequantProfile,
                    lowering: LowerOptions, samples, options: PolicySearchOptions | None = None
                    ) -> tuple[dict[str, TensorQuant], PolicySearchReport]:
    """The calibrated parameters with each searchable tensor's policy re-chosen on the output loss."""
    options = options or PolicySearchOptions()
    options.validate()
    t0 = time.monotonic()
    scorer = _OutputScorer(graph, profile, _search_lowering(lowering), first_inputs(samples, options.num_samples),
                           options.loss)
    targets = _searchable(graph, calib, config)
    table = _CandidateTable(calib, config, options)
    quant = dict(calib.quant)
    default_loss = scorer.loss(quant)
    report = PolicySearchReport(options.loss, config.policy, default_loss, {}, config.policy, default_loss,
                                num_samples=scorer.count)
    best = (default_loss, dict(quant), {n: config.policy for n in targets})
    for cand in table.global_candidates():
        trial = dict(calib.quant)
        picks = {}
        for name in targets:
            trial[name] = table.quant(name, cand)
            picks[name] = cand.label
        value = scorer.try_loss(trial)
        report.single[cand.label] = value
        if value < best[0]:
            best, report.start = (value, trial, picks), cand.label
    current, quant, picks = best
    clock = _Clock(t0, options.time_box, options.max_evaluations, scorer)
    sensitivity: dict[str, float] = {}
    order = list(targets)
    for sweep in range(options.sweeps):
        for name in order:
            if clock.expired():
                break
            current, spread = _improve(name, quant, picks, current, table, scorer, clock, options.min_gain)
            sensitivity[name] = max(sensitivity.get(name, 0.0), spread)
        if clock.expired():
            break
        report.sweeps_done = sweep + 1
        order = sorted((n for n in targets if sensitivity.get(n, 0.0) > 0.0), key=lambda n: -sensitivity[n])
    report.timed_out = clock.expired()
    report.final_loss, report.chosen = current, picks
    report.unchanged = [n for n in targets if _key(quant[n]) == _key(calib.quant[n])]
    report.gain = _attribute_gains(quant, calib.quant, targets, current, scorer, clock)
    report.evaluations, report.seconds = scorer.evaluations, time.monotonic() - t0
    log.info("policy search (%s loss, %d samples): default %s %.4g, best single %s %.4g, searched %.4g "
             "(%d plans, %.1f s%s)", options.loss, scorer.count, config.policy, default_loss, report.start,
             report.single.get(report.start, default_loss), current, report.evaluations, report.seconds,
             ", time box reached" if report.timed_out else "")
    return quant, report


class _Clock:
    """Time box and evaluation bound."""

    def __init__(self, t0: float, box: float, max_evaluations: int, scorer: "_OutputScorer") -> None:
        self.t0, self.box, self.max_evaluations, self.scorer = t0, box, max_evaluations, scorer

    def expired(self) -> bool:
        return (time.monotonic() - self.t0 > self.box) or self.scorer.evaluations >= self.max_evaluations


def _improve(name: str, quant: dict[str, TensorQuant], picks: dict[str, str], current: float,
             table: "_CandidateTable", scorer: "_OutputScorer", clock: _Clock,
             min_gain: float = 0.0) -> tuple[float, float]:
    """Try every candidate of ``name``; keep the best (in place) if it gains at least ``min_gain`` of the loss.
    Returns (loss, spread of finite losses)."""
    kept = quant[name]
    best = (current * (1.0 - min_gain), kept, picks[name])
    seen = {_key(kept): current}
    for cand in table.for_tensor(name):
        q = table.quant(name, cand)
        key = _key(q)
        if key not in seen:
            if clock.expired():
                break
            quant[name] = q
            seen[key] = scorer.try_loss(quant)
        if seen[key] < best[0]:       # strict: ties keep what is in place
            best = (seen[key], q, cand.label)
    quant[name], picks[name] = best[1], best[2]
    finite = [v for v in seen.values() if np.isfinite(v)]
    return seen[_key(best[1])], (max(finite) - min(finite)) if finite else 0.0


def _attribute_gains(quant: dict[str, TensorQuant], calibrated: dict[str, TensorQuant], targets: list[str],
                     final: float, scorer: "_OutputScorer", clock: _Clock) -> dict[str, float]:
    """Per tensor whose range differs from the default: loss with only that tensor set back minus the final
    loss (what its choice gains given the others), when time is left; else omitted."""
    gains: dict[str, float] = {}
    for name in targets:
        if _key(quant[name]) == _key(calibrated[name]) or clock.expired():
            continue
        trial = dict(quant)
        trial[name] = calibrated[name]
        gains[name] = scorer.try_loss(trial) - final
    return gains


def _key(q: TensorQuant) -> tuple[float, int]:
    return (q.scale, q.zero_point)


class _CandidateTable:
    """Candidates per tensor and their parameters, each computed once."""

    def __init__(self, calib: CalibrationResult, config: CalibrationConfig, options: PolicySearchOptions) -> None:
        self.calib, self.config = calib, config
        scheme = config.resolved_scheme
        self.schemes = [scheme]
        if options.try_symmetric and scheme == "asymmetric" and config.bits == 8:
            self.schemes.append("symmetric")
        self.base = []
        for spec in options.candidates:
            policy, opts = parse_policy(spec, config.percentile, "policy search candidate")
            self.base.append(_Candidate(spec, policy, tuple(sorted(opts.items())), scheme))
        self._cache: dict[tuple[str, _Candidate], TensorQuant] = {}

    def global_candidates(self) -> list[_Candidate]:
        return list(self.base)

    def for_tensor(self, name: str) -> list[_Candidate]:
        """Base candidates, plus their symmetric variants for signed tensors (a one-sided tensor would
        waste half the codes)."""
        result = list(self.base)
        stats = self.calib.stats[name]
        if len(self.schemes) > 1 and stats.min < 0.0 < stats.max:
            result += [replace(c, label=f"{c.label}/sym", scheme="symmetric") for c in self.base]
        return result

    def quant(self, name: str, cand: _Candidate) -> TensorQuant:
        key = (name, cand)
        if key not in self._cache:
            stats = self.calib.stats[name]
            choice = choose_range(cand.policy, stats, self.config.bits, cand.scheme, **dict(cand.options))
            self._cache[key] = quant_from_range(name, choice.lo, choice.hi, self.config.bits, cand.scheme,
                                                choice.policy, (stats.min, stats.max))
        return self._cache[key]


def _searchable(graph: Graph, calib: CalibrationResult, config: CalibrationConfig) -> list[str]:
    """Calibrated tensors in graph order, minus those the user pinned to a policy and those a QDQ model
    or an encodings file gave (kept as given)."""
    names = [n for n in graph.activation_names() if n in calib.quant and n in calib.stats
             and n not in config.pinned]
    if any(calib.stats[n].hist is None for n in names):
        raise ModelError("policy search needs histograms (statistics were collected as min/max only)")
    if not config.per_tensor_policy:
        return names
    default = parse_policy(config.policy, config.percentile, "policy")
    specs = resolve_policies(names, graph, config)
    return [n for n in names if specs[n] == default]


def _search_lowering(lowering: LowerOptions) -> LowerOptions:
    """The user's lowering without its data-driven refinements (they barely move ranges; speed)."""
    return replace(lowering, equalize=False, bias_correction=False, adaptive_rounding=False, samples=None)


def output_loss(kind: str, ref: np.ndarray, got: np.ndarray) -> float:
    """Loss of one output: softmax KL for 2-D class rows under ``kl``, else 1/SQNR."""
    if kind == "kl" and ref.ndim == 2 and ref.shape[1] >= 2:
        p, q = _probabilities(ref), _probabilities(got, like=ref)
        return float(np.mean(np.sum(p * (np.log(p + 1e-12) - np.log(q + 1e-12)), axis=1)))
    return relative_mse(ref, got)


def _probabilities(x: np.ndarray, like: np.ndarray | None = None) -> np.ndarray:
    """Rows as probabilities: as they are when the float output already is one (a final Softmax), else softmax."""
    ref = x if like is None else like
    if np.all(ref >= 0) and np.allclose(ref.sum(axis=1), 1.0, atol=1e-3):
        clipped = np.clip(x, 0.0, None)
        return clipped / np.maximum(clipped.sum(axis=1, keepdims=True), 1e-12)
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class _OutputScorer:
    """Loss of a set of activation parameters: lower, simulate bit-exactly, compare with float."""

    def __init__(self, graph: Graph, profile: RequantProfile, lowering: LowerOptions, x: list[np.ndarray],
                 loss: str) -> None:
        self.graph, self.profile, self.lowering, self.kind = graph, profile, lowering, loss
        self.outputs = SimulatedOutputs(graph, x)
        self.count = self.outputs.count
        self.refused = 0             # candidates lowering refused (counted as evaluations)

    @property
    def evaluations(self) -> int:
        return self.outputs.evaluations + self.refused

    def loss(self, quant: dict[str, TensorQuant]) -> float:
        plan = lower(self.graph, quant, self.profile, self.lowering)
        return sum(output_loss(self.kind, ref, got) for ref, got in self.outputs.pairs(plan))

    def try_loss(self, quant: dict[str, TensorQuant]) -> float:
        """A candidate the board cannot represent (lowering refuses its scale) is never chosen."""
        try:
            return self.loss(quant)
        except ModelError as exc:
            log.debug("policy search: candidate not representable here (%s)", exc)
            self.refused += 1
            return float("inf")
