"""Lowering of 'lut' (tables vs the float function), 'prelu' (slope quantization, two
multipliers), 'minimum' / 'maximum' (rescale registers, constant operands) and Sub ('add' with
input_signs)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fixpoint.cparams import layer_arrays_for_c, layer_struct
from fixpoint.ir import ModelError
from fixpoint.lower import LowerOptions, lower
from fixpoint.lut_functions import FUNCTIONS, evaluate, table_s8, table_s16
from fixpoint.plan import RequantProfile

from lower_graphs import GraphBuilder

NO_ARENA = LowerOptions(plan_memory=False)
PARAMS = {
    "hard_sigmoid": {"alpha": 0.2, "beta": 0.5},
    "elu": {"alpha": 0.8},
    "celu": {"alpha": 1.5},
    "gelu": {"approximate": "tanh"},
    "x_hard_sigmoid": {"alpha": 1 / 6, "beta": 0.5},
    "x_clip": {"shift": 3.0, "lo": 0.0, "hi": 6.0},
}


def q31(scale: float) -> dict:
    q, shift = math.frexp(scale)
    m = int(math.floor(q * (1 << 31) + 0.5))
    if m == 1 << 31:
        m, shift = m // 2, shift + 1
    return {"multiplier": m, "shift": shift}


def only_layer(g: GraphBuilder, out: str):
    plan = lower(g.graph([out]), g.quant, RequantProfile(), NO_ARENA)
    assert len(plan.layers) == 1
    layer_struct(plan, 0)
    layer_arrays_for_c(plan.layers[0])
    return plan, plan.layers[0]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_s8_table_within_half_an_lsb_of_the_function(name):
    s_in, zp_in, s_out, zp_out = 0.03, 7, 0.02, -11
    params = PARAMS.get(name, {})
    table = table_s8(name, params, s_in, zp_in, s_out, zp_out).astype(np.float64)
    q = np.arange(-128, 128)
    exact = evaluate(name, s_in * (q - zp_in), params, s_in) / s_out + zp_out
    inside = (exact > -128) & (exact < 127)
    assert np.all(np.abs(table[inside] - exact[inside]) <= 0.5 + 1e-9), name
    assert np.all(table[exact <= -128] == -128) and np.all(table[exact >= 127] == 127)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "silu", "gelu", "exp", "softsign", "hard_swish"])
def test_s16_table_interpolates_the_function(name):
    """TFLite's 513-entry table: the interpolated lookup stays within a few LSB of the function
    wherever the function is smooth (the midpoint bias trades sample error for segment error)."""
    from fixpoint.reference.lut import lut_s16

    s_in, s_out = 6.0 / 32768, 1.0 / 32768 if FUNCTIONS[name].fixed else 8.0 / 32768
    table = table_s16(name, PARAMS.get(name, {}), s_in, s_out)
    x = np.arange(-32768, 32768)
    got = lut_s16(x, table).astype(np.float64)
    exact = evaluate(name, s_in * x, PARAMS.get(name, {}), s_in) / s_out
    inside = (exact > -32000) & (exact < 32000)
    assert np.max(np.abs(got[inside] - exact[inside])) <= 3.0 + 1e-3 * np.max(np.abs(exact[inside]))


@pytest.mark.parametrize("name", ["log", "sqrt", "reciprocal"])
def test_domain_guards_give_finite_saturated_tables(name):
    s8 = table_s8(name, {}, 0.05, 20, 0.1, 0)  # inputs -7.4 .. 5.35: zero and negatives included
    s16 = table_s16(name, {}, 0.001, 0.01)
    q = np.arange(-128, 128)
    nonpositive = 0.05 * (q - 20) <= 0
    assert s8.dtype == np.int8 and s16.dtype == np.int16
    if name == "log":  # evaluated at the smallest positive input s_in
        assert np.all(s8[nonpositive] == round(math.log(0.05) / 0.1))
    if name == "sqrt":
        assert np.all(s8[nonpositive] == 0)
    if name == "reciprocal":  # 0 evaluates at +s_in: 1 / 0.05 = 20 -> saturates at 127
        assert s8[20 + 128] == 127


def test_lut_lowering_fixed_output_and_table():
    g = GraphBuilder()
    x = g.input("x", [1, 2, 2, 3], scale=0.05, zp=3)
    g.node("lut", [x], "y", [1, 2, 2, 3], scale=0.5, zp=0, attrs={"function": "sigmoid", "params": {}})
    plan, layer = only_layer(g, "y")
    out = plan.tensors[layer.output]
    assert (out.scale, out.zero_point) == (1 / 256, -128)  # TFLite's logistic output, not the calibration
    assert layer.params == {} and np.array_equal(layer.arrays["table"], table_s8("sigmoid", {}, 0.05, 3, 1 / 256, -128))


def test_lut_lowering_s16_table_and_calibrated_output():
    g = GraphBuilder(bits=16)
    x = g.input("x", [1, 2, 2, 3], scale=1e-3)
    g.node("lut", [x], "y", [1, 2, 2, 3], scale=2e-3, attrs={"function": "elu", "params": {"alpha": 0.5}})
    plan, layer = only_layer(g, "y")
    assert plan.tensors[layer.output].scale == 2e-3
    assert layer.arrays["table"].shape == (513,) and layer.arrays["table"].dtype == np.int16


def test_lut_unknown_function_names_the_layer():
    g = GraphBuilder()
    x = g.input("x", [1, 2, 2, 3], scale=0.05)
    g.node("lut", [x], "y", [1, 2, 2, 3], scale=0.05, attrs={"function": "nope", "params": {}})
    with pytest.raises(ModelError, match="y_node"):
        only_layer(g, "y")


def test_prelu_lowering_quantizes_the_slope_and_two_multipliers():
    g = GraphBuilder()
    x = g.input("x", [1, 2, 2, 3], scale=0.05, zp=10)
    g.node("prelu", [x], "y", [1, 2, 2, 3], scale=0.04, zp=-20, attrs={"slope": [0.25, -0.5, 0.125]})
    _, layer = only_layer(g, "y")
    s_alpha = 0.5 / 127
    assert layer.arrays["alpha"].tolist() == [64, -127, 32]
    assert layer.params == {
        "input_offset": -10,
        "alpha_offset": 0,
        "output_offset": -20,
        "identity_scale": q31(0.05 / 0.04),
        "alpha_scale": q31(0.05 * s_alpha / 0.04),
        "act_min": -128,
        "act_max": 127,
    }


def test_minmax_rescales_both_inputs_and_quantizes_a_constant():
    g = GraphBuilder()
    a = g.input("a", [1, 2, 2, 3], scale=0.05, zp=4)
    b = g.input("b", [1, 2, 2, 3], scale=0.1, zp=-3)
    g.node("maximum", [a, b], "y", [1, 2, 2, 3], scale=0.08, zp=1)
    plan = lower(g.graph(["y"]), g.quant, RequantProfile(), NO_ARENA)
    assert plan.layers[0].params == {
        "input1_offset": -4,
        "input2_offset": 3,
        "output_offset": 1,
        "input1_scale": q31(0.05 / 0.08),
        "input2_scale": q31(0.1 / 0.08),
        "act_min": -128,
        "act_max": 127,
    }
    g = GraphBuilder()
    a = g.input("a", [1, 2, 2, 3], scale=0.05, zp=4)
    g.const("k", np.array([0.4, -0.8, 100.0]).reshape(1, 1, 1, 3))
    g.node("minimum", [a, "k"], "y", [1, 2, 2, 3], scale=0.1, zp=-2)
    _, layer = only_layer(g, "y")
    assert layer.arrays["weights"].reshape(-1).tolist() == [2, -10, 127]  # round(k / 0.1) - 2, saturated
    assert layer.params["input2_offset"] == 2 and layer.params["input2_scale"] == q31(1.0)


def test_sub_of_two_activations_and_constant_first():
    g = GraphBuilder()
    a = g.input("a", [1, 2, 2, 3], scale=0.05)
    b = g.input("b", [1, 2, 2, 3], scale=0.1)
    g.node(
        "add", [a, b], "y", [1, 2, 2, 3], scale=0.1, attrs={"act": "none", "act_range": None, "input_signs": [1, -1]}
    )
    plan = lower(g.graph(["y"]), g.quant, RequantProfile(), NO_ARENA)
    assert plan.layers[0].op == "add" and plan.layers[0].params["subtract"] == 1
    g = GraphBuilder()
    x = g.input("x", [1, 2, 2, 3], scale=0.05)
    g.const("one", np.array([1.0]).reshape(1, 1, 1, 1))
    g.node(
        "add",
        [x, "one"],
        "y",
        [1, 2, 2, 3],
        scale=0.05,
        attrs={"act": "none", "act_range": None, "input_signs": [-1, 1]},
    )
    _, layer = only_layer(g, "y")
    assert layer.op == "depthwise_conv2d"  # 1 - x: weight -1, bias 1
    assert np.all(layer.arrays["weights"] < 0) and np.all(layer.arrays["bias"] > 0)
