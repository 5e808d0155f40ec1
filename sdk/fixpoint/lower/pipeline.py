"""``lower(graph, quant, profile, options) -> Plan``: the lowering pipeline.

Passes, in order: check inputs -> (cross-layer equalization) -> (float sample
activations for the refinements) -> graph input tensors -> one layer per node,
looked up in the lowering table -> outputs -> arena planning -> hash.

Per-layer activation widths (``LowerOptions.activation_bits_overrides``): each layer runs at its own
width; a layer reading a value made at the other width reads a ``requantize`` copy of it
(fixpoint.lower.widths), and graph outputs are requantized back to the base width.
"""

from __future__ import annotations

import copy
from dataclasses import replace
import logging

from fixpoint.ir import Graph, ModelError, Node
from fixpoint.ops.runtime_ops import RUNTIME_OPS
from fixpoint.plan import Plan, PlanLayer, RequantProfile
from fixpoint.quant import TensorQuant

from .context import LayerReport, LowerContext, LowerReport
from .engines import choose as choose_engine, layer_facts
from .equalize import apply_equalization
from .options import LowerOptions
from .refine import collect_layer_inputs
from .table import LOWERINGS
from .widths import check_overrides, finish_outputs, layer_bits, prepare_inputs

log = logging.getLogger(__name__)


def lower(
    graph: Graph, quant: dict[str, TensorQuant], profile: RequantProfile, options: LowerOptions | None = None
) -> Plan:
    """Lower a normalized float graph and its calibration to an integer plan."""
    return lower_with_report(graph, quant, profile, options)[0]


def lower_with_report(
    graph: Graph, quant: dict[str, TensorQuant], profile: RequantProfile, options: LowerOptions | None = None
) -> tuple[Plan, LowerReport]:
    """As :func:`lower`, also returning the per-layer precision report (also in plan.meta)."""
    options = options or LowerOptions()
    _check_inputs(graph, profile)
    ctx = LowerContext(graph, quant, profile, options, activation_bits(graph, quant, options))
    ctx.report.options = options.summary()
    if options.equalize:
        apply_equalization(ctx, options.equalize_iterations)
    if options.wants_layer_inputs():
        ctx.layer_inputs.update(collect_layer_inputs(ctx))
    check_overrides(ctx)
    for name in graph.inputs:
        ctx.add_tensor(name, ctx.calibrated_qparams(name))
    layers: list[PlanLayer] = []
    for node in graph.nodes:
        layers.append(lower_node(ctx, node, layers))
    for name in graph.outputs:
        _output_index(ctx, name)
    outputs = finish_outputs(ctx, layers)
    plan = Plan(
        model_name=graph.name,
        tensors=ctx.tensors,
        layers=layers,
        inputs=[ctx.index[n] for n in graph.inputs],
        outputs=outputs,
        profile=profile,
        source_model_sha256=graph.source_sha256,
        engine_profiles=dict(ctx.engine_profiles),
    )
    plan.meta["lowering"] = ctx.report.to_dict()
    if options.plan_memory:
        plan = plan_arena_if_available(plan)
    plan.model_hash = plan.compute_hash()
    return plan, ctx.report


def _check_inputs(graph: Graph, profile: RequantProfile) -> None:
    # the profile validated itself when it was built (RequantProfile.__post_init__)
    if graph.stage != "normalized":
        raise ModelError(f"graph '{graph.name}' must be normalized before lowering (stage is '{graph.stage}')")


def activation_bits(graph: Graph, quant: dict[str, TensorQuant], options: LowerOptions) -> int:
    """The options' width, else the calibrated width of the graph inputs."""
    if options.activation_bits is not None:
        return options.activation_bits
    widths = {quant[n].bits for n in graph.inputs if n in quant}
    if not widths:
        raise ModelError(f"graph input(s) {graph.inputs} have no calibration entry")
    if len(widths) > 1 or widths - {8, 16}:
        raise ModelError(f"graph inputs are calibrated with mixed or unsupported widths {sorted(widths)}")
    return widths.pop()


# weight bits -> datapath of a layer with int8 activations
WEIGHT_BITS_DATAPATH = {8: "s8", 4: "s4", 2: "s2", 1: "s1"}


def layer_datapath(ctx: LowerContext, node: Node, has_weights: bool) -> str:
    bits = ctx.options.weight_bits_for(node.name, *node.outputs) if has_weights else 8
    if ctx.act_bits == 16:
        if bits != 8:
            why = " (activation bits override)" if ctx.act_bits != ctx.base_bits else ""
            raise ModelError(
                f"layer '{node.name}': {bits}-bit weights need 8-bit activations{why} (no s16 x int{bits} datapath)"
            )
        return "s16"
    return WEIGHT_BITS_DATAPATH[bits]


def _assign_engine(ctx: LowerContext, node: Node, row, datapath: str, lowered, output: int):
    """(engine name, the layer lowered for it): the engine assignment pass (fixpoint.lower.engines)."""
    if not ctx.options.engines:
        return "default", lowered
    target_profile = ctx.profile
    facts = layer_facts(ctx, node, lowered.op or node.op, datapath, lowered.params, lowered.arrays, output)

    def relower(engine):
        profile = engine.profile(target_profile)
        if profile == target_profile:
            return lowered
        saved = copy.deepcopy(ctx.report.layers[node.name])  # a refused attempt leaves no trace
        ctx.profile = profile
        try:
            return row.lower(ctx, node, datapath)
        except ModelError:
            ctx.report.layers[node.name] = saved
            raise
        finally:
            ctx.profile = target_profile

    engine, chosen, reason = choose_engine(ctx, node, facts, relower)
    if engine.profile(target_profile) != target_profile:
        ctx.engine_profiles[engine.name] = engine.profile(target_profile)
    ctx.report.layers[node.name].engine_reason = reason
    log.debug("%s", reason)
    return engine.name, chosen


def lower_node(ctx: LowerContext, node: Node, layers: list[PlanLayer]) -> PlanLayer:
    """Lower ``node`` at its activation width; requantize layers it needs are appended to ``layers``."""
    row = LOWERINGS.get(node.op)
    if row is None:
        raise ModelError(
            f"layer '{node.name}': op '{node.op}' cannot be lowered (supported: {', '.join(sorted(LOWERINGS))})"
        )
    if len(node.outputs) != 1:
        raise ModelError(f"layer '{node.name}': expected one output, got {len(node.outputs)}")
    ctx.act_bits = layer_bits(ctx, node)
    try:
        datapath = layer_datapath(ctx, node, row.has_weights)
        if datapath not in RUNTIME_OPS[node.op].datapaths:
            raise ModelError(f"layer '{node.name}': the runtime has no {datapath} kernel for {node.op}")
        prepare_inputs(ctx, node, _activation_inputs(ctx, node), layers)
        return _lower_at_width(ctx, node, row, datapath)
    finally:
        ctx.act_bits, ctx.views = ctx.base_bits, {}


def _lower_at_width(ctx: LowerContext, node: Node, row, datapath: str) -> PlanLayer:
    ctx.report.layers[node.name] = LayerReport(node.name, node.op, datapath)
    if node.name in ctx.equalized_pairs:
        factors = ctx.activation_scales[node.outputs[0]]
        ctx.report.layers[node.name].refinements["equalization"] = {
            "next_layer": ctx.equalized_pairs[node.name],
            "output_channel_factors": [float(factors.min()), float(factors.max())],
        }
    inputs = [ctx.tensor_index(n) for n in _activation_inputs(ctx, node)]
    qp, rule = row.output_qparams(ctx, node)
    output = ctx.add_tensor(node.outputs[0], qp, rule)
    ctx.produced_bits[node.outputs[0]] = ctx.act_bits
    lowered = row.lower(ctx, node, datapath)
    engine, lowered = _assign_engine(ctx, node, row, datapath, lowered, output)
    op = lowered.op or node.op
    ctx.report.layers[node.name].op = op
    ctx.report.layers[node.name].engine = engine
    log.debug("lowered %s (%s, %s): %s", node.name, op, datapath, lowered.params)
    return PlanLayer(
        name=node.name,
        op=op,
        datapath=datapath,
        inputs=inputs,
        output=output,
        params=lowered.params,
        arrays=lowered.arrays,
        engine=engine,
        source_nodes=[node.name, *node.fused],
    )


def _activation_inputs(ctx: LowerContext, node: Node) -> list[str]:
    """The node's non-constant inputs, which must already be plan tensors."""
    names = []
    for name in node.inputs:
        value = ctx.graph.values.get(name)
        if value is None:
            raise ModelError(f"layer '{node.name}': input '{name}' is not a value of the graph")
        if not value.is_const:
            ctx.tensor(name)  # raises when used before produced
            names.append(name)
    return names


def _output_index(ctx: LowerContext, name: str) -> int:
    if name not in ctx.index:
        raise ModelError(f"graph output '{name}' is not produced by any node")
    return ctx.index[name]


def plan_arena_if_available(plan: Plan) -> Plan:
    """The plan with arena offsets (fixpoint.memory.plan_arena), or unchanged without that module."""
    try:
        from fixpoint.memory import plan_arena
    except ModuleNotFoundError as exc:
        if exc.name != "fixpoint.memory":
            raise
        log.warning("fixpoint.memory is not available: arena offsets left unplanned")
        return plan
    return plan_arena(plan)


def lower_with_widths(
    graph: Graph,
    quant8: dict[str, TensorQuant],
    quant16: dict[str, TensorQuant] | None,
    profile: RequantProfile,
    options: LowerOptions | None,
    widths: dict[str, int],
) -> Plan:
    """An 8-bit plan whose layers in ``widths`` (layer name or glob -> 8 | 16) run at that width.

    ``quant8`` / ``quant16``: the 8- and 16-bit calibration of the same tensors (fixpoint.mixed.search.quant_16);
    ``options``' own activation width settings are replaced. For the mixed-precision search and the calibrator."""
    options = replace(
        options or LowerOptions(),
        activation_bits=8,
        activation_bits_overrides={k: v for k, v in widths.items() if v != 8},
        activation_quant={16: quant16} if quant16 is not None else {},
    )
    return lower(graph, quant8, profile, options)
