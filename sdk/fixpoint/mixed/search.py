"""Mixed precision under a budget: per weighted layer the weight bits and the engine, and the
activation width, with the least simulated loss.

1. Options: for every weighted layer, every weight width (8, 4, 2, 1 bits) on every engine of the board
   that runs the layer's op on that datapath; the layer alone is lowered with each option (the lowering's
   engine override), and an engine that refuses it (limits, scales it cannot represent) drops out. Each
   option's flash and instructions are exact: the lowered layer's arrays, and its engine's cost
   (``costs``: the CPU's instruction model, an accelerator's cycles from the board file).
2. Sensitivity: the base plan (int8 weights, the engine pass's own choice) and every other option's plan
   (that layer alone changed) are simulated bit-exactly on calibration samples; the loss is task-aware
   (the mean KL divergence of the softmax outputs for a classifier's [N, classes] output, else the output
   MSE relative to the float output's power). It differs between engines wherever their requantizers do
   (multiplier width, rounding, accumulator). 16-bit activations (int8 weights only: the runtime has no
   int16 x low-bit datapath) are one more plan, on the engines the pass chooses.
3. Search (``space``): the loss of a mix is modelled as the base loss plus its layers' sensitivities;
   flash and instructions are exact sums. The mixes that meet the budget by the model are lowered and
   simulated, best predicted first, and the one with the least simulated loss that meets the budget on
   its real plan wins. The Pareto fronts (flash vs loss and instructions vs loss) are simulated too.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..calibrate import CalibrationConfig, CalibrationResult, tensor_quant
from ..calibrate.config import resolve_policies
from ..calibrate.data import first_inputs
from ..ir import Graph, ModelError
from ..lower import LowerOptions, lower
from ..lower.engine_scales import constrain_for_engines
from ..ops.runtime_ops import RUNTIME_OPS
from ..plan import Plan, PlanLayer, RequantProfile
from ..sim.scoring import SimulatedOutputs, relative_mse
from .costs import Budget, BudgetError, Costs, layer_flash, layer_instructions, plan_costs
from .space import Choice, LayerOptions, Space, build_space

log = logging.getLogger(__name__)

WIDTHS = (8, 4, 2, 1)
DATAPATH = {8: "s8", 4: "s4", 2: "s2", 1: "s1"}
DEFAULT_ENGINE = "default"       # lowering without a board's engines
MEASURED = 6            # budget-meeting mixes simulated, best predicted first
FRONT_POINTS = 8        # Pareto points simulated per front


@dataclass
class Mix:
    act_bits: int
    choices: dict[str, Choice]            # weighted layer -> (weight bits, engine)
    predicted_loss: float
    costs: Costs
    loss: float | None = None             # simulated
    front: list[str] = field(default_factory=list)

    @property
    def bits(self) -> dict[str, int]:
        return {name: c.bits for name, c in self.choices.items()}

    @property
    def engines(self) -> dict[str, str]:
        return {name: c.engine for name, c in self.choices.items()}

    def key(self) -> tuple:
        return (self.act_bits, tuple(sorted((n, c.bits, c.engine) for n, c in self.choices.items())))

    def label(self) -> str:
        """e.g. ``a8 w[2x8b 1x4b] e[cpu:1 npu8:2]`` (engines only when the board has them)."""
        counts = {b: sum(1 for c in self.choices.values() if c.bits == b) for b in WIDTHS}
        widths = " ".join(f"{n}x{b}b" for b, n in counts.items() if n)
        engines: dict[str, int] = {}
        for c in self.choices.values():
            engines[c.engine] = engines.get(c.engine, 0) + 1
        used = "" if set(engines) <= {DEFAULT_ENGINE} else \
            " e[" + " ".join(f"{e}:{n}" for e, n in sorted(engines.items())) + "]"
        return f"a{self.act_bits} w[{widths}]{used}"

    def as_dict(self) -> dict[str, Any]:
        layers = {name: {"weight_bits": c.bits, "activation_bits": self.act_bits, "engine": c.engine}
                  for name, c in self.choices.items()}
        return {"activation_bits": self.act_bits, "weight_bits": self.bits, "engines": self.engines,
                "layers": layers, "label": self.label(), "predicted_loss": self.predicted_loss,
                "loss": self.loss, "front": list(self.front), **self.costs.as_dict()}


@dataclass
class MixedResult:
    budget: Budget
    loss_name: str
    samples: int
    chosen: Mix
    front: list[Mix]
    sensitivity: dict[str, dict[str, float]]       # layer -> "w4@cpu" -> loss added
    evaluations: int
    quant: dict = field(default_factory=dict, repr=False)   # the 8-bit parameters the search lowered with
    exhaustive: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"budget": self.budget.text(), "loss": self.loss_name, "samples": self.samples,
                "instructions_model": "analytical: on the CPU MACs x per-datapath cost + output elements, on "
                                      "an accelerator engine its cycles (setup + cycles_per_mac x MACs, board "
                                      "file) (fixpoint.mixed.costs), not measured",
                "search": "every mix" if self.exhaustive else "pruned front (fixpoint.mixed.space)",
                "chosen": self.chosen.as_dict(), "front": [m.as_dict() for m in self.front],
                "sensitivity": self.sensitivity, "evaluations": self.evaluations}


class _Scorer:
    """Task-aware loss of a plan's simulated output against the float model."""

    def __init__(self, graph: Graph, x: list[np.ndarray]) -> None:
        self.graph, self.outputs = graph, SimulatedOutputs(graph, x)
        first = self.outputs.reference[graph.outputs[0]]
        self.classifier = first.ndim == 2 and first.shape[1] >= 2
        self.name = "KL divergence of the softmax outputs" if self.classifier else "relative output MSE"

    @property
    def evaluations(self) -> int:
        return self.outputs.evaluations

    def loss(self, plan: Plan) -> float:
        total = 0.0
        for k, (ref, got) in enumerate(self.outputs.pairs(plan)):
            if self.classifier and k == 0:
                p, q = _softmax(ref), _softmax(got)
                total += float(np.mean(np.sum(p * (np.log(p + 1e-12) - np.log(q + 1e-12)), axis=1)))
            else:
                total += relative_mse(ref, got)
        return total


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class _Lowerer:
    """Lowers mixes of one graph (8-bit or 16-bit calibrated parameters)."""

    def __init__(self, graph: Graph, quant8: dict, quant16: dict | None, profile: RequantProfile,
                 lowering: LowerOptions) -> None:
        self.graph, self.quant = graph, {8: quant8, 16: quant16}
        self.profile = profile
        self.engines = list(lowering.engines or ())
        self.user_pins = dict(lowering.engine_overrides)
        self.lowering = replace(lowering, equalize=False, bias_correction=False, adaptive_rounding=False,
                                samples=None, weight_bits=8)

    def plan(self, act_bits: int, choices: dict[str, Choice]) -> Plan:
        pins = {n: c.engine for n, c in choices.items() if c.engine != DEFAULT_ENGINE}
        options = replace(self.lowering, activation_bits=act_bits,
                          weight_bits_overrides={name: c.bits for name, c in choices.items() if c.bits != 8},
                          engine_overrides={**pins, **self.user_pins})
        return lower(self.graph, self.quant[act_bits], self.profile, options)

    def costs(self, plan: Plan) -> Costs:
        return plan_costs(plan, self.engines)

    def layer_engines(self, layer: PlanLayer, node_outputs: list[str]) -> list:
        """The engines to try for a layer: the user's pin, else every engine (None: no engines)."""
        pinned = self.lowering.engine_for(layer.name, *node_outputs)
        if not self.engines:
            return [None]
        return [e for e in self.engines if pinned is None or e.name == pinned]


def quant_16(graph: Graph, calib: CalibrationResult, config: CalibrationConfig) -> dict | None:
    """The calibrated parameters re-derived for 16-bit activations from the same statistics."""
    cfg = replace(config, bits=16, scheme=None if config.scheme == "asymmetric" else config.scheme)
    try:
        specs = resolve_policies(list(calib.stats), graph, cfg)
        return {name: tensor_quant(calib.stats[name], *specs[name], cfg) for name in calib.quant}
    except Exception as exc:   # noqa: BLE001 - a failure only drops the 16-bit candidate
        log.info("mixed precision: no 16-bit activation candidate (%s)", exc)
        return None


def choose_mixed_precision(graph: Graph, calib: CalibrationResult, config: CalibrationConfig,
                           profile: RequantProfile, lowering: LowerOptions, samples, budget: Budget,
                           num_samples: int = 64) -> MixedResult:
    """The mix of weight bits and engines (and activation width) with the least simulated loss within
    ``budget``."""
    if config.bits != 8:
        raise BudgetError("--budget starts from 8-bit activations and tries 16-bit ones itself: "
                          "drop --activation-bits 16")
    quant16 = quant_16(graph, calib, config) if all(n in calib.stats for n in calib.quant) else None
    # the scales a shift-only engine needs are set before the search, so every plan it lowers and the
    # final one (run_calibration constrains again: a no-op then) share them
    quant8, _ = constrain_for_engines(graph, calib.quant, profile, replace(lowering, samples=None))
    low = _Lowerer(graph, quant8, quant16, profile, lowering)
    base_plan = low.plan(8, {})
    outputs = {n.name: list(n.outputs) for n in graph.nodes}
    weighted = [layer for layer in base_plan.layers if RUNTIME_OPS[layer.op].has_weights and layer.name in outputs]
    if not weighted:
        raise BudgetError("--budget: the model has no conv / depthwise / fully connected layer to narrow")
    base_costs = low.costs(base_plan)
    plan16 = low.plan(16, {}) if quant16 is not None else None
    options = [_options(low, base_plan, layer, outputs[layer.name]) for layer in weighted]
    fixed_flash = base_costs.flash - sum(o.layer.flash[0] for o in options)
    fixed_instr = base_costs.instructions - sum(o.layer.instructions[0] for o in options)
    _check_reachable(budget, options, fixed_flash, fixed_instr, base_costs,
                     None if plan16 is None else low.costs(plan16))
    scorer = _Scorer(graph, first_inputs(samples, num_samples))
    base_loss = scorer.loss(base_plan)
    for option in options:
        option.layer.loss = [0.0 if k == 0 else max(scorer.loss(plan) - base_loss, 0.0)
                       for k, plan in enumerate(option.plans)]
    space = build_space([o.layer for o in options], base_loss, fixed_flash, fixed_instr)
    extra = []
    if plan16 is not None:
        names = {o.layer.name for o in options}
        mix16 = Mix(16, {la.name: Choice(8, la.engine) for la in plan16.layers if la.name in names},
                    0.0, low.costs(plan16), scorer.loss(plan16))
        mix16.predicted_loss = mix16.loss
        extra.append(mix16)
    chosen, measured = _choose(budget, space, base_costs.ram, extra, low, scorer)
    chosen.front.append("budget choice")
    front = _front(space, base_costs.ram, extra, low, scorer, measured)
    sensitivity = {o.layer.name: {f"w{c.bits}@{c.engine}": loss for c, loss in zip(o.layer.choices, o.layer.loss)}
                   for o in options}
    result = MixedResult(budget, scorer.name, scorer.outputs.count, chosen, front, sensitivity,
                         scorer.evaluations, quant8, space.exhaustive)
    log.info("mixed precision: %s meets %s with loss %.4g (%s; %d plans simulated)", chosen.label(),
             budget.text(), chosen.loss, chosen.costs.as_dict(), scorer.evaluations)
    return result


@dataclass
class _Options:
    """A layer's options with the plans that measure them (option 0: the base plan's own)."""

    layer: LayerOptions
    plans: list[Plan]


def _options(low: _Lowerer, base_plan: Plan, layer: PlanLayer, node_outputs: list[str]) -> _Options:
    """Every (weight bits, engine) the layer can take, each lowered with that layer alone changed;
    the base plan's own option first."""
    spec = next((e for e in low.engines if e.name == layer.engine), None)
    base = Choice(8, layer.engine if low.engines else DEFAULT_ENGINE)
    found: list[tuple[Choice, Plan, PlanLayer, Any]] = [(base, base_plan, layer, spec)]
    for bits in WIDTHS:
        for spec in low.layer_engines(layer, node_outputs):
            choice = Choice(bits, DEFAULT_ENGINE if spec is None else spec.name)
            if choice == base or (spec is not None and not spec.supports(layer.op, DATAPATH[bits])):
                continue
            try:
                plan = low.plan(8, {layer.name: choice})
            except ModelError as exc:      # limits, scales the engine cannot represent, no kernel
                log.debug("mixed precision: %s cannot take w%d on %s (%s)", layer.name, bits, choice.engine, exc)
                continue
            found.append((choice, plan, next(la for la in plan.layers if la.name == layer.name), spec))
    options = LayerOptions(layer.name, [c for c, *_ in found], [0.0] * len(found),
                           [layer_flash(lowered) for _, _, lowered, _ in found],
                           [layer_instructions(plan, lowered, engine=spec) for _, plan, lowered, spec in found])
    return _Options(options, [plan for _, plan, _, _ in found])


def _meets(costs: Costs, limits: dict[str, float]) -> bool:
    return all(costs.get(k) <= v for k, v in limits.items())


def _check_reachable(budget: Budget, options: list[_Options], fixed_flash: int, fixed_instr: int,
                     base: Costs, act16: Costs | None) -> None:
    """One-line error for a limit no mix reaches, naming the smallest achievable figure (before any
    simulation: the model's flash and instructions are exact sums over the layers' options)."""
    def smallest(key: str) -> tuple[int, str]:
        picks = [o.layer.choices[int(np.argmin(getattr(o.layer, key)))] for o in options]
        total = (fixed_flash if key == "flash" else fixed_instr) + sum(min(getattr(o.layer, key)) for o in options)
        if key == "flash" and all(c.bits == 1 for c in picks):
            return total, "every weighted layer binary"
        mix = Mix(8, {o.layer.name: c for o, c in zip(options, picks)}, 0.0, base)
        return total, f"every weighted layer at its {'fewest bytes' if key == 'flash' else 'fewest instructions'}: " \
                      f"{mix.label()}"
    figures = {key: smallest(key) for key in ("flash", "instructions")}
    figures["ram"] = (min([base.ram] + ([act16.ram] if act16 else [])), "8-bit activations")
    for key, unit in (("flash", 1024), ("ram", 1024), ("instructions", 1)):
        limit = budget.limits().get(key)
        small, how = figures[key]
        if limit is not None and small > limit:
            figure = f"{small / 1024:.2f} KB" if unit == 1024 else f"{small}"
            raise BudgetError(f"--budget {key}={_fmt(limit, unit)} cannot be met: the smallest achievable "
                              f"{key} is {figure} ({how})")


def _fmt(limit: float, unit: int) -> str:
    return f"{limit / unit:g}" if unit == 1024 else f"{int(limit)}"


def _mix(space: Space, i: int, ram: int) -> Mix:
    return Mix(8, space.choices(i), float(space.loss[i]),
               Costs(int(space.flash[i]), ram, int(space.instructions[i])))


def _measure(mix: Mix, low: _Lowerer, scorer: _Scorer) -> Mix:
    if mix.loss is None:
        plan = low.plan(mix.act_bits, mix.choices)
        mix.costs, mix.loss = low.costs(plan), scorer.loss(plan)
    return mix


def _choose(budget: Budget, space: Space, ram: int, extra: list[Mix], low: _Lowerer,
            scorer: _Scorer) -> tuple[Mix, list[Mix]]:
    limits = budget.limits()
    fitting = [] if "ram" in limits and ram > limits["ram"] else \
        [_mix(space, int(i), ram) for i in space.fitting(limits)[:MEASURED]]
    fitting += [m for m in extra if _meets(m.costs, limits)]
    fitting.sort(key=lambda m: m.predicted_loss)
    if not fitting:
        raise BudgetError(f"--budget {budget.text()}: no mix of weight bits and engines meets every limit at "
                          f"once (each is reachable alone; loosen one)")
    measured = [_measure(m, low, scorer) for m in fitting[:MEASURED]]
    good = [m for m in measured if _meets(m.costs, limits)]
    if not good:
        raise BudgetError(f"--budget {budget.text()}: the mixes that meet it by the cost model exceed it "
                          f"once lowered (RAM or scratch); loosen the budget")
    return min(good, key=lambda m: m.loss), measured


def _front(space: Space, ram: int, extra: list[Mix], low: _Lowerer, scorer: _Scorer,
           measured: list[Mix]) -> list[Mix]:
    """The simulated Pareto fronts: flash vs loss and instructions vs loss (up to FRONT_POINTS each)."""
    chosen: dict[tuple, Mix] = {m.key(): m for m in measured + extra}
    for metric in ("flash", "instructions"):
        on_front = space.front(metric)
        step = max(1, int(np.ceil(len(on_front) / FRONT_POINTS)))
        picked = on_front[::step] + ([on_front[-1]] if (len(on_front) - 1) % step else [])
        for i in picked:
            mix = _mix(space, i, ram)
            mix = chosen.setdefault(mix.key(), mix)
            _measure(mix, low, scorer)
            mix.front.append(metric)
    for m in extra:
        m.front.append("16-bit activations")
    return sorted((m for m in chosen.values() if m.front), key=lambda m: (m.costs.flash, m.loss))
