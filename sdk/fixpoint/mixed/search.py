"""Mixed precision under a budget: per weighted layer the weight bits, the activation bits and the
engine, with the least simulated loss.

1. Options: for every weighted layer, every weight width (8, 4, 2, 1 bits) at 8-bit activations and
   int8 weights at 16-bit activations (the runtime has no int16 x low-bit datapath), each on every engine
   of the board that runs the layer's op on that datapath; every other layer with an int16 kernel
   (pools, adds, layer norm, ...) may run at 16-bit activations too. The layer alone is lowered with each option
   (the lowering's weight bits, activation bits and engine overrides; a 16-bit layer reads and writes
   int16 copies, ``requantize`` layers at the boundaries), and an engine that refuses it (limits, scales
   it cannot represent) drops out. An option's costs are its plan's minus the base plan's: flash (the
   arrays), instructions (``costs``: the CPU's instruction model, an accelerator's cycles from the board
   file) and RAM (int16 tensors double their share of the arena).
2. Sensitivity: the base plan (int8, the engine pass's own choice) and every other option's plan (that
   layer alone changed) are simulated bit-exactly on calibration samples; the loss is task-aware (the
   mean KL divergence of the softmax outputs for a classifier's [N, classes] output, else the output MSE
   relative to the float output's power). It differs between engines wherever their requantizers do
   (multiplier width, rounding, accumulator), and falls where 16-bit activations help. 16-bit
   activations for the whole plan are one more candidate.
3. Search (``space``): the loss of a mix is modelled as the base loss plus its layers' sensitivities, its
   costs as the base costs plus its options' (exact for flash and instructions of layers apart; RAM and
   the requantize layers between two 16-bit neighbours are estimates). The mixes that meet the budget by
   the model are lowered and simulated, best predicted first, and the one with the least simulated loss
   that meets the budget on its real plan wins. The Pareto fronts (flash vs loss and instructions vs
   loss) are simulated too.
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
from .boundaries import PRICED, Boundaries, boundaries_of
from .costs import Budget, BudgetError, Costs, plan_costs
from .space import Choice, LayerOptions, Space, build_space

log = logging.getLogger(__name__)

WIDTHS = (8, 4, 2, 1)
DATAPATH = {8: "s8", 4: "s4", 2: "s2", 1: "s1"}
DEFAULT_ENGINE = "default"  # lowering without a board's engines
MEASURED = 6  # budget-meeting mixes simulated, best predicted first
MEASURE_ROUNDS = 4  # rounds of MEASURED while none meets the budget on its real plan
FRONT_POINTS = 8  # Pareto points simulated per front
LOSS_TOLERANCE = 1e-4  # relative to the base loss: smaller sensitivities count as none


@dataclass
class Mix:
    act_bits: int  # the plan's base width (graph inputs and outputs)
    choices: dict[str, Choice]  # weighted layer -> (weight bits, engine, activation bits)
    predicted_loss: float
    costs: Costs
    loss: float | None = None  # simulated
    front: list[str] = field(default_factory=list)
    modelled: Costs | None = None  # the cost model's figures before the plan was lowered (then: costs)

    @property
    def bits(self) -> dict[str, int]:
        """Weight bits of the weighted layers."""
        return {name: c.bits for name, c in self.choices.items() if c.bits}

    @property
    def engines(self) -> dict[str, str]:
        return {name: c.engine for name, c in self.choices.items()}

    def key(self) -> tuple:
        return (self.act_bits, tuple(sorted((n, c.bits, c.engine, c.act) for n, c in self.choices.items())))

    def layer_act(self, choice: Choice) -> int:
        return max(self.act_bits, choice.act)

    def label(self) -> str:
        """e.g. ``a8/16[1] w[2x8b 1x4b] e[cpu:1 npu8:2]``: the activation widths (with how many searched
        layers run at 16 bits in an 8-bit plan), the weighted layers' weight widths, the searched layers'
        engines (when the board has them)."""
        counts = {b: sum(1 for c in self.choices.values() if c.bits == b) for b in WIDTHS}
        widths = " ".join(f"{n}x{b}b" for b, n in counts.items() if n)
        engines: dict[str, int] = {}
        for c in self.choices.values():
            engines[c.engine] = engines.get(c.engine, 0) + 1
        used = (
            ""
            if set(engines) <= {DEFAULT_ENGINE}
            else " e[" + " ".join(f"{e}:{n}" for e, n in sorted(engines.items())) + "]"
        )
        wide = sum(1 for c in self.choices.values() if c.act == 16)
        acts = f"a8/16[{wide}]" if self.act_bits == 8 and wide else f"a{self.act_bits}"
        return f"{acts} w[{widths}]{used}"

    def as_dict(self) -> dict[str, Any]:
        layers = {
            name: {"weight_bits": c.bits or None, "activation_bits": self.layer_act(c), "engine": c.engine}
            for name, c in self.choices.items()
        }
        return {
            "activation_bits": self.act_bits,
            "weight_bits": self.bits,
            "engines": self.engines,
            "layers": layers,
            "label": self.label(),
            "predicted_loss": self.predicted_loss,
            "loss": self.loss,
            "front": list(self.front),
            **self.costs.as_dict(),
            "modelled": None if self.modelled is None else self.modelled.as_dict(),  # before it was lowered
        }


@dataclass
class MixedResult:
    budget: Budget
    loss_name: str
    samples: int
    chosen: Mix
    front: list[Mix]
    sensitivity: dict[str, dict[str, float]]  # layer -> "w4a8@cpu" -> loss added
    evaluations: int
    quant: dict = field(default_factory=dict, repr=False)  # the 8-bit parameters the search lowered with
    quant16: dict | None = field(default=None, repr=False)  # the 16-bit ones (16-bit layers)
    exhaustive: bool = True
    base_loss: float = 0.0  # the all-int8 plan on the engine pass's engines
    base_costs: Costs | None = None
    options: list[LayerOptions] = field(default_factory=list, repr=False)  # per searched layer
    boundaries: Boundaries | None = field(default=None, repr=False)  # their requantize layers' prices

    def as_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget.text(),
            "loss": self.loss_name,
            "samples": self.samples,
            "instructions_model": "analytical: on the CPU MACs x per-datapath cost + output elements, on "
            "an accelerator engine its cycles (setup + cycles_per_mac x MACs, board "
            "file) (fixpoint.mixed.costs), not measured",
            "search": "every mix" if self.exhaustive else "pruned front (fixpoint.mixed.space)",
            "base_loss": self.base_loss,
            "chosen": self.chosen.as_dict(),
            "front": [m.as_dict() for m in self.front],
            "sensitivity": self.sensitivity,
            "evaluations": self.evaluations,
        }


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

    def __init__(
        self, graph: Graph, quant8: dict, quant16: dict | None, profile: RequantProfile, lowering: LowerOptions
    ) -> None:
        self.graph, self.quant = graph, {8: quant8, 16: quant16}
        self.profile = profile
        self.engines = list(lowering.engines or ())
        self.user_pins = dict(lowering.engine_overrides)
        self.lowering = replace(
            lowering, equalize=False, bias_correction=False, adaptive_rounding=False, samples=None, weight_bits=8
        )

    def plan(self, act_bits: int, choices: dict[str, Choice]) -> Plan:
        return lower(self.graph, self.quant[act_bits], self.profile, self.options(act_bits, choices))

    def options(self, act_bits: int, choices: dict[str, Choice]) -> LowerOptions:
        pins = {n: c.engine for n, c in choices.items() if c.engine != DEFAULT_ENGINE}
        wide = {n: 16 for n, c in choices.items() if c.act == 16} if act_bits == 8 else {}
        return replace(
            self.lowering,
            activation_bits=act_bits,
            weight_bits_overrides={name: c.bits for name, c in choices.items() if c.bits not in (0, 8)},
            engine_overrides={**pins, **self.user_pins},
            activation_bits_overrides=wide,
            activation_quant={16: self.quant[16]} if wide else {},
        )

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
    except Exception as exc:  # noqa: BLE001 - a failure only drops the 16-bit candidate
        log.info("mixed precision: no 16-bit activation candidate (%s)", exc)
        return None


def choose_mixed_precision(
    graph: Graph,
    calib: CalibrationResult,
    config: CalibrationConfig,
    profile: RequantProfile,
    lowering: LowerOptions,
    samples,
    budget: Budget,
    num_samples: int = 64,
) -> MixedResult:
    """The mix of weight bits and engines (and activation width) with the least simulated loss within
    ``budget``."""
    if config.bits != 8:
        raise BudgetError(
            "--budget starts from 8-bit activations and tries 16-bit ones itself: drop --activation-bits 16"
        )
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
    # the other layers with an int16 kernel have one option more: 16-bit activations
    widened = [
        layer
        for layer in base_plan.layers
        if layer.name in outputs
        and layer not in weighted
        and quant16 is not None
        and "s16" in RUNTIME_OPS[layer.op].datapaths
    ]
    base_costs = low.costs(base_plan)
    plan16 = low.plan(16, {}) if quant16 is not None else None
    searched = [layer for layer in base_plan.layers if layer in weighted or layer in widened]
    boundaries = boundaries_of(base_plan, [layer.name for layer in searched])
    options = [_options(low, base_plan, base_costs, layer, outputs[layer.name], boundaries) for layer in searched]
    kept = [o for o in options if len(o.layer.choices) > 1]
    if len(kept) < len(options):  # a layer with one option stays at 8 bits: a fixed reader / producer
        boundaries = boundaries_of(base_plan, [o.layer.name for o in kept], boundaries.price)
    options = kept
    _check_reachable(budget, options, base_costs, None if plan16 is None else low.costs(plan16), boundaries)
    scorer = _Scorer(graph, first_inputs(samples, num_samples))
    base_loss = scorer.loss(base_plan)
    for option in options:
        option.layer.loss = [
            0.0 if k == 0 else _sensitivity(scorer.loss(plan), base_loss) for k, plan in enumerate(option.plans)
        ]
    space = build_space(
        [o.layer for o in options], base_loss, base_costs.flash, base_costs.instructions, base_costs.ram, boundaries
    )
    extra = []
    if plan16 is not None:
        names = {o.layer.name for o in options}
        mix16 = Mix(
            16,
            {
                la.name: Choice(8 if RUNTIME_OPS[la.op].has_weights else 0, la.engine, 16)
                for la in plan16.layers
                if la.name in names
            },
            0.0,
            low.costs(plan16),
            scorer.loss(plan16),
        )
        mix16.predicted_loss = mix16.loss
        extra.append(mix16)
    chosen, measured = _choose(budget, space, extra, low, scorer)
    chosen.front.append("budget choice")
    front = _front(space, extra, low, scorer, measured)
    sensitivity = {o.layer.name: {c.text(): loss for c, loss in zip(o.layer.choices, o.layer.loss)} for o in options}
    result = MixedResult(
        budget,
        scorer.name,
        scorer.outputs.count,
        chosen,
        front,
        sensitivity,
        scorer.evaluations,
        quant8,
        quant16,
        space.exhaustive,
        base_loss,
        base_costs,
        [o.layer for o in options],
        boundaries,
    )
    log.info(
        "mixed precision: %s meets %s with loss %.4g (%s; %d plans simulated)",
        chosen.label(),
        budget.text(),
        chosen.loss,
        chosen.costs.as_dict(),
        scorer.evaluations,
    )
    return result


@dataclass
class _Options:
    """A layer's options with the plans that measure them (option 0: the base plan's own)."""

    layer: LayerOptions
    plans: list[Plan]


def _options(
    low: _Lowerer,
    base_plan: Plan,
    base_costs: Costs,
    layer: PlanLayer,
    node_outputs: list[str],
    boundaries: Boundaries,
) -> _Options:
    """Every (weight bits, engine, activation bits) the layer can take, each lowered with that layer
    alone changed; the base plan's own option first. A layer without weights has weight bits 0. The
    option plans' requantize layers are priced into ``boundaries``."""
    weights = 8 if RUNTIME_OPS[layer.op].has_weights else 0
    base = Choice(weights, layer.engine if low.engines else DEFAULT_ENGINE)
    found: list[tuple[Choice, Plan]] = [(base, base_plan)]
    wide = [(weights, 16)] if low.quant[16] is not None and "s16" in RUNTIME_OPS[layer.op].datapaths else []
    for bits, act in [(b, 8) for b in (WIDTHS if weights else ())] + wide:
        datapath = "s16" if act == 16 else DATAPATH.get(bits, "s8")
        for spec in low.layer_engines(layer, node_outputs):
            choice = Choice(bits, DEFAULT_ENGINE if spec is None else spec.name, act)
            if choice == base or (spec is not None and not spec.supports(layer.op, datapath)):
                continue
            try:
                plan = low.plan(8, {layer.name: choice})
            except ModelError as exc:  # limits, scales the engine cannot represent, no kernel
                log.debug("mixed precision: %s cannot take %s (%s)", layer.name, choice.text(), exc)
                continue
            found.append((choice, plan))
    costs = [base_costs] + [low.costs(plan) for _, plan in found[1:]]
    delta = {key: [c.get(key) - base_costs.get(key) for c in costs] for key in ("flash", "instructions", "ram")}
    alone = [boundaries.record(plan, low.engines) for _, plan in found]
    options = LayerOptions(
        layer.name,
        [c for c, _ in found],
        [0.0] * len(found),
        delta["flash"],
        delta["instructions"],
        delta["ram"],
        [f for f, _ in alone],
        [i for _, i in alone],
    )
    return _Options(options, [plan for _, plan in found])


def _sensitivity(loss: float, base_loss: float) -> float:
    """The loss an option adds, signed (16-bit activations or another engine's requantizer can lower it);
    differences within float noise of the base loss are 0, so they do not decide between options."""
    delta = loss - base_loss
    return 0.0 if abs(delta) <= LOSS_TOLERANCE * base_loss + 1e-12 else delta


def _meets(costs: Costs, limits: dict[str, float]) -> bool:
    return all(costs.get(k) <= v for k, v in limits.items())


def _check_reachable(
    budget: Budget, options: list[_Options], base: Costs, act16: Costs | None, boundaries: Boundaries
) -> None:
    """One-line error for a limit no mix reaches, naming the smallest achievable figure (before any
    simulation: flash and instructions of a mix are sums over its layers' options, its requantize
    layers priced together)."""

    def smallest(key: str) -> tuple[float, str]:
        ks = [int(np.argmin(getattr(o.layer, key))) for o in options]
        picks = [o.layer.choices[k] for o, k in zip(options, ks)]
        total = base.get(key) + sum(o.layer.values(key)[k] for o, k in zip(options, ks))
        if key in PRICED and options:  # the picks' requantize layers together, not each option's alone
            wide = np.array([[o.layer.wide()[k] for o, k in zip(options, ks)]])
            alone = sum(o.layer.alone(key)[k] for o, k in zip(options, ks))
            total += float(boundaries.totals(wide)[key][0]) - alone
        if key == "flash" and all(c.bits in (0, 1) for c in picks):
            return total, "every weighted layer binary"
        if key == "ram":
            return min([total] + ([act16.ram] if act16 else [])), "8-bit activations"
        mix = Mix(8, {o.layer.name: c for o, c in zip(options, picks)}, 0.0, base)
        fewest = "fewest bytes" if key == "flash" else "fewest instructions"
        return total, f"every weighted layer at its {fewest}: {mix.label()}"

    for key, unit in (("flash", 1024), ("ram", 1024), ("instructions", 1)):
        limit = budget.limits().get(key)
        if limit is None:
            continue
        small, how = smallest(key)
        if small > limit:
            figure = f"{small / 1024:.2f} KB" if unit == 1024 else f"{int(small)}"
            raise BudgetError(
                f"--budget {key}={_fmt(limit, unit)} cannot be met: the smallest achievable {key} is {figure} ({how})"
            )


def _fmt(limit: float, unit: int) -> str:
    return f"{limit / unit:g}" if unit == 1024 else f"{int(limit)}"


def _mix(space: Space, i: int) -> Mix:
    return Mix(
        8,
        space.choices(i),
        float(space.loss[i]),
        Costs(int(space.flash[i]), int(space.ram[i]), int(space.instructions[i])),
    )


def _measure(mix: Mix, low: _Lowerer, scorer: _Scorer) -> Mix:
    if mix.loss is None:
        plan = low.plan(mix.act_bits, mix.choices)
        mix.modelled = mix.modelled or mix.costs
        mix.costs, mix.loss = low.costs(plan), scorer.loss(plan)
    return mix


def _choose(budget: Budget, space: Space, extra: list[Mix], low: _Lowerer, scorer: _Scorer) -> tuple[Mix, list[Mix]]:
    """The least simulated loss among the best predicted mixes that meet the budget on their real plans;
    when none of a round of MEASURED does (the RAM model is an estimate), the next round, up to
    MEASURE_ROUNDS."""
    limits = budget.limits()
    fitting = [_mix(space, int(i)) for i in space.fitting(limits)[: MEASURED * MEASURE_ROUNDS]]
    fitting += [m for m in extra if _meets(m.costs, limits)]
    fitting.sort(key=lambda m: m.predicted_loss)
    if not fitting:
        raise BudgetError(
            f"--budget {budget.text()}: no mix of widths and engines meets every limit at "
            f"once (each is reachable alone; loosen one)"
        )
    measured: list[Mix] = []
    for start in range(0, len(fitting), MEASURED):
        measured += [_measure(m, low, scorer) for m in fitting[start : start + MEASURED]]
        good = [m for m in measured if _meets(m.costs, limits)]
        if good:
            return min(good, key=lambda m: m.loss), measured
    raise BudgetError(
        f"--budget {budget.text()}: the {len(measured)} best mixes that meet it by the cost model "
        f"exceed it once lowered (RAM or scratch); loosen the budget"
    )


def _front(space: Space, extra: list[Mix], low: _Lowerer, scorer: _Scorer, measured: list[Mix]) -> list[Mix]:
    """The simulated Pareto fronts: flash vs loss and instructions vs loss (up to FRONT_POINTS each)."""
    chosen: dict[tuple, Mix] = {m.key(): m for m in measured + extra}
    for metric in ("flash", "instructions"):
        on_front = space.front(metric)
        step = max(1, int(np.ceil(len(on_front) / FRONT_POINTS)))
        picked = on_front[::step] + ([on_front[-1]] if (len(on_front) - 1) % step else [])
        for i in picked:
            mix = _mix(space, i)
            mix = chosen.setdefault(mix.key(), mix)
            _measure(mix, low, scorer)
            mix.front.append(metric)
    for m in extra:
        m.front.append("16-bit activations")
    return sorted((m for m in chosen.values() if m.front), key=lambda m: (m.costs.flash, m.loss))
