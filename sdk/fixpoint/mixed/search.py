"""Mixed precision under a budget: per-layer weight bits and the activation width with the least
simulated loss.

1. Sensitivity: the all-int8 plan and, for every weighted layer and every lower width (4, 2, 1 bits),
   the plan with only that layer lowered are simulated bit-exactly on calibration samples; the loss is
   task-aware (the mean KL divergence of the softmax outputs for a classifier's [N, classes] output,
   else the output MSE relative to the float output's power). 16-bit activations (int8 weights only:
   the runtime has no int16 x low-bit datapath) are one more plan.
2. Search: the loss of a mix is modelled as the int8 loss plus the sum of its layers' sensitivities;
   flash and instructions of a mix are exact sums over layers (``costs``). Up to ``EXHAUSTIVE_LAYERS``
   weighted layers every mix is enumerated (4^n); beyond, a greedy path lowers one layer a step at a
   time, taking the move with the least loss increase per flash byte saved.
3. The mixes that meet the budget by the model are lowered and simulated, best predicted first, and the
   one with the least simulated loss that meets the budget on its real plan wins. The Pareto front
   (flash vs loss and instructions vs loss) is simulated too, for the report.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..calibrate import CalibrationConfig, CalibrationResult, tensor_quant
from ..calibrate.config import resolve_policies
from ..calibrate.data import first_inputs
from ..ir import Graph
from ..lower import LowerOptions, lower
from ..ops.runtime_ops import RUNTIME_OPS
from ..plan import Plan, RequantProfile
from ..sim.scoring import SimulatedOutputs, relative_mse
from .costs import Budget, BudgetError, Costs, layer_flash, layer_instructions, plan_costs

log = logging.getLogger(__name__)

WIDTHS = (8, 4, 2, 1)
DATAPATH = {8: "s8", 4: "s4", 2: "s2", 1: "s1"}
EXHAUSTIVE_LAYERS = 9
MEASURED = 6            # budget-meeting mixes simulated, best predicted first
FRONT_POINTS = 8        # Pareto points simulated per front


@dataclass
class Mix:
    act_bits: int
    bits: dict[str, int]                  # weighted layer -> weight bits
    predicted_loss: float
    costs: Costs
    loss: float | None = None             # simulated
    front: list[str] = field(default_factory=list)

    def key(self) -> tuple:
        return (self.act_bits, tuple(sorted(self.bits.items())))

    def label(self) -> str:
        counts = {b: sum(1 for v in self.bits.values() if v == b) for b in WIDTHS}
        widths = " ".join(f"{n}x{b}b" for b, n in counts.items() if n)
        return f"a{self.act_bits} w[{widths}]"

    def as_dict(self) -> dict[str, Any]:
        return {"activation_bits": self.act_bits, "weight_bits": dict(self.bits), "label": self.label(),
                "predicted_loss": self.predicted_loss, "loss": self.loss, "front": list(self.front),
                **self.costs.as_dict()}


@dataclass
class MixedResult:
    budget: Budget
    loss_name: str
    samples: int
    chosen: Mix
    front: list[Mix]
    sensitivity: dict[str, dict[int, float]]
    evaluations: int

    def as_dict(self) -> dict[str, Any]:
        return {"budget": self.budget.text(), "loss": self.loss_name, "samples": self.samples,
                "instructions_model": "analytical: MACs x per-datapath cost + output elements "
                                      "(fixpoint.mixed.costs), not measured",
                "chosen": self.chosen.as_dict(), "front": [m.as_dict() for m in self.front],
                "sensitivity": {k: {str(b): v for b, v in s.items()} for k, s in self.sensitivity.items()},
                "evaluations": self.evaluations}


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
    """Lowers mixes of one graph (8-bit or 16-bit calibrated parameters) and caches nothing but them."""

    def __init__(self, graph: Graph, quant8: dict, quant16: dict | None, profile: RequantProfile,
                 lowering: LowerOptions) -> None:
        self.graph, self.quant = graph, {8: quant8, 16: quant16}
        self.profile = profile
        self.lowering = replace(lowering, equalize=False, bias_correction=False, adaptive_rounding=False,
                                samples=None, weight_bits=8)

    def plan(self, act_bits: int, bits: dict[str, int]) -> Plan:
        options = replace(self.lowering, activation_bits=act_bits,
                          weight_bits_overrides={name: b for name, b in bits.items() if b != 8})
        return lower(self.graph, self.quant[act_bits], self.profile, options)


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
    """The mix of weight bits (and activation width) with the least simulated loss within ``budget``."""
    if config.bits != 8:
        raise BudgetError("--budget starts from 8-bit activations and tries 16-bit ones itself: "
                          "drop --activation-bits 16")
    quant16 = quant_16(graph, calib, config) if all(n in calib.stats for n in calib.quant) else None
    low = _Lowerer(graph, calib.quant, quant16, profile, lowering)
    base_plan = low.plan(8, {})
    weighted = [layer for layer in base_plan.layers if RUNTIME_OPS[layer.op].has_weights
                and layer.name in {n.name for n in graph.nodes}]
    if not weighted:
        raise BudgetError("--budget: the model has no conv / depthwise / fully connected layer to narrow")
    names = [layer.name for layer in weighted]
    base_costs = plan_costs(base_plan)
    plan16 = low.plan(16, {}) if quant16 is not None else None
    _check_reachable(budget, base_costs, plan_costs(low.plan(8, {n: 1 for n in names})),
                     None if plan16 is None else plan_costs(plan16))
    scorer = _Scorer(graph, first_inputs(samples, num_samples))
    base_loss = scorer.loss(base_plan)
    sens = {name: {8: 0.0} for name in names}
    flash = {name: {} for name in names}
    instr = {name: {} for name in names}
    for layer in weighted:
        for b in WIDTHS:
            plan = base_plan if b == 8 else low.plan(8, {layer.name: b})
            lowered = next(la for la in plan.layers if la.name == layer.name)
            flash[layer.name][b] = layer_flash(lowered)
            instr[layer.name][b] = layer_instructions(plan, lowered, DATAPATH[b])
            if b != 8:
                sens[layer.name][b] = max(scorer.loss(plan) - base_loss, 0.0)
    fixed_flash = base_costs.flash - sum(flash[n][8] for n in names)
    fixed_instr = base_costs.instructions - sum(instr[n][8] for n in names)
    table = _MixTable(names, sens, flash, instr, base_loss, fixed_flash, fixed_instr, base_costs.ram)
    space = table.space()
    extra = []
    if plan16 is not None:
        mix16 = Mix(16, {n: 8 for n in names}, 0.0, plan_costs(plan16), scorer.loss(plan16))
        mix16.predicted_loss = mix16.loss
        extra.append(mix16)
    chosen, measured = _choose(budget, space, extra, low, scorer)
    chosen.front.append("budget choice")
    front = _front(space, extra, low, scorer, measured)
    result = MixedResult(budget, scorer.name, scorer.outputs.count, chosen, front, sens,
                         scorer.evaluations)
    log.info("mixed precision: %s meets %s with loss %.4g (%s; %d plans simulated)", chosen.label(),
             budget.text(), chosen.loss, chosen.costs.as_dict(), scorer.evaluations)
    return result


@dataclass
class _MixTable:
    names: list[str]
    sens: dict[str, dict[int, float]]
    flash: dict[str, dict[int, int]]
    instr: dict[str, dict[int, int]]
    base_loss: float
    fixed_flash: int
    fixed_instr: int
    ram8: int

    def mix(self, bits: dict[str, int]) -> Mix:
        loss = self.base_loss + sum(self.sens[n][b] for n, b in bits.items())
        flash = self.fixed_flash + sum(self.flash[n][b] for n, b in bits.items())
        instr = self.fixed_instr + sum(self.instr[n][b] for n, b in bits.items())
        return Mix(8, dict(bits), loss, Costs(int(flash), self.ram8, int(instr)))

    def space(self) -> "_Space":
        """Every mix (4^n) when n <= EXHAUSTIVE_LAYERS, else the greedy path."""
        n = len(self.names)
        if n <= EXHAUSTIVE_LAYERS:
            grid = np.array(np.meshgrid(*[np.arange(len(WIDTHS))] * n, indexing="ij")).reshape(n, -1).T
        else:
            grid = self._greedy()
        cost = {key: np.zeros(len(grid)) for key in ("loss", "flash", "instructions")}
        for j, name in enumerate(self.names):
            for key, src in (("loss", self.sens), ("flash", self.flash), ("instructions", self.instr)):
                cost[key] += np.array([src[name][b] for b in WIDTHS], float)[grid[:, j]]
        return _Space(self, grid, cost["loss"] + self.base_loss, cost["flash"] + self.fixed_flash,
                      cost["instructions"] + self.fixed_instr)

    def _greedy(self) -> np.ndarray:
        """Width indices of the path from all-int8 that lowers one layer a step at a time, taking the
        move with the least loss increase per flash byte saved."""
        idx = [0] * len(self.names)
        path = [list(idx)]
        while True:
            moves = []
            for j, name in enumerate(self.names):
                if idx[j] + 1 < len(WIDTHS):
                    b, nb = WIDTHS[idx[j]], WIDTHS[idx[j] + 1]
                    saved = self.flash[name][b] - self.flash[name][nb]
                    moves.append(((self.sens[name][nb] - self.sens[name][b]) / max(saved, 1), j))
            if not moves:
                return np.array(path)
            idx[min(moves)[1]] += 1
            path.append(list(idx))


@dataclass
class _Space:
    table: _MixTable
    grid: np.ndarray             # [mixes, layers] indices into WIDTHS
    loss: np.ndarray             # predicted
    flash: np.ndarray
    instructions: np.ndarray

    def mix(self, i: int) -> Mix:
        return self.table.mix({name: WIDTHS[k] for name, k in zip(self.table.names, self.grid[i])})

    def best_fitting(self, limits: dict[str, float], count: int) -> list[Mix]:
        ok = np.ones(len(self.grid), bool)
        for key in ("flash", "instructions"):
            if key in limits:
                ok &= getattr(self, key) <= limits[key]
        if "ram" in limits and self.table.ram8 > limits["ram"]:
            ok[:] = False
        idx = np.flatnonzero(ok)
        return [self.mix(int(i)) for i in idx[np.argsort(self.loss[idx], kind="stable")[:count]]]

    def front(self, metric: str) -> list[Mix]:
        """The (metric, predicted loss) Pareto front, cheapest first."""
        x = getattr(self, metric)
        order = np.lexsort((self.loss, x))
        best, picked = np.inf, []
        for i in order:
            if self.loss[i] < best:
                best = self.loss[i]
                picked.append(int(i))
        return [self.mix(i) for i in picked]


def _meets(costs: Costs, limits: dict[str, float]) -> bool:
    return all(costs.get(k) <= v for k, v in limits.items())


def _check_reachable(budget: Budget, int8: Costs, binary: Costs, act16: Costs | None) -> None:
    """One-line error for a limit no mix reaches, naming the smallest achievable figure (before any
    simulation: flash is smallest with every weighted layer binary, instructions with int8 weights)."""
    smallest_flash = binary.flash
    smallest_instr = int8.instructions
    smallest_ram = min([int8.ram, binary.ram] + ([act16.ram] if act16 else []))
    for key, small, unit, how in (
            ("flash", smallest_flash, 1024, "every weighted layer binary"),
            ("ram", smallest_ram, 1024, "8-bit activations"),
            ("instructions", smallest_instr, 1, "every weighted layer int8")):
        limit = budget.limits().get(key)
        if limit is not None and small > limit:
            figure = f"{small / 1024:.2f} KB" if unit == 1024 else f"{small}"
            raise BudgetError(f"--budget {key}={_fmt(limit, unit)} cannot be met: the smallest achievable "
                              f"{key} is {figure} ({how})")


def _fmt(limit: float, unit: int) -> str:
    return f"{limit / unit:g}" if unit == 1024 else f"{int(limit)}"


def _measure(mix: Mix, low: _Lowerer, scorer: _Scorer) -> Mix:
    if mix.loss is None:
        plan = low.plan(mix.act_bits, mix.bits)
        mix.costs, mix.loss = plan_costs(plan), scorer.loss(plan)
    return mix


def _choose(budget: Budget, space: _Space, extra: list[Mix], low: _Lowerer,
            scorer: _Scorer) -> tuple[Mix, list[Mix]]:
    limits = budget.limits()
    fitting = space.best_fitting(limits, MEASURED) + [m for m in extra if _meets(m.costs, limits)]
    fitting.sort(key=lambda m: m.predicted_loss)
    if not fitting:
        raise BudgetError(f"--budget {budget.text()}: no mix of weight bits meets every limit at once "
                          f"(each is reachable alone; loosen one)")
    measured = [_measure(m, low, scorer) for m in fitting[:MEASURED]]
    good = [m for m in measured if _meets(m.costs, limits)]
    if not good:
        raise BudgetError(f"--budget {budget.text()}: the mixes that meet it by the cost model exceed it "
                          f"once lowered (RAM or scratch); loosen the budget")
    return min(good, key=lambda m: m.loss), measured


def _front(space: _Space, extra: list[Mix], low: _Lowerer, scorer: _Scorer, measured: list[Mix]) -> list[Mix]:
    """The simulated Pareto fronts: flash vs loss and instructions vs loss (up to FRONT_POINTS each)."""
    chosen: dict[tuple, Mix] = {m.key(): m for m in measured + extra}
    for metric in ("flash", "instructions"):
        on_front = space.front(metric)
        step = max(1, int(np.ceil(len(on_front) / FRONT_POINTS)))
        picked = on_front[::step] + ([on_front[-1]] if (len(on_front) - 1) % step else [])
        for m in picked:
            m = chosen.setdefault(m.key(), m)
            _measure(m, low, scorer)
            m.front.append(metric)
    for m in extra:
        m.front.append("16-bit activations")
    return sorted((m for m in chosen.values() if m.front), key=lambda m: (m.costs.flash, m.loss))
