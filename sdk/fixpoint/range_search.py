"""Range policies chosen per tensor by search on the network output.

Every range policy optimises something local: its own tensor's KL divergence,
L1 or L2 error, a percentile. What the user cares about is how far the
*network output* moves. This stage sits between calibration and lowering and
picks, tensor by tensor, the candidate policy whose range moves it least:

* a few calibration samples (no labels) run through the float model once;
* tensors are visited in graph order; for each, every candidate policy's
  range is tried while all other tensors keep their current range; the plan
  is lowered and run in the bit-exact host simulator, and the candidate with
  the least output error against float is kept (greedy coordinate descent,
  so later tensors are judged with the earlier choices in place);
* output error = sum over outputs of mean squared error / mean square of the
  float output (1 / SQNR, so outputs of different magnitude weigh alike).

Only ranges are searched. Lowering runs without its data-driven refinements
(bias correction, adaptive rounding, equalization) during the search; the
caller lowers the final ranges with the full options. Tensors with a
user-given per-tensor policy are left alone, and a candidate whose scale the
board cannot represent (lowering refuses it) is never chosen.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from tqdm import tqdm

from .calibrate import CalibrationConfig, CalibrationResult, tensor_quant
from .calibrate.config import parse_policy, resolve_policies
from .calibrate.data import first_inputs
from .ir import Graph, ModelError
from .lower import LowerOptions, lower
from .plan import RequantProfile
from .quant import TensorQuant
from .sim.scoring import SimulatedOutputs, relative_mse

log = logging.getLogger(__name__)

DEFAULT_CANDIDATES = ("max", "percentile", "kl", "l1", "l2")


@dataclass
class SearchOptions:
    """What to try and on how much data."""

    candidates: tuple[str, ...] = DEFAULT_CANDIDATES
    num_samples: int = 256  # calibration samples the output error is measured on
    progress: bool = True

    def validate(self) -> None:
        if not self.candidates:
            raise ModelError("range search: no candidate policies given")
        if self.num_samples < 1:
            raise ModelError(f"range search: num_samples must be at least 1, got {self.num_samples}")


@dataclass
class TensorChoice:
    """The decision for one tensor: candidate -> output error, and the winner."""

    tensor: str
    chosen: str
    errors: dict[str, float] = field(default_factory=dict)


@dataclass
class SearchReport:
    start_error: float  # output error with the calibrated ranges
    final_error: float  # ... with the searched ones
    choices: list[TensorChoice]
    evaluations: int  # plans lowered and simulated
    num_samples: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "start_error": self.start_error,
            "final_error": self.final_error,
            "evaluations": self.evaluations,
            "num_samples": self.num_samples,
            "chosen": {c.tensor: c.chosen for c in self.choices},
        }


def search_ranges(
    graph: Graph,
    calib: CalibrationResult,
    config: CalibrationConfig,
    profile: RequantProfile,
    lowering: LowerOptions,
    samples,
    options: SearchOptions | None = None,
) -> tuple[dict[str, TensorQuant], SearchReport]:
    """The calibrated parameters with each searchable tensor's range re-chosen on the output.

    ``samples``: float inputs in the model's layout (array, batch first) or a
    CalibrationData; the first ``options.num_samples`` are used.
    """
    options = options or SearchOptions()
    options.validate()
    candidates = [
        (spec, *parse_policy(spec, config.percentile, "range search candidate")) for spec in options.candidates
    ]
    x = first_inputs(samples, options.num_samples)
    scorer = _OutputScorer(graph, profile, _search_lowering(lowering), x)
    quant = dict(calib.quant)
    current = scorer.error(quant)
    start = current
    choices = []
    targets = _searchable(graph, calib, config)
    with tqdm(
        total=len(targets) * len(candidates),
        unit="try",
        desc="range search",
        file=sys.stderr,
        leave=False,
        disable=not (options.progress and sys.stderr.isatty()),
    ) as bar:
        for name in targets:
            choice, current = _choose(name, quant, current, calib, config, candidates, scorer)
            choices.append(choice)
            bar.update(len(candidates))
    report = SearchReport(start, current, choices, scorer.evaluations, len(x[0]))
    log.info(
        "range search: output error %.3g -> %.3g over %d tensors (%d plans simulated on %d samples)",
        start,
        current,
        len(choices),
        scorer.evaluations,
        len(x[0]),
    )
    return quant, report


def _choose(
    name: str,
    quant: dict[str, TensorQuant],
    current: float,
    calib: CalibrationResult,
    config: CalibrationConfig,
    candidates: list[tuple[str, str, dict[str, Any]]],
    scorer: "_OutputScorer",
) -> tuple[TensorChoice, float]:
    """Try every candidate for ``name`` (updating ``quant`` in place); return the choice and its error."""
    kept = quant[name]
    choice = TensorChoice(name, kept.policy)
    best = (current, kept)
    tried: dict[tuple[float, int], float] = {(kept.scale, kept.zero_point): current}
    for spec, policy, opts in candidates:
        candidate = tensor_quant(calib.stats[name], policy, opts, config)
        key = (candidate.scale, candidate.zero_point)
        if key not in tried:  # several policies often agree; simulate each range once
            quant[name] = candidate
            tried[key] = _error_or_inf(scorer, quant, name, spec)
        choice.errors[spec] = tried[key]
        if tried[key] < best[0]:  # strict: ties keep the calibrated range
            best = (tried[key], candidate)
    quant[name] = best[1]
    choice.chosen = best[1].policy
    return choice, best[0]


def _error_or_inf(scorer: "_OutputScorer", quant: dict[str, TensorQuant], name: str, spec: str) -> float:
    """A candidate the board cannot represent (lowering refuses its scale) is simply not chosen."""
    try:
        return scorer.error(quant)
    except ModelError as exc:
        log.debug("range search: %s for '%s' is not representable here (%s)", spec, name, exc)
        return float("inf")


def _searchable(graph: Graph, calib: CalibrationResult, config: CalibrationConfig) -> list[str]:
    """Calibrated tensors in graph order, minus those the user pinned to a policy."""
    names = [n for n in graph.activation_names() if n in calib.quant and n in calib.stats]
    pinned = set()
    if config.per_tensor_policy:
        default = parse_policy(config.policy, config.percentile, "policy")
        specs = resolve_policies(names, graph, config)
        pinned = {n for n in names if specs[n] != default}
    if any(calib.stats[n].hist is None for n in names):
        raise ModelError("range search needs histograms (statistics were collected as min/max only)")
    pinned |= set(config.pinned)  # given by a QDQ model or an encodings file: kept as given
    return [n for n in names if n not in pinned]


def _search_lowering(lowering: LowerOptions) -> LowerOptions:
    """The user's lowering without its data-driven refinements (speed; see the module docstring)."""
    return replace(lowering, equalize=False, bias_correction=False, adaptive_rounding=False, samples=None)


class _OutputScorer:
    """Output error of a set of activation parameters: lower, simulate, compare with float."""

    def __init__(
        self, graph: Graph, profile: RequantProfile, lowering: LowerOptions, x: list[np.ndarray] | np.ndarray
    ) -> None:
        self.graph, self.profile, self.lowering = graph, profile, lowering
        self.outputs = SimulatedOutputs(graph, x)

    @property
    def evaluations(self) -> int:
        return self.outputs.evaluations

    def error(self, quant: dict[str, TensorQuant]) -> float:
        plan = lower(self.graph, quant, self.profile, self.lowering)
        return sum(relative_mse(ref, got) for ref, got in self.outputs.pairs(plan))
