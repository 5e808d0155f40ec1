"""Lowered plans run on the reference C runtime (host simulation) and match float math.

For every layer, the integer output must equal, within one output step, the
float op applied to the dequantized integer inputs with the weights the
integer layer really uses (quantized weights times the achieved scale). This
checks every register value lowering produces against the real kernels.
"""

import copy
import math

import numpy as np
import pytest

from fixpoint.ir import Graph, Value
from fixpoint.lower import LowerOptions, lower
from fixpoint.lower.scales import achieved_factor
from fixpoint.normalize.float_exec import run_normalized, to_nhwc
from fixpoint.plan import RequantProfile
from fixpoint.calibrate import quant_from_range
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

from lower_graphs import GraphBuilder, conv_attrs

N_SAMPLES = 12
RELU = {"act": "relu", "act_range": [0.0, math.inf]}


def _every_op_graph(bits: int, rng) -> GraphBuilder:
    g = GraphBuilder(bits=bits)
    x = g.input("x", [1, 8, 8, 3], scale=1.0)
    g.const("W", rng.normal(size=(6, 3, 3, 3)) * 0.3), g.const("B", rng.normal(size=6) * 0.1)
    g.node("conv2d", [x, "W", "B"], "c", [1, 8, 8, 6], attrs=conv_attrs(pads=(1, 1, 1, 1), **RELU))
    g.const("DW", rng.normal(size=(1, 3, 3, 6))), g.const("DB", rng.normal(size=6) * 0.1)
    g.node(
        "depthwise_conv2d",
        ["c", "DW", "DB"],
        "d",
        [1, 4, 4, 6],
        attrs={**conv_attrs(pads=(1, 1, 0, 0), strides=(2, 2)), "depth_multiplier": 1},
    )
    # alpha 1/8: a power of two, so shift-only boards can run it too
    g.node("leaky_relu", ["d"], "l", [1, 4, 4, 6], attrs={"alpha": 0.125, "act": "none", "act_range": None})
    pool = {"kernel": [2, 2], "strides": [2, 2], "pads": [0, 0, 0, 0]}
    g.node("max_pool", ["l"], "mp", [1, 2, 2, 6], attrs=pool)
    g.node("avg_pool", ["l"], "ap", [1, 2, 2, 6], attrs=pool)
    g.node("add", ["mp", "ap"], "a", [1, 2, 2, 6], attrs={"act": "none", "act_range": None})
    g.node("mul", ["a", "ap"], "m", [1, 2, 2, 6])
    g.const("k", np.array([0.5, -1, 2, 0.1, 1, 3]).reshape(1, 1, 1, 6))
    g.node("mul", ["m", "k"], "mk", [1, 2, 2, 6])
    g.const("k2", np.array([0.3]).reshape(1, 1, 1, 1))
    g.node("add", ["mk", "k2"], "ak", [1, 2, 2, 6], attrs=RELU)
    g.node("concat", ["ak", "a"], "cc", [1, 2, 2, 12], attrs={"axis": 3})
    g.node(
        "pad", ["cc"], "p", [1, 3, 4, 12], attrs={"pads_before": [0, 1, 1, 0], "pads_after": [0, 0, 1, 0], "value": 0.0}
    )
    g.const("FW", rng.normal(size=(10, 144)) * 0.2), g.const("FB", rng.normal(size=10))
    g.node("fully_connected", ["p", "FW", "FB"], "f", [1, 1, 1, 10], attrs={"act": "none"}, layout="NC")
    g.node("softmax", ["f"], "s", [1, 1, 1, 10], attrs={"axis": 3}, layout="NC")
    return g


def _calibrate_minmax(g: GraphBuilder, graph: Graph, samples: list[np.ndarray], scheme: str) -> None:
    """Min/max calibration through the float executor."""
    runs = [run_normalized(graph, {"x": s}) for s in samples]
    for name in graph.activation_names():
        v = np.concatenate([r[name].reshape(-1) for r in runs]).astype(np.float64)
        g.quant[name] = quant_from_range(
            name, float(v.min()), float(v.max()), g.bits, scheme, "max", (float(v.min()), float(v.max()))
        )


def _effective_constants(plan, layer, node) -> dict[str, Value]:
    """The float constants the integer layer computes with (weights times the achieved scale)."""
    qin, qout = plan.tensors[layer.inputs[0]], plan.tensors[layer.output]
    acc_bits = 64 if layer.datapath == "s16" else 32
    s_w = (
        achieved_factor(layer.arrays["multiplier"], layer.arrays["shift"], plan.profile, acc_bits)
        * qout.scale
        / qin.scale
    )
    w = layer.arrays["weights"].astype(np.float64)
    shape = [1] * w.ndim
    shape[3 if layer.op == "depthwise_conv2d" else 0] = -1
    w = w * (s_w.reshape(shape) if s_w.size > 1 else s_w[0])
    b = layer.arrays["bias"].astype(np.float64) * qin.scale * s_w
    if node.op != layer.op:  # add / mul of a per-channel constant, lowered as a 1x1 depthwise
        const = (b if node.op == "add" else w.reshape(-1)).reshape(1, 1, 1, -1)
        return {node.inputs[1]: Value(node.inputs[1], list(const.shape), data=const)}
    return {
        node.inputs[1]: Value(node.inputs[1], list(w.shape), data=w),
        node.inputs[2]: Value(node.inputs[2], list(b.shape), data=b),
    }


@pytest.mark.parametrize(
    "bits,scheme,profile",
    [
        (8, "asymmetric", RequantProfile()),
        (16, "symmetric", RequantProfile()),
        (8, "asymmetric", RequantProfile(rounding="single", multiplier_bits=16)),
        (8, "asymmetric", RequantProfile(per_channel=False)),
        (8, "pow2", RequantProfile(rounding="shift_only")),
        (16, "pow2", RequantProfile(rounding="shift_only", shift_min=-20, shift_max=8)),
    ],
)
def test_every_layer_matches_float_on_dequantized_values(bits, scheme, profile):
    rng = np.random.default_rng(5)
    g = _every_op_graph(bits, rng)
    graph = g.graph(["s"])
    samples = [rng.uniform(-1, 1, size=(1, 8, 8, 3)).astype(np.float32) for _ in range(N_SAMPLES)]
    _calibrate_minmax(g, graph, samples, scheme)
    plan = lower(graph, g.quant, profile, LowerOptions(weight_bits_overrides={"f_node": 4} if bits == 8 else {}))
    x_int = quantize_input(plan, np.concatenate(samples))
    ints = {"x": x_int, **run_plan(plan, [x_int], capture=True).intermediates}
    index = {t.name: i for i, t in enumerate(plan.tensors)}
    for node, layer in zip(graph.nodes, plan.layers):
        values = dict(graph.values)
        if "weights" in layer.arrays:
            values.update(_effective_constants(plan, layer, node))
        inputs = [n for n in node.inputs if not graph.values[n].is_const]
        single = Graph("one", [copy.deepcopy(node)], values, inputs, node.outputs, 13, "normalized")
        out = plan.tensors[layer.output]
        floats = np.concatenate(
            [
                run_normalized(single, {n: dequantize(plan, index[n], ints[n][b : b + 1]) for n in inputs})[out.name]
                for b in range(N_SAMPLES)
            ]
        )
        info = np.iinfo(np.int8 if bits == 8 else np.int16)
        expected = np.clip(
            np.round(to_nhwc(floats.astype(np.float64), out.source_layout) / out.scale) + out.zero_point,
            info.min,
            info.max,
        )
        diff = np.abs(expected - ints[out.name].astype(np.int64))
        # TFLite's int16 softmax interpolates 513-entry tables: ~1e-3 absolute
        tolerance = 40 if (layer.op == "softmax" and bits == 16) else 1
        worst = np.unravel_index(np.argmax(diff), diff.shape)
        assert diff.max() <= tolerance, f"{layer.name} ({layer.op}): {diff.max()} steps off at {worst}"
