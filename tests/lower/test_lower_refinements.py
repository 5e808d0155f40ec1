"""Cross-layer equalization, adaptive rounding and bias correction."""

import math

import numpy as np
import pytest

from fixpoint.ir import Graph, ModelError, Value
from fixpoint.lower import LowerOptions, lower_with_report
from fixpoint.lower.adaround import adaptive_round
from fixpoint.lower.equalize import equalizable_pairs, equalize_graph
from fixpoint.lower.patches import patch_stats
from fixpoint.normalize.float_exec import run_normalized
from fixpoint.plan import RequantProfile

from lower_graphs import GraphBuilder, conv_attrs

RELU = {"act": "relu", "act_range": [0.0, math.inf]}


def _chain(rng) -> Graph:
    g = GraphBuilder()
    x = g.input("x", [1, 6, 6, 3], scale=0.05)
    g.const("W1", rng.normal(size=(5, 3, 3, 3)) * rng.uniform(0.01, 3, size=(5, 1, 1, 1)))
    g.const("B1", rng.normal(size=5))
    g.node("conv2d", [x, "W1", "B1"], "c1", [1, 6, 6, 5], attrs=conv_attrs(pads=(1, 1, 1, 1), **RELU))
    g.const("W2", rng.normal(size=(1, 3, 3, 5))), g.const("B2", rng.normal(size=5))
    g.node(
        "depthwise_conv2d",
        ["c1", "W2", "B2"],
        "c2",
        [1, 3, 3, 5],
        attrs={**conv_attrs(pads=(1, 1, 0, 0), strides=(2, 2)), "depth_multiplier": 1},
    )
    g.const("W3", rng.normal(size=(4, 1, 1, 5))), g.const("B3", rng.normal(size=4))
    g.node("conv2d", ["c2", "W3", "B3"], "c3", [1, 3, 3, 4], attrs=conv_attrs(**RELU))
    g.const("W4", rng.normal(size=(3, 36))), g.const("B4", rng.normal(size=3))
    g.node("fully_connected", ["c3", "W4", "B4"], "out", [1, 1, 1, 3], attrs={"act": "none"}, layout="NC")
    return g.graph(["out"])


def test_equalization_keeps_the_float_function_and_balances_ranges():
    rng = np.random.default_rng(7)
    graph = _chain(rng)
    # c1 -> depthwise is not a pair (depthwise cannot be the second layer); depthwise -> c3 and c3 -> fc are
    assert [(a.name, b.name) for a, b in equalizable_pairs(graph)] == [("c2_node", "c3_node"), ("c3_node", "out_node")]
    eq = equalize_graph(graph, iterations=1)
    values = dict(graph.values)
    values.update({k: Value(k, list(v.shape), data=v) for k, v in eq.weights.items()})
    equalized = Graph(graph.name, graph.nodes, values, graph.inputs, graph.outputs, 13, "normalized")
    x = rng.normal(size=(1, 6, 6, 3)).astype(np.float32)
    before, after = run_normalized(graph, {"x": x}), run_normalized(equalized, {"x": x})
    np.testing.assert_allclose(after["out"], before["out"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        after["c3"].reshape(-1, 4) / eq.activation_scales["c3"], before["c3"].reshape(-1, 4), rtol=1e-4, atol=1e-6
    )
    r1 = np.abs(eq.weights["W3"]).reshape(4, -1).max(axis=1)
    r2 = np.abs(eq.weights["W4"]).reshape(3, -1, 4).max(axis=(0, 1))
    np.testing.assert_allclose(r1, r2)


def test_clip_activation_blocks_equalization():
    rng = np.random.default_rng(8)
    g = GraphBuilder()
    x = g.input("x", [1, 1, 1, 4], scale=0.05)
    g.const("W1", rng.normal(size=(4, 4))), g.const("B1", np.zeros(4))
    g.node("fully_connected", [x, "W1", "B1"], "h", [1, 1, 1, 4], attrs={"act": "clip", "act_range": [0, 6.0]})
    g.const("W2", rng.normal(size=(2, 4))), g.const("B2", np.zeros(2))
    g.node("fully_connected", ["h", "W2", "B2"], "y", [1, 1, 1, 2], attrs={"act": "none"})
    assert equalizable_pairs(g.graph(["y"])) == []


@pytest.mark.parametrize("op", ["conv2d", "grouped", "depthwise_conv2d", "fully_connected"])
def test_patch_gram_gives_the_output_energy_of_any_weight_error(op):
    """d^T G d must equal the sum of squared outputs of the layer run with weights d and no bias."""
    rng = np.random.default_rng(9)
    g = GraphBuilder()
    x = g.input("x", [1, 7, 6, 4], scale=0.05)
    if op == "fully_connected":
        shape, attrs, out_shape = (3, 7 * 6 * 4), {"act": "none"}, [1, 1, 1, 3]
    elif op == "depthwise_conv2d":
        shape, out_shape = (1, 3, 2, 8), [1, 4, 3, 8]
        attrs = {**conv_attrs(pads=(1, 0, 1, 1), strides=(2, 2)), "depth_multiplier": 2}
    else:
        groups = 2 if op == "grouped" else 1
        shape, out_shape = (6, 3, 3, 4 // groups), [1, 2, 6, 6]
        attrs = conv_attrs(pads=(0, 1, 0, 1), strides=(2, 1), dilations=(2, 1), groups=groups)
    real_op = "conv2d" if op == "grouped" else op
    d = rng.normal(size=shape)
    g.const("D", d), g.const("Z", np.zeros(shape[3] if real_op == "depthwise_conv2d" else shape[0]))
    g.node(real_op, [x, "D", "Z"], "y", out_shape, attrs=attrs)
    graph = g.graph(["y"])
    xs = rng.normal(size=(5, 7, 6, 4))
    energy = sum(
        float(np.sum(run_normalized(graph, {"x": xs[i : i + 1].astype(np.float32)})["y"].astype(np.float64) ** 2))
        for i in range(5)
    )
    stats = patch_stats(graph.nodes[0], xs, shape, out_shape)
    flat = d[0].reshape(-1, shape[3]).T if real_op == "depthwise_conv2d" else d.reshape(shape[0], -1)
    got = float(np.einsum("oi,oij,oj->", flat, stats.gram[stats.group_of], flat))
    assert got == pytest.approx(energy, rel=1e-5)


def test_adaptive_rounding_never_loses_to_nearest_and_stays_on_neighbours():
    rng = np.random.default_rng(10)
    mix = rng.normal(size=(12, 12))
    patches = rng.normal(size=(400, 12)) @ mix  # strongly correlated inputs
    gram = (patches.T @ patches)[None]
    w = rng.normal(size=(6, 12))
    scale = np.abs(w).max(axis=1) / 7
    result = adaptive_round(w, scale, 7, gram, np.zeros(6, np.int64), len(patches))
    ratio = w / scale[:, None]
    assert np.all((result.values >= np.floor(ratio)) & (result.values <= np.ceil(ratio)))
    assert np.abs(result.values).max() <= 7
    assert result.flips > 0 and result.mse_after < 0.8 * result.mse_before
    d = result.values * scale[:, None] - w
    assert result.mse_after == pytest.approx(float(np.einsum("oi,ij,oj->", d, gram[0], d)) / 400)


def _onnx_mlp(tmp_path, rng):
    """A small float ONNX MLP on disk, loaded and normalized by the real front end."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from fixpoint.frontend import load_model
    from fixpoint.normalize import normalize

    w1, b1 = rng.normal(size=(16, 24)).astype(np.float32) * 0.4, rng.normal(size=24).astype(np.float32) * 0.1
    w2, b2 = rng.normal(size=(24, 5)).astype(np.float32) * 0.4, rng.normal(size=5).astype(np.float32) * 0.1
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1"),
        helper.make_node("Relu", ["h"], ["hr"], name="relu1"),
        helper.make_node("Gemm", ["hr", "w2", "b2"], ["y"], name="fc2"),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 5])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "mlp.onnx"
    onnx.save(model, path)
    return path, normalize(load_model(path))


def _minmax_quant(graph, path, xs):
    from fixpoint.calibrate import quant_from_range
    from fixpoint.lower.onnx_acts import float_session, iterate_float

    session, _ = float_session(path, graph.activation_names())
    acts = next(iterate_float(session, [xs], len(xs)))[1]
    acts["x"] = xs
    return {
        n: quant_from_range(n, float(acts[n].min()), float(acts[n].max()), 8, "asymmetric", "max")
        for n in graph.activation_names()
    }


def test_refinements_through_lowering(tmp_path):
    rng = np.random.default_rng(11)
    path, graph = _onnx_mlp(tmp_path, rng)
    xs = rng.normal(size=(64, 16)).astype(np.float32)
    quant = _minmax_quant(graph, path, xs)
    base = LowerOptions(
        weight_bits=4, samples=xs, plan_memory=False, adaptive_rounding=False, bias_correction=False, weight_clip="none"
    )  # int4 would refine by default
    plain, _ = lower_with_report(graph, quant, RequantProfile(), base)
    options = LowerOptions(
        weight_bits=4, samples=xs, plan_memory=False, adaptive_rounding=True, bias_correction=True, equalize=True
    )
    refined, report = lower_with_report(graph, quant, RequantProfile(), options)
    fc1 = report.layers["fc1"].refinements
    assert fc1["equalization"]["next_layer"] == "fc2"
    assert fc1["adaptive_rounding"]["output_mse_adaptive"] < fc1["adaptive_rounding"]["output_mse_nearest"]
    assert "bias_correction" in fc1 and report.layers["fc2"].refinements["adaptive_rounding"]["flips"] > 0
    assert report.tensor_rules["hr"] == "equalized"
    assert quant["hr"].scale != refined.tensors[1].scale  # the caller's calibration is untouched
    assert not np.array_equal(plain.layers[0].arrays["weights"], refined.layers[0].arrays["weights"])


def test_refinements_without_samples_or_model_are_explained(tmp_path):
    rng = np.random.default_rng(12)
    path, graph = _onnx_mlp(tmp_path, rng)
    quant = _minmax_quant(graph, path, rng.normal(size=(8, 16)).astype(np.float32))
    for flag in ("equalize", "adaptive_rounding", "bias_correction"):
        with pytest.raises(ModelError, match="need samples"):
            lower_with_report(graph, quant, RequantProfile(), LowerOptions(plan_memory=False, **{flag: True}))
    graph.source_path = str(tmp_path / "gone.onnx")
    with pytest.raises(ModelError, match="need the source ONNX model"):
        lower_with_report(
            graph,
            quant,
            RequantProfile(),
            LowerOptions(adaptive_rounding=True, samples=np.zeros((4, 16)), plan_memory=False, sequential=False),
        )
    # sequential refinement runs the normalized graph itself: no source model needed
    lower_with_report(
        graph,
        quant,
        RequantProfile(),
        LowerOptions(adaptive_rounding=True, samples=np.zeros((4, 16)), plan_memory=False, sequential=True),
    )


def test_evaluation_compares_equalized_activations_in_float_model_units(tmp_path):
    from fixpoint.evaluate import evaluate

    rng = np.random.default_rng(13)
    path, graph = _onnx_mlp(tmp_path, rng)
    xs = rng.normal(size=(64, 16)).astype(np.float32)
    quant = _minmax_quant(graph, path, xs)
    plan = lower_with_report(graph, quant, RequantProfile(), LowerOptions(equalize=True, samples=xs))[0]
    factors = plan.meta["lowering"]["activation_scales"]["hr"]
    assert len(factors) == 24 and not np.allclose(factors, 1.0)
    result = evaluate(path, graph, plan, xs, None)
    assert [e.tensor for e in result.per_layer] == ["hr", "y"]
    assert result.per_layer[0].sqnr_db > 30, result.per_layer


def test_a_calibration_set_can_serve_as_samples(tmp_path):
    from fixpoint.calibrate import CalibrationData

    rng = np.random.default_rng(14)
    path, graph = _onnx_mlp(tmp_path, rng)
    xs = rng.normal(size=(80, 16)).astype(np.float32)
    quant = _minmax_quant(graph, path, xs)
    common = dict(adaptive_rounding=True, bias_correction=True, plan_memory=False, max_samples=32)
    from_array = lower_with_report(graph, quant, RequantProfile(), LowerOptions(samples=xs[:32], **common))[0]
    from_set = lower_with_report(
        graph, quant, RequantProfile(), LowerOptions(samples=CalibrationData.from_array(xs), **common)
    )[0]
    assert from_set.model_hash != "" and from_set.compute_hash() == from_array.compute_hash()


@pytest.mark.parametrize("position", [0, 1, 3])  # conv2d, depthwise, fully connected of _chain
@pytest.mark.parametrize("centered", [False, True])
def test_sequential_objective_is_the_residual_energy_against_the_float_layer(position, centered):
    from dataclasses import replace

    from fixpoint.lower.refine import _channels_first
    from fixpoint.lower.sequential import reconstruction_terms
    from fixpoint.normalize.float_exec import KERNELS

    rng = np.random.default_rng(20 + position)
    graph = _chain(rng)
    node = replace(
        graph.nodes[position],
        attrs={k: v for k, v in graph.nodes[position].attrs.items() if k not in ("act", "act_range")},
    )
    shape_in = [5, *graph.values[node.inputs[0]].shape[1:]]
    out_shape = [5, *graph.values[node.outputs[0]].shape[1:]]
    xf = rng.normal(size=shape_in)
    xq = xf + 0.2 * rng.normal(size=shape_in)  # what a quantized network feeds the layer
    w = graph.values[node.inputs[1]].data.astype(np.float64)
    delta = 0.1 * rng.normal(size=w.shape)  # the weights' rounding error
    zero = np.zeros(out_shape[-1])
    residual = KERNELS[node.op](node, [xq, w + delta, zero], out_shape) - KERNELS[node.op](
        node, [xf, w, zero], out_shape
    )
    residual = residual.reshape(-1, out_shape[-1])
    if centered:
        residual = residual - residual.mean(axis=0)
    objective, _, _ = reconstruction_terms(node, xq, xf, _channels_first(w, node.op), w.shape, out_shape, centered)
    np.testing.assert_allclose(
        objective.value(_channels_first(delta, node.op)), (residual**2).sum(axis=0), rtol=1e-9, atol=1e-9
    )


def test_learned_rounding_lowers_the_sequential_loss_and_stays_on_neighbours():
    from fixpoint.lower.adaround import Objective, learned_round

    rng = np.random.default_rng(21)
    pf = rng.normal(size=(500, 10)) @ rng.normal(size=(10, 10))
    pq = pf + 0.3 * rng.normal(size=pf.shape)
    w = rng.normal(size=(4, 10))
    ew = (pq - pf) @ w.T
    objective = Objective((pq.T @ pq)[None], np.zeros(4, np.int64), len(pq), (pq.T @ ew).T, (ew**2).sum(axis=0))
    scale = np.abs(w).max(axis=1) / 7
    result = learned_round(w, scale, 7, objective, objective.group_of, objective.count)
    ratio = w / scale[:, None]
    assert np.all((result.values >= np.floor(ratio)) & (result.values <= np.ceil(ratio)))
    residual = pq @ (result.values * scale[:, None]).T - pf @ w.T
    assert result.mse_after == pytest.approx(float((residual**2).sum()) / len(pq))
    assert result.mse_after < 0.9 * result.mse_before and result.flips > 0


def test_each_layer_is_refined_on_the_inputs_of_the_quantized_layers_before_it(tmp_path, monkeypatch):
    import fixpoint.lower.refine as refine

    rng = np.random.default_rng(22)
    path, graph = _onnx_mlp(tmp_path, rng)
    xs = rng.normal(size=(32, 16)).astype(np.float32)
    quant = _minmax_quant(graph, path, xs)
    seen = {}
    real = refine.reconstruction_terms

    def spy(node, xq, xf, *args):
        seen[node.name] = (np.array(xq), np.array(xf))
        return real(node, xq, xf, *args)

    monkeypatch.setattr(refine, "reconstruction_terms", spy)
    plan, report = lower_with_report(
        graph, quant, RequantProfile(), LowerOptions(weight_bits=4, samples=xs, plan_memory=False)
    )
    first, second = graph.nodes
    assert set(seen) == {first.name, second.name}
    np.testing.assert_allclose(seen[first.name][1].reshape(32, 16), xs, rtol=1e-6)
    # the second layer sees the first one as lowered: int4 weights, corrected bias, relu, on its tensor's grid
    layer = plan.layers[0]
    s_in = plan.tensors[layer.inputs[0]].scale
    s_w = np.asarray(report.layers[first.name].weight_scale)
    x_grid = seen[first.name][0].reshape(32, 16)
    h = np.maximum(x_grid @ (layer.arrays["weights"] * s_w[:, None]).T + layer.arrays["bias"] * s_in * s_w, 0)
    out = plan.tensors[layer.output]
    h = (np.clip(np.floor(h / out.scale + 0.5) + out.zero_point, -128, 127) - out.zero_point) * out.scale
    xq, xf = (a.reshape(32, -1) for a in seen[second.name])
    # equal up to the plan bias's own rounding, which can move a value across a grid boundary
    assert np.mean(np.abs(xq - h) < 1e-6) > 0.95 and np.max(np.abs(xq - h)) <= out.scale * 1.001
    assert np.mean(np.abs(xq - xf)) > 10 * np.mean(np.abs(xq - h))  # and not the float activations
    assert report.layers[second.name].refinements["adaptive_rounding"]["flips"] > 0
