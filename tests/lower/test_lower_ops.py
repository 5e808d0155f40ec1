"""Lowering of each op of a hand-built normalized graph, params checked against hand computation."""

import math

import numpy as np
import pytest

from fixpoint.cparams import layer_arrays_for_c, layer_struct
from fixpoint.ir import ModelError
from fixpoint.lower import LowerOptions, lower, lower_with_report
from fixpoint.plan import RequantProfile

from lower_graphs import GraphBuilder, conv_attrs

RNG = np.random.default_rng(2)
NO_ARENA = LowerOptions(plan_memory=False)


def q31(scale: float) -> dict:
    """TFLite QuantizeMultiplier as a plan fp_scale_t dict."""
    q, shift = math.frexp(scale)
    m = int(math.floor(q * (1 << 31) + 0.5))
    if m == 1 << 31:
        m, shift = m // 2, shift + 1
    return {"multiplier": m, "shift": shift}


def only_layer(g: GraphBuilder, out: str, options=NO_ARENA, profile=None):
    plan = lower(g.graph([out]), g.quant, profile or RequantProfile(), options)
    assert len(plan.layers) == 1
    # the params must be exactly what fixpoint.cparams turns into the C struct
    layer_struct(plan, 0)
    layer_arrays_for_c(plan.layers[0])
    return plan, plan.layers[0]


def test_conv2d_params_weights_bias_and_registers():
    g = GraphBuilder()
    x = g.input("x", [1, 6, 6, 3], scale=0.02, zp=-10)
    w = RNG.normal(size=(4, 3, 3, 3)).astype(np.float32)
    b = np.array([0.1, -0.2, 0.0, 0.3], np.float32)
    g.const("W", w), g.const("B", b)
    g.node(
        "conv2d",
        [x, "W", "B"],
        "y",
        [1, 3, 3, 4],
        scale=0.05,
        zp=3,
        attrs=conv_attrs(pads=(1, 0, 0, 1), strides=(2, 2), act="relu", act_range=[0.0, math.inf]),
        fused=["Relu_1"],
    )
    plan, layer = only_layer(g, "y")
    assert layer.op == "conv2d" and layer.datapath == "s8" and layer.source_nodes == ["y_node", "Relu_1"]
    assert layer.params == {
        "stride_h": 2,
        "stride_w": 2,
        "dilation_h": 1,
        "dilation_w": 1,
        "pad_top": 1,
        "pad_left": 0,
        "groups": 1,
        "input_offset": 10,
        "output_offset": 3,
        "act_min": 3,
        "act_max": 127,
    }
    s_w = np.abs(w.astype(np.float64)).reshape(4, -1).max(axis=1) / 127
    np.testing.assert_array_equal(layer.arrays["weights"], np.clip(np.round(w / s_w[:, None, None, None]), -127, 127))
    np.testing.assert_array_equal(layer.arrays["bias"], np.round(b / (0.02 * s_w)).astype(np.int32))
    assert layer.arrays["bias"].dtype == np.int32
    expected = [q31(0.02 * s / 0.05) for s in s_w]
    assert [
        {"multiplier": int(m), "shift": int(s)} for m, s in zip(layer.arrays["multiplier"], layer.arrays["shift"])
    ] == expected
    assert layer.arrays["multiplier"].dtype == np.int32
    x_t, y_t = plan.tensors
    assert (x_t.scale, x_t.zero_point, x_t.dtype) == (0.02, -10, "int8")
    assert (y_t.name, y_t.shape, y_t.scale, y_t.zero_point) == ("y", [1, 3, 3, 4], 0.05, 3)


def test_clip_activation_becomes_integer_bounds():
    g = GraphBuilder()
    x = g.input("x", [1, 1, 1, 8], scale=0.1)
    g.const("W", RNG.normal(size=(5, 8))), g.const("B", np.zeros(5))
    g.node(
        "fully_connected",
        [x, "W", "B"],
        "y",
        [1, 1, 1, 5],
        scale=0.03,
        zp=-20,
        attrs={"act": "clip", "act_range": [-0.5, 1.234]},
        layout="NC",
    )
    _, layer = only_layer(g, "y")
    # zp + round(lo / s) = -20 - 17 ; hi: -20 + round(41.13) = 21
    assert (layer.params["act_min"], layer.params["act_max"]) == (-37, 21)
    assert layer.params["filter_offset"] == 0 and "depth" not in layer.params


def test_clip_beyond_the_calibrated_range_saturates_to_the_dtype():
    g = GraphBuilder()
    x = g.input("x", [1, 1, 1, 8], scale=0.1)
    g.const("W", RNG.normal(size=(5, 8))), g.const("B", np.zeros(5))
    g.node(
        "fully_connected", [x, "W", "B"], "y", [1, 1, 1, 5], scale=0.01, attrs={"act": "clip", "act_range": [-6.0, 6.0]}
    )
    _, layer = only_layer(g, "y")
    assert (layer.params["act_min"], layer.params["act_max"]) == (-128, 127)


def test_depthwise_and_per_tensor_profile():
    g = GraphBuilder()
    x = g.input("x", [1, 5, 5, 2], scale=0.05, zp=1)
    w = RNG.normal(size=(1, 3, 3, 4)).astype(np.float32)
    g.const("W", w), g.const("B", np.ones(4))
    g.node(
        "depthwise_conv2d",
        [x, "W", "B"],
        "y",
        [1, 5, 5, 4],
        scale=0.1,
        attrs={**conv_attrs(pads=(1, 1, 1, 1)), "depth_multiplier": 2},
    )
    _, layer = only_layer(g, "y", profile=RequantProfile(per_channel=False))
    assert layer.params["depth_multiplier"] == 2 and "groups" not in layer.params
    s_w = float(np.abs(w).max()) / 127
    assert layer.arrays["multiplier"].shape == (1,)
    assert {"multiplier": int(layer.arrays["multiplier"][0]), "shift": int(layer.arrays["shift"][0])} == q31(
        0.05 * s_w / 0.1
    )


def test_add_uses_tflite_parameters():
    g = GraphBuilder()
    a = g.input("a", [1, 4, 4, 3], scale=0.03, zp=-5)
    b = g.input("b", [1, 1, 1, 3], scale=0.07, zp=2)
    g.node("add", [a, b], "y", [1, 4, 4, 3], scale=0.09, zp=-1, attrs={"act": "relu", "act_range": [0, math.inf]})
    plan, layer = only_layer(g, "y")
    twice_max = 0.14
    assert layer.inputs == [0, 1]
    assert layer.params == {
        "input1_offset": 5,
        "input2_offset": -2,
        "output_offset": -1,
        "left_shift": 20,
        "input1_scale": q31(0.03 / twice_max),
        "input2_scale": q31(0.07 / twice_max),
        "output_scale": q31(twice_max / (2**20 * 0.09)),
        "act_min": -1,
        "act_max": 127,
    }


def test_mul_output_scale():
    g = GraphBuilder()
    a = g.input("a", [1, 2, 2, 3], scale=0.03, zp=-5)
    b = g.input("b", [1, 2, 2, 3], scale=0.5)
    g.node("mul", [a, b], "y", [1, 2, 2, 3], scale=0.2, zp=4)
    _, layer = only_layer(g, "y")
    assert layer.params == {
        "input1_offset": 5,
        "input2_offset": 0,
        "output_offset": 4,
        "output_scale": q31(0.03 * 0.5 / 0.2),
        "act_min": -128,
        "act_max": 127,
    }


@pytest.mark.parametrize(
    "op,const,w,b",
    [
        ("add", [0.5, -1.0, 2.0], [1.0, 1.0, 1.0], [0.5, -1.0, 2.0]),
        ("mul", [0.5, -1.0, 2.0], [0.5, -1.0, 2.0], [0.0, 0.0, 0.0]),
        ("mul", [3.0], [3.0, 3.0, 3.0], [0.0, 0.0, 0.0]),
    ],
)
def test_constant_operand_becomes_a_1x1_depthwise(op, const, w, b):
    g = GraphBuilder()
    x = g.input("x", [1, 2, 2, 3], scale=0.04, zp=7)
    g.const("c", np.reshape(const, [1, 1, 1, -1]))
    g.node(op, [x, "c"], "y", [1, 2, 2, 3], scale=0.1, zp=-3)
    plan, layer = only_layer(g, "y")
    assert layer.op == "depthwise_conv2d" and layer.inputs == [0] and layer.params["depth_multiplier"] == 1
    assert layer.arrays["weights"].shape == (1, 1, 1, 3)
    s_w = np.abs(w) / 127
    np.testing.assert_array_equal(layer.arrays["weights"].reshape(-1), np.sign(w) * 127)
    np.testing.assert_array_equal(layer.arrays["bias"], np.round(np.array(b) / (0.04 * s_w)))
    assert (layer.params["input_offset"], layer.params["output_offset"]) == (-7, -3)
    assert plan.meta["lowering"]["layers"]["y_node"]["op"] == "depthwise_conv2d"


def test_spatially_varying_constant_is_rejected():
    g = GraphBuilder()
    x = g.input("x", [1, 2, 2, 3], scale=0.04)
    g.const("c", np.ones([1, 2, 2, 3]))
    g.node("add", [x, "c"], "y", [1, 2, 2, 3], scale=0.1)
    with pytest.raises(ModelError, match=r"layer 'y_node' \(add\): constant operand .* varies"):
        lower(g.graph(["y"]), g.quant, RequantProfile(), NO_ARENA)


def test_leaky_relu_scales():
    g = GraphBuilder()
    x = g.input("x", [1, 3, 3, 2], scale=0.05, zp=10)
    g.node(
        "leaky_relu", [x], "y", [1, 3, 3, 2], scale=0.04, zp=-20, attrs={"alpha": 0.1, "act": "none", "act_range": None}
    )
    _, layer = only_layer(g, "y")
    assert layer.params == {
        "input_offset": -10,
        "output_offset": -20,
        "identity_scale": q31(0.05 / 0.04),
        "alpha_scale": q31(0.1 * 0.05 / 0.04),
        "act_min": -128,
        "act_max": 127,
    }


def test_relu_as_leaky_relu_alpha_zero():
    g = GraphBuilder()
    x = g.input("x", [1, 3, 3, 2], scale=0.05)
    g.node("leaky_relu", [x], "y", [1, 3, 3, 2], scale=0.05, attrs={"alpha": 0.0, "act": "none"})
    _, layer = only_layer(g, "y")
    assert layer.params["alpha_scale"] == {"multiplier": 0, "shift": 0}


@pytest.mark.parametrize("op", ["max_pool", "avg_pool"])
def test_pools_reuse_the_input_quantization(op):
    g = GraphBuilder()
    x = g.input("x", [1, 8, 8, 3], scale=0.05, zp=-7)
    g.node(
        op,
        [x],
        "y",
        [1, 4, 4, 3],
        scale=0.3,
        zp=9,  # the calibrated 0.3 must be ignored
        attrs={"kernel": [3, 3], "strides": [2, 2], "pads": [1, 1, 0, 0]},
    )
    plan, layer = only_layer(g, "y")
    assert layer.params == {
        "filter_h": 3,
        "filter_w": 3,
        "stride_h": 2,
        "stride_w": 2,
        "pad_top": 1,
        "pad_left": 1,
        "act_min": -128,
        "act_max": 127,
    }
    assert (plan.tensors[1].scale, plan.tensors[1].zero_point) == (0.05, -7)
    assert plan.meta["lowering"]["tensor_rules"]["y"] == "same_as_input:x"


def test_concat_requantizes_each_input():
    g = GraphBuilder()
    a = g.input("a", [1, 2, 2, 3], scale=0.1, zp=1)
    b = g.input("b", [1, 2, 2, 5], scale=0.2, zp=-2)
    g.node("concat", [a, b], "y", [1, 2, 2, 8], scale=0.2, zp=-2, attrs={"axis": 3})
    _, layer = only_layer(g, "y")
    assert layer.params == {"input_offset": [-1, 2], "input_scale": [q31(0.5), q31(1.0)], "output_offset": -2}


def test_concat_shape_mismatch_is_an_error():
    g = GraphBuilder()
    a = g.input("a", [1, 2, 2, 3], scale=0.1)
    b = g.input("b", [1, 3, 2, 5], scale=0.2)
    g.node("concat", [a, b], "y", [1, 2, 2, 8], scale=0.2, attrs={"axis": 3})
    with pytest.raises(ModelError, match="concat input 'b'"):
        lower(g.graph(["y"]), g.quant, RequantProfile(), NO_ARENA)


def test_pad_value_is_the_output_zero_point():
    g = GraphBuilder()
    x = g.input("x", [1, 4, 4, 2], scale=0.05, zp=-9)
    g.node("pad", [x], "y", [1, 6, 5, 2], attrs={"pads_before": [0, 1, 0, 0], "pads_after": [0, 1, 1, 0], "value": 0.0})
    plan, layer = only_layer(g, "y")
    assert layer.params == {"pad_before": [0, 1, 0, 0], "pad_value": -9}
    assert plan.tensors[1].zero_point == -9


def test_copy_shares_quantization():
    g = GraphBuilder()
    x = g.input("x", [1, 2, 2, 3], scale=0.05, zp=4)
    g.node("copy", [x], "y", [1, 1, 1, 12], layout="NC")
    plan, layer = only_layer(g, "y")
    assert layer.params == {} and plan.tensors[1].source_layout == "NC"
    assert (plan.tensors[1].scale, plan.tensors[1].zero_point) == (0.05, 4)


def test_s16_datapath_has_int64_bias_and_zero_offsets():
    g = GraphBuilder(bits=16)
    x = g.input("x", [1, 1, 1, 6], scale=1e-3)
    g.const("W", RNG.normal(size=(3, 6))), g.const("B", [1.0, 2.0, -3.0])
    g.node("fully_connected", [x, "W", "B"], "y", [1, 1, 1, 3], scale=2e-3, attrs={"act": "none"})
    plan, layer = only_layer(g, "y")
    assert layer.datapath == "s16" and plan.tensors[0].dtype == "int16"
    assert layer.arrays["bias"].dtype == np.int64
    assert layer.params["input_offset"] == 0 and layer.params["output_offset"] == 0
    assert (layer.params["act_min"], layer.params["act_max"]) == (-32768, 32767)
    assert np.all(layer.arrays["shift"] <= 14)  # 64-bit accumulator range


def test_s16_needs_symmetric_activations():
    g = GraphBuilder(bits=16)
    x = g.input("x", [1, 1, 1, 6], scale=1e-3, zp=5)
    g.const("W", RNG.normal(size=(3, 6))), g.const("B", np.zeros(3))
    g.node("fully_connected", [x, "W", "B"], "y", [1, 1, 1, 3], scale=2e-3)
    with pytest.raises(ModelError, match="tensor 'x': 16-bit activations must be symmetric"):
        lower(g.graph(["y"]), g.quant, RequantProfile(), NO_ARENA)


def _two_fc(g: GraphBuilder) -> None:
    x = g.input("x", [1, 1, 1, 16], scale=0.02)
    g.const("W1", RNG.normal(size=(8, 16))), g.const("B1", np.zeros(8))
    g.node("fully_connected", [x, "W1", "B1"], "h", [1, 1, 1, 8], scale=0.05, attrs={"act": "none"})
    g.const("W2", RNG.normal(size=(4, 8))), g.const("B2", np.zeros(4))
    g.node("fully_connected", ["h", "W2", "B2"], "logits", [1, 1, 1, 4], scale=0.1, attrs={"act": "none"})


def test_int4_override_by_glob_gives_the_s4_datapath():
    g = GraphBuilder()
    _two_fc(g)
    options = LowerOptions(plan_memory=False, weight_bits_overrides={"logits*": 4})
    plan = lower(g.graph(["logits"]), g.quant, RequantProfile(), options)
    assert [layer.datapath for layer in plan.layers] == ["s8", "s4"]
    w4 = plan.layers[1].arrays["weights"]
    assert w4.dtype == np.int8 and w4.min() >= -7 and w4.max() <= 7 and np.abs(w4).max() == 7


def test_int4_with_16_bit_activations_is_refused():
    g = GraphBuilder(bits=16)
    _two_fc(g)
    with pytest.raises(ModelError, match="4-bit weights need 8-bit activations"):
        lower(g.graph(["logits"]), g.quant, RequantProfile(), LowerOptions(plan_memory=False, weight_bits=4))


def test_engines_pick_the_first_that_supports_the_datapath():
    from fixpoint.lower import EngineSpec

    g = GraphBuilder()
    _two_fc(g)
    engines = [EngineSpec("npu", datapaths=("s8",)), EngineSpec("cpu")]
    options = LowerOptions(plan_memory=False, weight_bits_overrides={"logits*": 4}, engines=engines)
    plan = lower(g.graph(["logits"]), g.quant, RequantProfile(), options)
    assert [layer.engine for layer in plan.layers] == ["npu", "cpu"]
    with pytest.raises(ModelError, match="no engine of the target runs fully_connected on the s4"):
        lower(
            g.graph(["logits"]),
            g.quant,
            RequantProfile(),
            LowerOptions(plan_memory=False, weight_bits_overrides={"logits*": 4}, engines=engines[:1]),
        )


def test_plan_io_hash_and_arena():
    g = GraphBuilder()
    _two_fc(g)
    graph = g.graph(["logits"])
    plan, report = lower_with_report(graph, g.quant, RequantProfile())
    assert plan.inputs == [0] and plan.outputs == [2] and [t.name for t in plan.tensors] == ["x", "h", "logits"]
    assert plan.model_hash == plan.compute_hash() and plan.source_model_sha256 == "ab" * 32
    assert plan.arena_size > 0 and all(t.offset >= 0 for t in plan.tensors)
    assert set(report.layers) == {"h_node", "logits_node"}
    assert report.layers["h_node"].scale_errors["output"] < 1e-8
    assert graph.values["W1"].data.dtype == np.float32  # the graph is not modified


def test_missing_calibration_names_the_tensor_and_layer():
    g = GraphBuilder()
    _two_fc(g)
    del g.quant["h"]
    with pytest.raises(ModelError, match="tensor 'h' \\(used by layer 'h_node'\\) has no calibration"):
        lower(g.graph(["logits"]), g.quant, RequantProfile(), NO_ARENA)


def test_unnormalized_graph_is_refused():
    g = GraphBuilder()
    _two_fc(g)
    graph = g.graph(["logits"])
    graph.stage = "onnx"
    with pytest.raises(ModelError, match="must be normalized"):
        lower(graph, g.quant, RequantProfile(), NO_ARENA)


def test_shift_only_board_with_non_pow2_scales_names_the_layer():
    g = GraphBuilder()
    _two_fc(g)
    with pytest.raises(ModelError, match="layer 'h_node': output scale .* not a power of two"):
        lower(g.graph(["logits"]), g.quant, RequantProfile(rounding="shift_only"), NO_ARENA)


def test_shift_only_board_with_pow2_calibration_is_exact():
    g = GraphBuilder()
    x = g.input("x", [1, 1, 1, 16], scale=2**-6)
    g.const("W1", RNG.normal(size=(8, 16))), g.const("B1", np.zeros(8))
    g.node("fully_connected", [x, "W1", "B1"], "h", [1, 1, 1, 8], scale=2**-4, attrs={"act": "none"})
    plan, report = lower_with_report(g.graph(["h"]), g.quant, RequantProfile(rounding="shift_only"), NO_ARENA)
    assert report.layers["h_node"].scale_errors["output"] == 0.0


def test_unknown_op_is_a_model_error():
    g = GraphBuilder()
    x = g.input("x", [1, 1, 1, 4], scale=0.1)
    g.node("requantize", [x], "y", [1, 1, 1, 4], scale=0.1)
    with pytest.raises(ModelError, match="op 'requantize' cannot be lowered"):
        lower(g.graph(["y"]), g.quant, RequantProfile(), NO_ARENA)


def test_lowering_table_rows_are_runtime_ops():
    from fixpoint.lower.table import LOWERINGS
    from fixpoint.ops.runtime_ops import RUNTIME_OPS

    assert set(LOWERINGS) == set(RUNTIME_OPS) - {"requantize"}


def test_plan_round_trips_through_the_file_format(tmp_path):
    from fixpoint.plan import load_plan, save_plan

    g = GraphBuilder()
    _two_fc(g)
    plan = lower(g.graph(["logits"]), g.quant, RequantProfile())
    loaded = load_plan(save_plan(plan, tmp_path / "m.fxplan"))
    assert loaded.model_hash == plan.model_hash == loaded.compute_hash()
    assert loaded.layers[0].params == plan.layers[0].params


@pytest.mark.parametrize("bits", [8, 16])
def test_softmax_output_is_fixed_and_params_come_from_the_reference(bits):
    from fixpoint.reference.softmax_params import softmax_s8_params, softmax_s16_params

    g = GraphBuilder(bits=bits)
    x = g.input("x", [1, 1, 1, 10], scale=0.07 if bits == 8 else 3e-4)
    g.node("softmax", [x], "y", [1, 1, 1, 10], scale=0.5, zp=0, attrs={"axis": 3}, layout="NC")
    plan, layer = only_layer(g, "y")
    out = plan.tensors[1]
    if bits == 8:
        p = softmax_s8_params(0.07)
        assert (out.scale, out.zero_point, out.dtype) == (1 / 256, -128, "int8")
        assert layer.params == {
            "input_multiplier": p.input_multiplier,
            "input_left_shift": p.input_left_shift,
            "diff_min": p.diff_min,
        }
        assert layer.arrays == {}
    else:
        p = softmax_s16_params(3e-4)
        assert (out.scale, out.zero_point, out.dtype) == (1 / 32768, 0, "int16")
        assert layer.params == {"input_multiplier": p.input_multiplier, "input_left_shift": p.input_left_shift}
        np.testing.assert_array_equal(layer.arrays["exp_lut"], p.exp_lut)
        assert layer.arrays["one_over_one_plus_x_lut"].shape == (513,)


def test_softmax_with_a_tiny_input_scale_names_the_layer():
    g = GraphBuilder()
    x = g.input("x", [1, 1, 1, 10], scale=1e-9)
    g.node("softmax", [x], "y", [1, 1, 1, 10], attrs={"axis": 3})
    with pytest.raises(ModelError, match="layer 'y_node': softmax"):
        lower(g.graph(["y"]), g.quant, RequantProfile(), NO_ARENA)


def test_unknown_fused_activation_names_the_layer():
    g = GraphBuilder()
    x = g.input("x", [1, 1, 1, 8], scale=0.1)
    g.const("W", RNG.normal(size=(5, 8))), g.const("B", np.zeros(5))
    g.node("fully_connected", [x, "W", "B"], "y", [1, 1, 1, 5], scale=0.03, attrs={"act": "tanh"})
    with pytest.raises(ModelError, match="layer 'y_node': fused activation 'tanh'"):
        lower(g.graph(["y"]), g.quant, RequantProfile(), NO_ARENA)


def test_a_boards_engine_list_is_accepted():
    from fixpoint.boards.board import Engine

    g = GraphBuilder()
    _two_fc(g)
    options = LowerOptions(
        plan_memory=False,
        weight_bits_overrides={"logits*": 4},
        engines=(Engine("npu", ("s8",)), Engine("cpu", ("s8", "s4", "s16"))),
    )
    plan = lower(g.graph(["logits"]), g.quant, RequantProfile(), options)
    assert [layer.engine for layer in plan.layers] == ["npu", "cpu"]
