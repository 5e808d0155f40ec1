"""fixpoint.sim.kernels API completeness: the 16x8 bias paths, int8 -> int16 softmax, wide
offsets, packed s4 filters, the (multiplier, shift) spelling, mode-less kernels, named range errors."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.reference import data_movement, elementwise
from fixpoint.reference.conv import conv2d
from fixpoint.reference.depthwise import depthwise_conv2d
from fixpoint.reference.fully_connected import fully_connected
from fixpoint.reference.int4 import pack_int4
from fixpoint.sim import kernels as K
from fixpoint.sim.kernels import KERNEL_SPECS, KernelArgumentError

from sim_asserts import assert_exact

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
S8_IN_MIN, S8_IN_MAX = -16777087, 16777088  # (x + input_offset) * w fits int32 for int8 x, w
WEIGHTED = ("conv2d", "depthwise_conv2d", "fully_connected")


def weighted_case(op: str, rng, act=np.int16, wlo=-128, whi=127):
    """(input, filter, reference geometry kwargs) of a small random weighted call."""
    lo, hi = np.iinfo(act).min, np.iinfo(act).max
    if op == "fully_connected":
        return (rng.integers(lo, hi + 1, (2, 7)).astype(act), rng.integers(wlo, whi + 1, (3, 7)).astype(np.int8), {})
    x = rng.integers(lo, hi + 1, (1, 5, 4, 3)).astype(act)
    if op == "conv2d":
        return x, rng.integers(wlo, whi + 1, (2, 3, 3, 3)).astype(np.int8), dict(out_h=3, out_w=2)
    return x, rng.integers(wlo, whi + 1, (1, 3, 3, 6)).astype(np.int8), dict(out_h=3, out_w=2, depth_multiplier=2)


def reference(op: str, x, w, bias, **kw):
    fn = {"conv2d": conv2d, "depthwise_conv2d": depthwise_conv2d, "fully_connected": fully_connected}[op]
    return fn(x, w, bias, **kw)


# ---- 16x8 with an int32 bias, an int64 bias or none -------------------------------------------


@pytest.mark.parametrize("op", WEIGHTED)
def test_s16_bias_type_selects_the_tflite_path(op):
    """int64 bias -> 64-bit path (Q15 multiplier); int32 bias -> fp_*_s16_acc32 (Q31, int32 sum);
    random cases, the int32 bias at its limits included (int32 saturation of bias + sum)."""
    rng = np.random.default_rng(WEIGHTED.index(op))
    differ = 0
    for case in range(300):
        x, w, geo = weighted_case(op, rng)
        c_out = w.shape[0] if op != "depthwise_conv2d" else w.shape[3]
        bias32 = rng.integers(INT32_MIN, INT32_MAX, c_out, dtype=np.int64, endpoint=True).astype(np.int32)
        if case % 5 == 0:
            bias32[:] = INT32_MAX if case % 10 == 0 else INT32_MIN
        mult = rng.integers(1 << 30, 1 << 31, c_out)
        shift = rng.integers(-24, -8, c_out)
        kw = dict(multiplier=mult, shift=shift)
        ref = dict(kw, act_min=-32768, act_max=32767, **geo)
        got32 = getattr(K, f"{op}_s16")(x, w, bias32, **kw)
        assert_exact(got32, getattr(K, f"{op}_s16_acc32")(x, w, bias32, **kw), f"{op} case {case} dispatch")
        assert_exact(got32, reference(op, x, w, bias32, datapath="s16_acc32", **ref), f"{op} case {case} acc32")
        bias64 = bias32.astype(np.int64)
        got64 = getattr(K, f"{op}_s16")(x, w, bias64, **kw)
        assert_exact(got64, reference(op, x, w, bias64, datapath="s16", **ref), f"{op} case {case} acc64")
        differ += int(not np.array_equal(got32, got64))
        none32 = getattr(K, f"{op}_s16_acc32")(x, w, None, **kw)  # TFLite's 16x8 layer without bias
        assert_exact(none32, reference(op, x, w, None, datapath="s16_acc32", **ref), f"{op} case {case} none")
    assert differ > 0  # the two paths are really different arithmetic


def test_acc32_uses_the_32_bit_shift_ranges():
    x, w, _ = weighted_case("conv2d", np.random.default_rng(1))
    K.conv2d_s16_acc32(x, w, None, multiplier=[1 << 30], shift=[20])  # legal for 32-bit, not for 64-bit
    with pytest.raises(KernelArgumentError, match="conv2d_s16: argument 'shift' has values in \\[20, 20\\]"):
        K.conv2d_s16(x, w, None, multiplier=[1 << 30], shift=[20])
    with pytest.raises(KernelArgumentError, match="argument 'input_offset' = 3 must be 0"):
        K.conv2d_s16_acc32(x, w, None, multiplier=[1 << 30], shift=[-9], input_offset=3)


# ---- int8 -> int16 softmax ---------------------------------------------------------------------


def test_softmax_s8_s16_output_quantization():
    """Scale 1/65536, zero point -32768: equal logits give 1/depth, a lone one gives (clamped) 1."""
    x = np.zeros((2, 4), np.int8)
    kw = dict(input_multiplier=1 << 30, input_left_shift=20, diff_min=-1000)
    assert np.all(K.softmax_s8_s16(x, **kw) == 65536 // 4 - 32768)
    assert K.softmax_s8_s16(np.zeros((1, 1), np.int8), **kw)[0, 0] == 32767
    assert K.softmax_s8_s16(x, **kw).dtype == np.int16


# ---- offsets over the range the kernels can compute ------------------------------------------


@pytest.mark.parametrize("op", WEIGHTED)
@pytest.mark.parametrize(
    "in_off, out_off",
    [(-128, 128), (129, -129), (S8_IN_MIN, INT32_MAX), (S8_IN_MAX, INT32_MIN), (255, 200), (-300, -300)],
)
def test_weighted_wide_offsets_are_exact(op, in_off, out_off):
    rng = np.random.default_rng([in_off & 0xFFFF, 1])
    x, w, geo = weighted_case(op, rng, np.int8)
    kw = dict(
        multiplier=[1 << 30], shift=[-31 if abs(in_off) > 1000 else -12], input_offset=in_off, output_offset=out_off
    )
    got = getattr(K, f"{op}_s8")(x, w, None, **kw)
    assert_exact(got, reference(op, x, w, None, datapath="s8", act_min=-128, act_max=127, **geo, **kw), op)


@pytest.mark.parametrize("op", WEIGHTED)
def test_weighted_offset_overflow_is_named(op):
    x, w, _ = weighted_case(op, np.random.default_rng(2), np.int8)
    kw = dict(multiplier=[1 << 30], shift=[-12])
    for bad in (S8_IN_MAX + 1, S8_IN_MIN - 1):
        with pytest.raises(KernelArgumentError, match=rf"{op}_s8: argument 'input_offset' = {bad} is outside"):
            getattr(K, f"{op}_s8")(x, w, None, input_offset=bad, **kw)
    with pytest.raises(KernelArgumentError, match="argument 'output_offset' = 2147483648 does not fit int32"):
        getattr(K, f"{op}_s8")(x, w, None, output_offset=1 << 31, **kw)


def test_fully_connected_filter_offset_range():
    x, w, _ = weighted_case("fully_connected", np.random.default_rng(3), np.int8)
    kw = dict(multiplier=[1 << 30], shift=[-31])
    got = K.fully_connected_s8(x, w, None, input_offset=300, filter_offset=-1000, **kw)
    assert_exact(
        got,
        fully_connected(x, w, None, input_offset=300, filter_offset=-1000, act_min=-128, act_max=127, **kw),
        "wide filter offset",
    )
    with pytest.raises(KernelArgumentError, match="argument 'filter_offset' = 50000 .* would overflow int32"):
        K.fully_connected_s8(x, w, None, input_offset=50000, filter_offset=50000, **kw)
    x16, w16, _ = weighted_case("fully_connected", np.random.default_rng(4))
    K.fully_connected_s16(x16, w16, None, filter_offset=65408, **kw)  # 32768 * 65535 fits int32
    with pytest.raises(KernelArgumentError, match="argument 'filter_offset' = 65409"):
        K.fully_connected_s16(x16, w16, None, filter_offset=65409, **kw)


def test_elementwise_output_offset_128_and_beyond():
    rng = np.random.default_rng(5)
    x1, x2 = (rng.integers(-128, 128, (1, 2, 3, 4)).astype(np.int8) for _ in range(2))
    rq = dict(rounding="double", multiplier_bits=32)
    for out_off, in_off in ((128, -128), (-129, 129), (INT32_MAX, INT32_MIN), (1000, -1000)):
        kw = dict(
            input1_offset=in_off,
            input2_offset=in_off,
            output_offset=out_off,
            output_scale=(1 << 30, -14),
            act_min=-128,
            act_max=127,
            **rq,
        )
        assert_exact(K.mul_s8(x1, x2, **kw), elementwise.mul(x1, x2, **kw), f"mul {out_off}")
        kw = dict(input_offset=in_off, output_offset=out_off, scale=(1 << 30, 0), act_min=-128, act_max=127, **rq)
        flat = x1.reshape(-1)
        assert_exact(K.requantize_s8_s8(flat, **kw), data_movement.requantize(flat, **kw), f"requantize {out_off}")
        kw = dict(
            input1_offset=in_off,
            input2_offset=in_off,
            output_offset=out_off,
            left_shift=20,
            input1_scale=(1 << 30, 0),
            input2_scale=(1 << 30, 0),
            output_scale=(1 << 30, -20),
            act_min=-128,
            act_max=127,
            **rq,
        )
        assert_exact(K.add_s8(x1, x2, **kw), elementwise.add(x1, x2, **kw), f"add {out_off}")
        kw = dict(
            input_offset=in_off,
            output_offset=out_off,
            identity_scale=(1 << 30, 0),
            alpha_scale=(1 << 29, 0),
            act_min=-128,
            act_max=127,
            **rq,
        )
        assert_exact(K.leaky_relu_s8(flat, **kw), elementwise.leaky_relu(flat, **kw), f"leaky relu {out_off}")
        scales = [(1 << 30, 1), (1 << 30, -3)]
        got = K.concat_s8([x1, x2], input_offset=[in_off, 7], input_scale=scales, output_offset=out_off, **rq)
        want = data_movement.concat(
            [x1, x2],
            outer=6,
            inner=1,
            input_offsets=[in_off, 7],
            input_scales=scales,
            output_offset=out_off,
            type_min=-128,
            type_max=127,
            **rq,
        )
        assert_exact(got, want.reshape(1, 2, 3, 8), f"concat {out_off}")


@pytest.mark.parametrize(
    "name, kw, culprit",
    [
        ("add_s16", dict(input1_offset=1), "input1_offset"),
        ("mul_s16", dict(output_offset=-1), "output_offset"),
        ("requantize_s8_s16", dict(output_offset=2), "output_offset"),
        ("requantize_s16_s8", dict(input_offset=2), "input_offset"),
        ("leaky_relu_s16", dict(input_offset=5), "input_offset"),
    ],
)
def test_int16_offsets_must_be_zero_and_are_named(name, kw, culprit):
    spec = KERNEL_SPECS[name]
    x = np.zeros((1, 1, 2, 2), spec.in_dtype)
    args = (x, x) if spec.family == "binary" else (x,)
    base = {
        "add": dict(left_shift=15, input1_scale=(1 << 30, 0), input2_scale=(1 << 30, 0), output_scale=(1 << 30, 0)),
        "mul": dict(output_scale=(1 << 30, 0)),
        "requantize": dict(scale=(1 << 30, 0)),
        "leaky_relu": dict(identity_scale=(1 << 30, 1), alpha_scale=(1 << 29, 0)),
    }[spec.op]
    with pytest.raises(KernelArgumentError, match=rf"{name}: argument '{culprit}' = -?\d+ must be 0"):
        K.KERNELS[name](*args, **base, **kw)


def test_concat_s16_input_offset_is_named():
    x = np.zeros((1, 1, 1, 2), np.int16)
    with pytest.raises(KernelArgumentError, match=r"argument 'input_offset\[1\]' = 3 must be 0"):
        K.concat_s16([x, x], input_offset=[0, 3], input_scale=[(1 << 30, 1)] * 2)


# ---- packed s4 filters -------------------------------------------------------------------------


@pytest.mark.parametrize("op", WEIGHTED)
@pytest.mark.parametrize("byte_dtype", (np.int8, np.uint8))
def test_s4_accepts_packed_filters(op, byte_dtype):
    rng = np.random.default_rng(6)
    odd = 0
    for _ in range(20):
        x, w, _ = weighted_case(op, rng, np.int8, -8, 7)
        if rng.random() < 0.5:  # an odd count of int4 values
            if op == "fully_connected":
                x, w = x[:, :5].copy(), w[:, :5].copy()  # 15 values, 8 bytes
            elif op == "conv2d":
                w = w[:1].copy()  # 27 values, 14 bytes
            else:
                w = w[..., :3].copy()  # depth_multiplier 1: 27 values
        kw = dict(multiplier=[1 << 30], shift=[-6], input_offset=int(rng.integers(-127, 129)))
        fn = getattr(K, f"{op}_s4")
        packed = pack_int4(w, byte_dtype)
        assert_exact(fn(x, packed, None, filter_shape=w.shape, **kw), fn(x, w, None, **kw), f"{op} packed")
        odd += w.size % 2
    assert odd > 0  # odd lengths were covered


def test_packed_filter_errors_are_named():
    x, w, _ = weighted_case("fully_connected", np.random.default_rng(7), np.int8, -8, 7)
    kw = dict(multiplier=[1 << 30], shift=[-6])
    packed = pack_int4(w)
    with pytest.raises(
        KernelArgumentError,
        match=r"argument 'filter' has 10 packed bytes, filter_shape \[3, 7\] "
        "needs 11",
    ):
        K.fully_connected_s4(x, packed[:-1], None, filter_shape=w.shape, **kw)
    with pytest.raises(KernelArgumentError, match="argument 'filter' with 'filter_shape' must be packed int4 bytes"):
        K.fully_connected_s4(x, packed.astype(np.int16), None, filter_shape=w.shape, **kw)
    with pytest.raises(KernelArgumentError, match="argument 'filter_shape' must be 2 positive dims"):
        K.fully_connected_s4(x, packed, None, filter_shape=(21,), **kw)
    with pytest.raises(KernelArgumentError, match="argument 'filter_shape' .* only applies to the s4 kernels"):
        K.fully_connected_s8(x, packed, None, filter_shape=w.shape, **kw)


# ---- one spelling of a (multiplier, shift) pair ----------------------------------------------


def test_requant_pair_spelling():
    rng = np.random.default_rng(8)
    x, w, _ = weighted_case("conv2d", rng, np.int8)
    m, s = rng.integers(1 << 30, 1 << 31, 2), np.array([-9, -10])
    want = K.conv2d_s8(x, w, None, multiplier=m, shift=s)
    assert_exact(K.conv2d_s8(x, w, None, requant=(m, s)), want, "requant pair")
    assert_exact(K.conv2d_s8(x, w, None, requant={"multiplier": m, "shift": s}), want, "requant dict")
    with pytest.raises(KernelArgumentError, match="give argument 'requant' or 'multiplier' / 'shift', not both"):
        K.conv2d_s8(x, w, None, requant=(m, s), shift=s)
    with pytest.raises(KernelArgumentError, match="argument 'requant' must be a \\(multiplier, shift\\) pair"):
        K.conv2d_s8(x, w, None, requant=(m, s, 0))
    with pytest.raises(KernelArgumentError, match="argument 'requant.multiplier' has values"):
        K.conv2d_s8(x, w, None, requant=(-m, s))
    with pytest.raises(KernelArgumentError, match="argument 'multiplier' is missing"):
        K.conv2d_s8(x, w, None, shift=s)


# ---- rounding / multiplier_bits where the C kernel has no such choice ------------------------

MODELESS = sorted(n for n, s in KERNEL_SPECS.items() if s.op in ("max_pool", "avg_pool", "softmax", "pad"))


@pytest.mark.parametrize("name", MODELESS)
@pytest.mark.parametrize("field, value", [("rounding", "double"), ("multiplier_bits", 32)])
def test_mode_arguments_are_refused_where_there_is_no_choice(name, field, value):
    spec = KERNEL_SPECS[name]
    x = np.zeros((1, 2, 2, 1), spec.in_dtype)
    kw = {
        "max_pool": dict(filter_h=1, filter_w=1),
        "avg_pool": dict(filter_h=1, filter_w=1),
        "pad": dict(pad_value=0),
        "softmax": dict(
            input_multiplier=1 << 30,
            input_left_shift=1,
            diff_min=-10,
            exp_lut=np.zeros(513, np.int16),
            one_over_one_plus_x_lut=np.zeros(513, np.int16),
        ),
    }[spec.op]
    if spec.op == "softmax" and spec.datapath != "s16":
        kw.pop("exp_lut"), kw.pop("one_over_one_plus_x_lut")
    K.KERNELS[name](x, **kw)
    with pytest.raises(KernelArgumentError, match=rf"{name}: argument '{field}' does not apply"):
        K.KERNELS[name](x, **kw, **{field: value})


# ---- every range error names its argument ----------------------------------------------------


@pytest.mark.parametrize(
    "name, kw, culprit",
    [
        ("conv2d_s8", dict(stride_h=0), "stride_h"),
        ("conv2d_s8", dict(stride_w=-1), "stride_w"),
        ("conv2d_s8", dict(dilation_w=0, output_shape=(1, 3, 2, 2)), "dilation_w"),
        ("conv2d_s8", dict(pad_top=-1, output_shape=(1, 3, 2, 2)), "pad_top"),
        ("conv2d_s8", dict(groups=0, output_shape=(1, 3, 2, 2)), "groups"),
        ("max_pool_s8", dict(pad_top=2), "pad_top"),
        ("avg_pool_s16", dict(pad_left=3), "pad_left"),
        ("max_pool_s8", dict(filter_h=0, output_shape=(1, 5, 4, 3)), "filter_h"),
        ("add_s8", dict(left_shift=32), "left_shift"),
        ("softmax_s8", dict(input_left_shift=32), "input_left_shift"),
        ("softmax_s8", dict(diff_min=1), "diff_min"),
        ("softmax_s8_s16", dict(input_multiplier=-1), "input_multiplier"),
        ("pad_s8", dict(pad_value=128), "pad_value"),
        ("pad_s16", dict(pad_value=-32769), "pad_value"),
    ],
)
def test_range_errors_name_the_argument(name, kw, culprit):
    spec = KERNEL_SPECS[name]
    rng = np.random.default_rng(9)
    if spec.family == "weighted":
        x, w, _ = weighted_case("conv2d", rng, np.int8)
        args, base = (x, w, None), dict(multiplier=[1 << 30], shift=[-9])
    elif spec.op == "add":
        x = np.zeros((1, 2, 2, 1), np.int8)
        args, base = (x, x), dict(input1_scale=(1 << 30, 0), input2_scale=(1 << 30, 0), output_scale=(1 << 30, 0))
    elif spec.op == "softmax":
        args, base = (np.zeros((2, 3), np.int8),), dict(input_multiplier=1 << 30, input_left_shift=1, diff_min=-9)
    elif spec.op == "pad":
        args, base = (np.zeros((1, 2, 2, 1), spec.in_dtype),), dict(pad_value=0)
    else:
        args, base = (np.zeros((1, 5, 4, 3), spec.in_dtype),), dict(filter_h=2, filter_w=2)
    with pytest.raises(KernelArgumentError, match=rf"{name}: argument '{culprit}' (= -?\d+ is outside|= -?\d+ must)"):
        K.KERNELS[name](*args, **{**base, **kw})
