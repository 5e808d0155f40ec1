"""Per-layer activation widths: which width a layer runs at and the ``requantize`` layers between widths.

``LowerOptions.activation_bits_overrides`` gives some layers the other width than the plan's base
width (the graph inputs' calibrated width). A layer reads its inputs at its own width: a value made at
the other width is requantized once per width (plan tensor ``<value>@int16`` / ``<value>@int8``) and
the copy is shared by every later reader at that width. Graph inputs and outputs keep the base width,
so a firmware's I/O buffers and the HIL frames do not change when widths are chosen per layer.
"""

from __future__ import annotations

import fnmatch

from fixpoint.ir import Graph, ModelError, Node
from fixpoint.ops.runtime_ops import RUNTIME_OPS
from fixpoint.plan import PlanLayer

from .options import LowerOptions
from .context import DTYPE_OF_BITS, QRANGE, LayerReport, LowerContext, QParams
from .scales import quantize_scale, require_representable

REQUANTIZE = "requantize"


def layer_bits(ctx: LowerContext, node: Node) -> int:
    """The activation width ``node`` runs at."""
    return ctx.options.activation_bits_for(ctx.base_bits, node.name, *node.outputs)


def check_overrides(ctx: LowerContext) -> None:
    """Every override names a layer, asks for a width that layer's op has a kernel for, and the
    calibration of each width used is there."""
    for bits in check_widths(ctx.graph, ctx.options, ctx.base_bits):
        ctx.quant_for(bits)  # raises when that width's calibration is missing


def check_widths(graph: Graph, options: LowerOptions, base_bits: int) -> set[int]:
    """The widths other than ``base_bits`` the overrides ask for; a pattern matching no layer or a layer
    whose op has no kernel at its width is an error (also run before calibration: fail fast)."""
    check_override_names(graph, options.activation_bits_overrides)
    other = set()
    for node in graph.nodes:
        bits = options.activation_bits_for(base_bits, node.name, *node.outputs)
        if bits == base_bits:
            continue
        op = RUNTIME_OPS.get(node.op)
        dp = "s16" if bits == 16 else "s8"
        if op is not None and dp not in op.datapaths:
            raise ModelError(
                f"layer '{node.name}' ({node.op}): activation bits override {bits} needs an {dp} "
                f"kernel, the runtime has none for {node.op}"
            )
        other.add(bits)
    return other


def check_override_names(graph: Graph, overrides: dict[str, int]) -> None:
    """Every pattern matches a layer name or a layer's output value name (a typo is an error, not int8)."""
    for pattern in overrides:
        if not any(fnmatch.fnmatchcase(n, pattern) for node in graph.nodes for n in (node.name, *node.outputs) if n):
            raise ModelError(f"activation bits override '{pattern}' matches no layer of graph '{graph.name}'")


def prepare_inputs(ctx: LowerContext, node: Node, names: list[str], layers: list[PlanLayer]) -> None:
    """Point ``ctx.views`` at copies, at the layer's width, of the inputs made at the other width."""
    for name in names:
        if value_bits(ctx, name) != ctx.act_bits:
            ctx.views[name] = _converted(ctx, name, ctx.act_bits, layers, node.name)


def value_bits(ctx: LowerContext, name: str) -> int:
    """The width the value was made at: its producer's, the base width for graph inputs."""
    return ctx.produced_bits.get(name, ctx.base_bits)


def finish_outputs(ctx: LowerContext, layers: list[PlanLayer]) -> list[int]:
    """Plan output indices; an output made at the other width is requantized to the base width under
    the output's own name (its producer's tensor is renamed ``<value>@int16``)."""
    outputs = []
    for name in ctx.graph.outputs:
        if value_bits(ctx, name) == ctx.base_bits:
            outputs.append(ctx.index[name])
            continue
        made = ctx.tensors[ctx.index[name]]
        made.name = f"{name}@{made.dtype}"
        ctx.report.tensor_rules[made.name] = ctx.report.tensor_rules.pop(name, "calibrated")
        outputs.append(_converted(ctx, name, ctx.base_bits, layers, "the graph output", plan_name=name))
    return outputs


def _converted(
    ctx: LowerContext, name: str, bits: int, layers: list[PlanLayer], reader: str, plan_name: str = ""
) -> int:
    """The index of ``name`` requantized to ``bits`` (made once, then shared)."""
    key = (name, bits)
    if key in ctx.converted:
        return ctx.converted[key]
    src_index = ctx.index[name]
    src = ctx.tensors[src_index]
    qout = _target_qparams(ctx, name, src.dtype, src.scale, src.zero_point, bits, reader)
    out_name = plan_name or f"{name}@{qout.dtype}"
    index = ctx.add_tensor(name, qout, f"requantized:{src.name}", name=out_name)
    layer_name = f"{out_name}/requantize"
    regs = quantize_scale(src.scale / qout.scale, ctx.profile)
    require_representable(regs, layer_name, "scale", ctx.profile, ctx.options.max_scale_error)
    report = LayerReport(layer_name, REQUANTIZE, "s16" if src.dtype == "int16" else "s8")
    report.scale_errors["scale"] = regs.max_rel_error
    report.notes.append(f"'{name}' {src.dtype} -> {qout.dtype} for {reader}")
    ctx.report.layers[layer_name] = report
    layers.append(
        PlanLayer(
            name=layer_name,
            op=REQUANTIZE,
            datapath=report.datapath,
            inputs=[src_index],
            output=index,
            params={
                "input_offset": -src.zero_point,
                "output_offset": qout.zero_point,
                "scale": regs.pairs()[0],
                "act_min": qout.qmin,
                "act_max": qout.qmax,
            },
            arrays={},
            engine="default",
            source_nodes=[],
        )
    )
    ctx.converted[key] = index
    return index


def _target_qparams(
    ctx: LowerContext, name: str, dtype: str, scale: float, zero_point: int, bits: int, reader: str
) -> QParams:
    """The calibrated quantization of ``name`` at ``bits``, else (no entry: a fixed-output tensor such as
    softmax's) the source's representable range, symmetric."""
    if name in ctx.quant_for(bits):
        return ctx.calibrated_qparams(name, reader, bits)
    lo, hi = QRANGE[dtype]
    bound = scale * max(abs(lo - zero_point), abs(hi - zero_point))
    out_dtype = DTYPE_OF_BITS[bits]
    return QParams(bound / QRANGE[out_dtype][1], 0, out_dtype)
