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
2. **Coarse to fine** (graph order): blocks of a quarter of the tensors, then
   smaller, down to single tensors; each block tries every candidate with the
   other tensors fixed (block coordinate descent). A move is kept only if it
   lowers the loss on the search half by ``min_gain`` and on the held-out half
   (optionally also per sample by a paired test, ``significance`` standard
   errors, ``fixpoint.policy_scoring``; off by default, docs/calibration.md).
   The spread of a block's candidate losses is its tensors' sensitivity.
3. **Second sweep** over the sensitive tensors, most sensitive first, with the
   later choices in place -- greedy-once misses interactions such as a
   consumer's range that only pays once its producer's range moved.
4. **Weight rounding** of the 8-bit layers (bias correction, AdaRound with it)
   as whole-plan candidates, kept on the loss, where the user left it automatic.

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
from .lower import LowerOptions
from .plan import RequantProfile
from .quant import TensorQuant
from .policy_scoring import FAILED as _FAILED  # noqa: F401  (re-exported for callers of the old names)
from .policy_scoring import AGGREGATES as _AGGREGATES
from .policy_scoring import OutputScorer as _OutputScorer
from .policy_scoring import Score as _Score
from .policy_scoring import output_loss  # noqa: F401  (re-exported: the bench and tests score with it)

log = logging.getLogger(__name__)

DEFAULT_CANDIDATES = ("l2", "max", "percentile:99.9", "percentile:99.99", "percentile:99.999", "kl", "l1")
LOSSES = ("kl", "mse")


@dataclass
class PolicySearchOptions:
    """What to try, on how much data, for how long."""

    candidates: tuple[str, ...] = DEFAULT_CANDIDATES
    loss: str = "kl"  # see the module docstring
    num_samples: int = 128  # the set must hold this many (the pipeline skips the search otherwise)
    scoring_samples: int = 256  # the loss is measured on up to this many (never fewer than num_samples)
    budget_seconds: float = 20.0  # plans simulated = this / the modelled cost of one on a quiet 2-core machine
    time_box: float = 120.0  # seconds of wall time, a safety net (the single-policy starts always complete)
    max_evaluations: int = 100000  # plans simulated at most (a deterministic bound, e.g. for tests)
    sweeps: int = 2  # sweeps at the per-tensor level
    min_gain: float = 0.02  # a change must lower the loss by this share (guards against fitting noise)
    holdout: bool = True  # a change must also lower the loss on the held-out half of the samples
    significance: float = 0.0  # ... and per sample by this many standard errors (paired test; 0: off, see docs)
    aggregate: str = "mean"  # per-sample losses -> one figure (see policy_scoring.aggregate)
    weight_rounding: bool = True  # try bias correction / AdaRound of the 8-bit layers at the end (when automatic)
    try_symmetric: bool = True  # also offer the symmetric scheme where the asymmetric one is the default
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
        if not self.budget_seconds > 0:
            raise ModelError(f"policy search: budget must be positive, got {self.budget_seconds}")
        if self.sweeps < 0:
            raise ModelError(f"policy search: sweeps must be >= 0, got {self.sweeps}")
        if self.aggregate not in _AGGREGATES:
            raise ModelError(
                f"policy search: unknown aggregate '{self.aggregate}' (choose from {', '.join(_AGGREGATES)})"
            )
        if not self.significance >= 0:
            raise ModelError(f"policy search: significance must be >= 0, got {self.significance}")


@dataclass
class PolicySearchReport:
    """What the search did; ``chosen``/``gain`` feed the calibration report."""

    loss: str
    default_policy: str
    default_loss: float  # every tensor at the configured policy
    single: dict[str, float]  # candidate spec applied to every tensor -> loss
    start: str  # best single policy
    final_loss: float
    chosen: dict[str, str] = field(default_factory=dict)  # tensor -> candidate label
    gain: dict[str, float] = field(default_factory=dict)  # tensor -> loss drop its choice caused
    unchanged: list[str] = field(default_factory=list)  # tensors left with the default's range
    evaluations: int = 0
    sweeps_done: int = 0
    seconds: float = 0.0
    timed_out: bool = False
    num_samples: int = 0
    budget: int = 0  # plans the deterministic budget allowed
    bias_correction: bool | None = None  # 8-bit layers' bias correction: chosen on the loss (None: not tried)
    bias_correction_loss: float = 0.0  # the loss with it
    adaptive_rounding: bool | None = None  # 8-bit layers' AdaRound (with bias correction): chosen on the loss
    adaptive_rounding_loss: float = 0.0  # the loss with both (0: not tried, e.g. beyond its cost bound)
    heldout_loss: float = 0.0  # final loss on the held-out half (0 without a held-out split)

    def as_dict(self) -> dict[str, Any]:
        return {
            "loss": self.loss,
            "default_policy": self.default_policy,
            "default_loss": self.default_loss,
            "single": self.single,
            "start": self.start,
            "final_loss": self.final_loss,
            "chosen": self.chosen,
            "gain": self.gain,
            "unchanged": self.unchanged,
            "evaluations": self.evaluations,
            "sweeps_done": self.sweeps_done,
            "seconds": round(self.seconds, 2),
            "timed_out": self.timed_out,
            "num_samples": self.num_samples,
            "budget": self.budget,
            "heldout_loss": self.heldout_loss,
            "bias_correction": self.bias_correction,
            "bias_correction_loss": self.bias_correction_loss,
            "adaptive_rounding": self.adaptive_rounding,
            "adaptive_rounding_loss": self.adaptive_rounding_loss,
        }

    def refined(self, lowering: LowerOptions) -> LowerOptions:
        """``lowering`` with the weight refinements the search found to pay, where the user left them
        automatic (None)."""
        chosen = {"bias_correction": self.bias_correction, "adaptive_rounding": self.adaptive_rounding}
        changes = {k: True for k, v in chosen.items() if v and getattr(lowering, k) is None}
        return replace(lowering, **changes) if changes else lowering


@dataclass(frozen=True)
class _Candidate:
    label: str  # e.g. "percentile:99.9" or "l2/sym"
    policy: str
    options: tuple  # sorted (key, value) pairs
    scheme: str


def search_policies(
    graph: Graph,
    calib: CalibrationResult,
    config: CalibrationConfig,
    profile: RequantProfile,
    lowering: LowerOptions,
    samples,
    options: PolicySearchOptions | None = None,
) -> tuple[dict[str, TensorQuant], PolicySearchReport]:
    """The calibrated parameters with each searchable tensor's policy re-chosen on the output loss."""
    options = options or PolicySearchOptions()
    options.validate()
    t0 = time.monotonic()
    count = max(options.num_samples, options.scoring_samples)
    scorer = _OutputScorer(
        graph,
        profile,
        _search_lowering(lowering),
        first_inputs(samples, count),
        options.loss,
        options.holdout,
        options.aggregate,
    )
    targets = _searchable(graph, calib, config)
    table = _CandidateTable(calib, config, options)
    quant = dict(calib.quant)
    default = scorer.try_score(quant)
    report = PolicySearchReport(
        options.loss, config.policy, default.total, {}, config.policy, default.total, num_samples=scorer.count
    )
    best = (default, dict(quant), {n: config.policy for n in targets})
    for cand in table.global_candidates():
        trial = dict(calib.quant)
        picks = {}
        for name in targets:
            trial[name] = table.quant(name, cand)
            picks[name] = cand.label
        score = scorer.try_score(trial)
        report.single[cand.label] = score.total
        if score.total < best[0].total:
            best, report.start = (score, trial, picks), cand.label
    current, quant, picks = best
    report.budget = min(options.max_evaluations, scorer.evaluations + scorer.budget(options.budget_seconds))
    clock = _Clock(t0, options.time_box, report.budget, scorer)
    current = _coarse_to_fine(targets, quant, picks, current, table, scorer, clock, options, report)
    report.timed_out = clock.timed_out()
    report.final_loss, report.heldout_loss, report.chosen = current.total, current.heldout, picks
    report.unchanged = [n for n in targets if _key(quant[n]) == _key(calib.quant[n])]
    report.gain = _attribute_gains(quant, calib.quant, targets, current.total, scorer, clock)
    if options.weight_rounding:
        report.final_loss = _choose_weight_rounding(quant, current, scorer, lowering, samples, options, report)
    report.evaluations, report.seconds = scorer.evaluations, time.monotonic() - t0
    log.info(
        "policy search (%s loss, %d samples): default %s %.4g, best single %s %.4g, searched %.4g, "
        "with weight rounding %.4g%s (%d plans of a budget of %d, %.1f s%s)",
        options.loss,
        scorer.count,
        config.policy,
        default.total,
        report.start,
        report.single.get(report.start, default.total),
        current.total,
        report.final_loss,
        " (AdaRound)" if report.adaptive_rounding else " (bias correction)" if report.bias_correction else "",
        report.evaluations,
        report.budget,
        report.seconds,
        ", time box reached" if report.timed_out else "",
    )
    return quant, report


def _coarse_to_fine(
    targets: list[str],
    quant: dict[str, TensorQuant],
    picks: dict[str, str],
    current: "_Score",
    table: "_CandidateTable",
    scorer: "_OutputScorer",
    clock: "_Clock",
    options: PolicySearchOptions,
    report: PolicySearchReport,
) -> "_Score":
    """Block coordinate descent from blocks of a quarter of the tensors down to single tensors, then a
    second sweep over the sensitive ones, most sensitive first; stops where the budget ends."""
    sensitivity: dict[str, float] = {}
    for blocks in _block_levels(targets):
        for block in blocks:
            if clock.expired():
                return current
            current, spread = _improve(block, quant, picks, current, table, scorer, clock, options)
            for name in block:
                sensitivity[name] = max(sensitivity.get(name, 0.0), spread)
    report.sweeps_done = 1
    order = list(targets)
    for sweep in range(1, options.sweeps):
        order = sorted((n for n in order if sensitivity.get(n, 0.0) > 0.0), key=lambda n: -sensitivity[n])
        for name in order:
            if clock.expired():
                return current
            current, spread = _improve([name], quant, picks, current, table, scorer, clock, options)
            sensitivity[name] = spread
        report.sweeps_done = sweep + 1
    return current


def _choose_weight_rounding(
    quant: dict[str, TensorQuant],
    current: "_Score",
    scorer: "_OutputScorer",
    lowering: LowerOptions,
    samples,
    options: PolicySearchOptions,
    report: PolicySearchReport,
) -> float:
    """Whether the 8-bit layers should also correct the mean output shift of their weight rounding
    (``bias_correction``), and learn their rounding (AdaRound, with the correction), both on by themselves only
    at 4 bits: each is one more plan, the one of least loss on all scoring samples is kept (two whole-plan
    choices fit little noise, unlike hundreds of range moves: no paired test; they fit on the first
    ``max_samples`` of the scoring samples, so the loss leans their way). Where int8 weights, not activations,
    limit the output
    (two_outputs: 21.7 dB with 16-bit activations) this is what helps: its eval agreement with float goes
    97.4 -> 98.4 % with the correction, 98.0-99.0 % with AdaRound. AdaRound is tried only where its modelled
    cost fits a quarter of ``budget_seconds``. Only what the user left automatic; returns the final loss."""
    if samples is None or lowering.weight_bits != 8 or lowering.bias_correction is not None:
        return current.total
    base = replace(scorer.lowering, samples=samples, max_samples=lowering.max_samples)
    trials = {"bias_correction": replace(base, bias_correction=True)}
    if lowering.adaptive_rounding is None and _adaround_seconds(scorer.graph) <= options.budget_seconds / 4:
        trials["adaptive_rounding"] = replace(base, bias_correction=True, adaptive_rounding=True)
    best, choice = current, None
    for name, trial in trials.items():
        score = scorer.try_score(quant, trial)
        setattr(report, f"{name}_loss", score.total)
        if score.total < best.total:
            best, choice = score, name
    report.bias_correction = choice is not None
    report.adaptive_rounding = (choice == "adaptive_rounding") if "adaptive_rounding" in trials else None
    return best.total


# Modelled CPU seconds of AdaRound on every 8-bit weighted layer (quiet 2-core machine, the examples and zoo):
# fixed + per layer + per (output channel x patch depth^2), the size of its Gram-matrix products.
_ADAROUND_FIXED, _ADAROUND_PER_LAYER, _ADAROUND_PER_UNIT = 0.3, 0.02, 2.5e-7


def _adaround_seconds(graph: Graph) -> float:
    from .ops import registry

    axes = registry.runtime_values("weight_channel_axis")
    seconds = _ADAROUND_FIXED
    for node in graph.nodes:
        const = graph.values.get(node.inputs[1]) if len(node.inputs) > 1 else None
        if axes.get(node.op) is None or const is None or const.data is None:
            continue
        channels = const.data.shape[axes[node.op]]
        depth = const.data.size // max(channels, 1)
        seconds += _ADAROUND_PER_LAYER + _ADAROUND_PER_UNIT * channels * depth * depth
    return seconds


def _block_levels(targets: list[str]) -> list[list[list[str]]]:
    """Consecutive blocks of the tensors: 4 blocks, 16, ... and finally one tensor each."""
    levels, parts = [], 4
    while parts < len(targets):
        levels.append([list(b) for b in np.array_split(np.array(targets, dtype=object), parts)])
        parts *= 4
    levels.append([[n] for n in targets])
    return levels


class _Clock:
    """Evaluation budget (deterministic) and wall-time safety net."""

    def __init__(self, t0: float, box: float, max_evaluations: int, scorer: "_OutputScorer") -> None:
        self.t0, self.box, self.max_evaluations, self.scorer = t0, box, max_evaluations, scorer

    def timed_out(self) -> bool:
        return time.monotonic() - self.t0 > self.box

    def expired(self) -> bool:
        return self.timed_out() or self.scorer.evaluations >= self.max_evaluations


def _improve(
    block: list[str],
    quant: dict[str, TensorQuant],
    picks: dict[str, str],
    current: "_Score",
    table: "_CandidateTable",
    scorer: "_OutputScorer",
    clock: _Clock,
    options: PolicySearchOptions,
) -> tuple["_Score", float]:
    """Try every candidate on the whole ``block``; keep the best (in place) if it lowers the search loss by
    ``min_gain`` of it and (with a held-out split) the held-out loss. Returns (score, spread of losses)."""
    kept = ({n: quant[n] for n in block}, {n: picks[n] for n in block})
    best = (current, kept)
    seen = {tuple(_key(quant[n]) for n in block): current.total}
    for cand in table.for_block(block):
        qs = {n: table.quant(n, c) for n, c in cand.items()}
        key = tuple(_key(qs[n]) for n in block)
        if key in seen:
            continue
        if clock.expired():
            break
        quant.update(qs)
        score = scorer.try_score(quant)
        seen[key] = score.total
        if score.beats(current, options.min_gain, options.significance) and score.total < best[0].total:
            best = (score, (qs, {n: c.label for n, c in cand.items()}))
    quant.update(best[1][0])
    picks.update(best[1][1])
    finite = [v for v in seen.values() if np.isfinite(v)]
    return best[0], (max(finite) - min(finite)) if finite else 0.0


def _attribute_gains(
    quant: dict[str, TensorQuant],
    calibrated: dict[str, TensorQuant],
    targets: list[str],
    final: float,
    scorer: "_OutputScorer",
    clock: _Clock,
) -> dict[str, float]:
    """Per tensor whose range differs from the default: loss with only that tensor set back minus the final
    loss (what its choice gains given the others), while the budget lasts; else omitted."""
    gains: dict[str, float] = {}
    for name in targets:
        if _key(quant[name]) == _key(calibrated[name]) or clock.expired():
            continue
        trial = dict(quant)
        trial[name] = calibrated[name]
        gains[name] = scorer.try_score(trial).total - final
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

    def for_block(self, block: list[str]) -> list[dict[str, _Candidate]]:
        """Per base candidate: it on every tensor of the block, and (where offered) its symmetric variant on
        the block's signed tensors."""
        per_tensor = {n: {c.label: c for c in self.for_tensor(n)} for n in block}
        result = []
        for base in self.base:
            result.append({n: base for n in block})
            sym = f"{base.label}/sym"
            if any(sym in per_tensor[n] for n in block):
                result.append({n: per_tensor[n].get(sym, base) for n in block})
        return result

    def quant(self, name: str, cand: _Candidate) -> TensorQuant:
        key = (name, cand)
        if key not in self._cache:
            stats = self.calib.stats[name]
            choice = choose_range(cand.policy, stats, self.config.bits, cand.scheme, **dict(cand.options))
            self._cache[key] = quant_from_range(
                name, choice.lo, choice.hi, self.config.bits, cand.scheme, choice.policy, (stats.min, stats.max)
            )
        return self._cache[key]


def _searchable(graph: Graph, calib: CalibrationResult, config: CalibrationConfig) -> list[str]:
    """Calibrated tensors in graph order, minus those the user pinned to a policy and those a QDQ model
    or an encodings file gave (kept as given)."""
    names = [n for n in graph.activation_names() if n in calib.quant and n in calib.stats and n not in config.pinned]
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
