"""fixpoint.cparams: plan layers as C field values, checked field by field through cffi."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.cparams import ArrayRef, graph_struct, layer_arrays_for_c, layer_struct, tensor_struct
from fixpoint.plan import PlanError, RequantProfile
from fixpoint.reference.int4 import pack_int4
from fixpoint.sim.cstruct import CArrays, new_struct
from fixpoint.sim.native import ffi as _ffi, lib as _lib

from sim_plans import PlanBuilder, every_op

ffi, lib = _ffi(), _lib()


def assert_cdata_equals(cdata, value, arrays: CArrays, path: str) -> None:
    """Every field of ``value`` (a cparams tree) reads back identically from the C struct."""
    if isinstance(value, dict):
        for key, sub in value.items():
            assert_cdata_equals(getattr(cdata, key), sub, arrays, f"{path}.{key}")
    elif isinstance(value, list):
        assert len(cdata) == len(value), path
        for i, sub in enumerate(value):
            assert_cdata_equals(cdata[i], sub, arrays, f"{path}[{i}]")
    elif isinstance(value, ArrayRef):
        assert cdata == ffi.cast("void *", arrays.pointers[value.name]), path
    elif value is None:
        assert cdata == ffi.NULL, path
    elif isinstance(value, str):
        assert cdata == getattr(lib, value), path
    else:
        assert cdata == value, f"{path}: C holds {cdata}, cparams gave {value}"


@pytest.mark.parametrize("datapath", ["s8", "s4", "s16"])
@pytest.mark.parametrize("rounding", ["double", "single", "shift_only"])
def test_every_op_round_trips_through_the_c_structs(datapath, rounding):
    b = PlanBuilder(np.random.default_rng(0), datapath, RequantProfile(rounding=rounding, multiplier_bits=24))
    plan = every_op(b)
    assert {layer.op for layer in plan.layers} >= {
        "conv2d",
        "mul",
        "add",
        "concat",
        "pad",
        "copy",
        "softmax",
        "fully_connected",
        "leaky_relu",
        "max_pool",
    }
    for i, layer in enumerate(plan.layers):
        fields = layer_struct(plan, i)
        arrays = CArrays(layer_arrays_for_c(layer))
        assert_cdata_equals(new_struct("fp_layer_t", fields, arrays)[0], fields, arrays, layer.name)
    for i in range(len(plan.tensors)):
        fields = tensor_struct(plan, i)
        assert_cdata_equals(new_struct("fp_tensor_t", fields)[0], fields, CArrays(), f"tensor {i}")


def conv_plan(datapath="s8", **profile):
    b = PlanBuilder(np.random.default_rng(1), datapath, RequantProfile(**profile))
    x = b.input([1, 6, 5, 4])
    return b, b.plan([b.conv(x, 3, k=3, stride=2, pad=1)])


def test_conv_fields_come_from_tensors_weights_params_and_profile():
    b, plan = conv_plan(rounding="single", multiplier_bits=16)
    layer = plan.layers[0]
    s = layer_struct(plan, 0)
    assert (s["op"], s["datapath"], s["out_dtype"], s["n_inputs"]) == ("FP_OP_CONV2D", "FP_DP_S8", "FP_DTYPE_S8", 1)
    assert s["inputs"] == [0, 0, 0, 0, 0, 0, 0, 0] and s["output"] == 1
    assert (s["weights"], s["bias"]) == (ArrayRef("weights"), ArrayRef("bias"))
    p = s["params"]["conv2d"]
    assert p["input"] == {"n": 1, "h": 6, "w": 5, "c": 4}
    assert p["output"] == dict(zip("nhwc", plan.tensors[1].shape))
    assert p["filter"] == {"n": 3, "h": 3, "w": 3, "c": 4}
    assert (p["stride_h"], p["pad_top"], p["groups"]) == (2, 1, 1)
    assert p["input_offset"] == layer.params["input_offset"] == -plan.tensors[0].zero_point
    assert p["requant"] == {
        "multiplier": ArrayRef("multiplier"),
        "shift": ArrayRef("shift"),
        "n": 3,
        "mode": {"rounding": "FP_ROUND_SINGLE", "multiplier_bits": 16, "acc_bits": 0, "acc_wrap": 0},
    }


def test_arrays_get_their_exact_c_types():
    for dp, bias in (("s8", np.int32), ("s4", np.int32), ("s16", np.int64)):
        _, plan = conv_plan(dp)
        arrays = layer_arrays_for_c(plan.layers[0])
        w = plan.layers[0].arrays["weights"]
        assert arrays["bias"].dtype == bias and arrays["multiplier"].dtype == np.int32
        assert all(a.flags.c_contiguous and a.ndim == 1 for a in arrays.values())
        if dp == "s4":
            assert np.array_equal(arrays["weights"], pack_int4(w)) and arrays["weights"].size == (w.size + 1) // 2
        else:
            assert np.array_equal(arrays["weights"], w.reshape(-1))


def test_constant_operand_is_an_activation_array():
    for dp, dtype in (("s4", np.int8), ("s16", np.int16)):
        b = PlanBuilder(np.random.default_rng(2), dp)
        x = b.input([1, 2, 2, 3])
        plan = b.plan([b.add(x, const_shape=[1, 1, 1, 3])])
        arrays = layer_arrays_for_c(plan.layers[0])
        assert arrays["weights"].dtype == dtype and arrays["weights"].size == 3  # not packed on s4
        fields = layer_struct(plan, 0)
        assert fields["n_inputs"] == 1 and fields["params"]["add"]["input2"] == {"n": 1, "h": 1, "w": 1, "c": 3}


def test_derived_fields_may_be_given_and_must_agree():
    b = PlanBuilder(np.random.default_rng(3))
    x = b.input([1, 2, 3, 4])
    f = b.fc(x, 5)
    plan = b.plan([f])
    plan.layers[0].params.update(batches=1, depth=24, out_channels=5)
    assert layer_struct(plan, 0)["params"]["fully_connected"]["depth"] == 24
    plan.layers[0].params["depth"] = 12
    with pytest.raises(
        PlanError,
        match=r"layer 'fully_connected0' \(fully_connected, s8\): params field 'depth' = 12 "
        "but the shapes give 24",
    ):
        layer_struct(plan, 0)


def test_concat_geometry_from_shapes_or_params():
    b = PlanBuilder(np.random.default_rng(4))
    x, y = b.input([1, 2, 3, 4]), b.input([1, 5, 3, 4])
    plan = b.plan([b.concat([x, y], axis=1)])
    p = layer_struct(plan, 0)["params"]["concat"]
    assert (p["n_inputs"], p["outer"], p["inner"], p["axis_size"]) == (2, 1, 12, [2, 5, 0, 0, 0, 0, 0, 0])
    assert len(p["input_scale"]) == 8 and p["input_scale"][2] == {"multiplier": 0, "shift": 0}
    plan.layers[0].params.update(outer=1, inner=12, axis_size=[2, 5])
    assert layer_struct(plan, 0)["params"]["concat"]["axis_size"][:2] == [2, 5]
    plan.layers[0].params.update(axis_size=[3, 4])
    with pytest.raises(PlanError, match="do not match the input shapes"):
        layer_struct(plan, 0)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p.layers[0].params.pop("input_offset"), "params field 'input_offset' is missing"),
        (lambda p: p.layers[0].params.update(kernel_h=3), "params field 'kernel_h' is not a field"),
        (lambda p: p.layers[0].params.update(stride_h=2.0), "params field 'stride_h' must be an integer"),
        (lambda p: p.layers[0].params.update(act_max=1 << 31), "does not fit int32"),
        (lambda p: p.layers[0].arrays.pop("multiplier"), "array 'multiplier' is missing"),
        (lambda p: p.layers[0].arrays.update(shift=np.zeros(2, np.int32)), "must have the same non-zero length"),
        (lambda p: setattr(p.tensors[1], "dtype", "int16"), "tensor 't1' is int16, the s8 datapath needs int8"),
        (lambda p: setattr(p.layers[0], "op", "conv3d"), "op 'conv3d' is not a runtime op"),
        (lambda p: setattr(p.profile, "rounding", "nearest"), "profile rounding 'nearest'"),
    ],
)
def test_bad_layers_name_layer_and_field(mutate, message):
    _, plan = conv_plan()
    mutate(plan)
    with pytest.raises(PlanError, match=r"layer 'conv2d0'.*" + message):
        layer_struct(plan, 0)


@pytest.mark.parametrize(
    "dp, name, value, message",
    [
        ("s4", "weights", 8, r"array 'weights' has values in \[.*8\], outside \[-8, 7\]"),
        ("s8", "weights", -129, "outside"),
        ("s8", "bias", 1 << 31, "outside"),
        ("s8", "shift", 1.5, "must hold integers"),
    ],
)
def test_bad_arrays_are_named(dp, name, value, message):
    _, plan = conv_plan(dp)
    arr = plan.layers[0].arrays[name]
    plan.layers[0].arrays[name] = np.full(arr.shape, value, dtype=np.float64 if isinstance(value, float) else np.int64)
    with pytest.raises(PlanError, match=f"layer 'conv2d0'.*{message}"):
        layer_arrays_for_c(plan.layers[0])
    _, plan = conv_plan(dp)
    plan.layers[0].arrays["scale"] = np.zeros(3, np.int32)
    with pytest.raises(PlanError, match="array 'scale' is not a runtime array"):
        layer_arrays_for_c(plan.layers[0])


def test_tensor_and_graph_structs():
    b, plan = conv_plan("s16")
    t = tensor_struct(plan, 1)
    assert t == {
        "offset": plan.tensors[1].offset,
        "size": plan.tensors[1].nbytes,
        "dims": dict(zip("nhwc", plan.tensors[1].shape)),
        "dtype": "FP_DTYPE_S16",
    }
    assert tensor_struct(plan, plan.tensors[1]) == t
    g = graph_struct(plan, 123)
    assert g == {
        "tensors": ArrayRef("tensors"),
        "n_tensors": 2,
        "layers": ArrayRef("layers"),
        "n_layers": 1,
        "arena_size": plan.arena_size,
        "scratch_size": 123,
        "n_inputs": 1,
        "inputs": [0, 0, 0, 0],
        "n_outputs": 1,
        "outputs": [1, 0, 0, 0],
        "kernels": ArrayRef("kernels"),
    }
    unplanned = b.plan(plan.outputs, memory=False)
    with pytest.raises(PlanError, match="arena offset -1 is unset"):
        tensor_struct(unplanned, 0)
    with pytest.raises(PlanError, match="has no arena"):
        graph_struct(unplanned, 0)
    plan.outputs = [1] * 5
    with pytest.raises(PlanError, match="has 5 outputs; the runtime takes 1..4"):
        graph_struct(plan, 0)
