"""fp_conv2d_{s8,s4,s16} against the independent Python reference."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.reference.conv import conv2d
from fixpoint.reference.int4 import pack_int4, packed_size
from kernel_harness import (
    packed_weights,
    random_weights,  # noqa: I001
    S8_INPUT_OFFSET_MAX,
    S8_INPUT_OFFSET_MIN,
    is_int16,
    random_input_offset,
    ACT_DTYPE,
    ACT_RANGE,
    FP_ERR_ARG,
    FP_ERR_SCRATCH,
    FP_OK,
    GEOMETRY,
    accumulator_magnitude,
    assert_exact,
    c_stage_fields,
    dims,
    ffi,
    is_untouched,
    lib,
    make_params,
    make_requant,
    make_rq_mode,
    random_bias,
    random_geometry,
    random_mode,
    random_output_stage,
    random_values,
    run_weighted,
    stack_cases,
)

DATAPATHS = ("s8", "s4", "s16", "s16_acc32")
GROUP = 25  # cases per batched reference call
GROUPS_PER_CHUNK = 100
CHUNKS = 4  # 4 * 100 * 25 = 10,000 random cases per datapath
PER_CASE = ("input_offset", "output_offset", "act_min", "act_max")
OP = "conv2d"


def random_group(rng, datapath: str, size: int) -> list[dict]:
    """``size`` random cases sharing geometry, shapes and requant mode (one batched reference call)."""
    geo = random_geometry(rng)
    groups = int(rng.choice([1, 1, 1, 2, 3]))
    cg = int(rng.integers(1, 5))
    c_in, c_out = groups * cg, groups * int(rng.integers(1, 4))
    if rng.random() < 0.1:  # depthwise-like: groups = C_in
        groups, cg, c_in = c_in, 1, c_in
        c_out = c_in * int(rng.integers(1, 3))
    n = int(rng.integers(1, 3))
    mode = random_mode(rng)
    lo, hi = ACT_RANGE[datapath]
    taps = geo["kh"] * geo["kw"] * cg
    cases = []
    for _ in range(size):
        x = random_values(rng, lo, hi, (n, geo["in_h"], geo["in_w"], c_in), ACT_DTYPE[datapath])
        w = random_weights(rng, datapath, (c_out, geo["kh"], geo["kw"], cg))
        in_off = random_input_offset(rng, datapath)
        acc_mag = accumulator_magnitude(x.astype(np.int64) + in_off, w, taps)
        cases.append(
            dict(
                x=x,
                w=w,
                bias=random_bias(rng, datapath, c_out, acc_mag),
                groups=groups,
                input_offset=in_off,
                out_h=geo["out_h"],
                out_w=geo["out_w"],
                **{k: geo[k] for k in GEOMETRY},
                **random_output_stage(rng, datapath, c_out, acc_mag, mode),
            )
        )
    return cases


def c_params(case: dict, **override):
    x, w = case["x"], case["w"]
    fields = dict(
        input=dims(*x.shape),
        filter=dims(*w.shape),
        output=dims(x.shape[0], case["out_h"], case["out_w"], w.shape[0]),
        groups=case["groups"],
        input_offset=case["input_offset"],
        **{k: case[k] for k in GEOMETRY},
        **c_stage_fields(case),
    )
    fields.update(override)
    return make_params("fp_conv2d_params_t", **fields)


def run_c(datapath: str, case: dict, scratch: str = "auto", **override):
    packed = packed_weights(datapath, case["w"])
    out_shape = (case["x"].shape[0], case["out_h"], case["out_w"], case["w"].shape[0])
    return run_weighted(
        OP, datapath, c_params(case, **override), case["x"], packed, case["bias"], out_shape, scratch=scratch
    )


def reference(datapath: str, case: dict) -> np.ndarray:
    kw = {k: v for k, v in case.items() if k not in ("x", "w", "bias")}
    return conv2d(case["x"], case["w"], case["bias"], datapath=datapath, **kw)


def describe(case: dict) -> str:
    geo = " ".join(f"{k}={case[k]}" for k in GEOMETRY)
    return (
        f"x{case['x'].shape} w{case['w'].shape} out=({case['out_h']},{case['out_w']}) groups={case['groups']} "
        f"{geo} in_off={case['input_offset']} {case['rounding']}/{case['multiplier_bits']} "
        f"m={case['multiplier'].tolist()} s={case['shift'].tolist()} out_off={case['output_offset']} "
        f"act=[{case['act_min']},{case['act_max']}] bias={'none' if case['bias'] is None else 'yes'}"
    )


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("datapath", DATAPATHS)
def test_random_cases_match_reference(datapath, chunk):
    rng = np.random.default_rng([0xC0, DATAPATHS.index(datapath), chunk])
    for g in range(GROUPS_PER_CHUNK):
        cases = random_group(rng, datapath, GROUP)
        want = conv2d(datapath=datapath, **stack_cases(cases, cases[0]["w"].shape[0], PER_CASE))
        for i, case in enumerate(cases):
            status, got = run_c(datapath, case)
            assert status == FP_OK, f"group {g} case {i}: status {status} for {describe(case)}"
            assert_exact(got, want[i], f"{datapath} group {g} case {i} ({describe(case)})")
            if datapath == "s4":  # packed int4 == the s8 kernel on the unpacked weights
                status8, got8 = run_c("s8", case)
                assert status8 == FP_OK
                assert_exact(got, got8, f"s4 vs s8 group {g} case {i} ({describe(case)})")


def _simple_case(datapath: str, **kw) -> dict:
    lo, hi = ACT_RANGE[datapath]
    case = dict(
        x=np.ones((1, 3, 3, 2), ACT_DTYPE[datapath]),
        w=np.ones((2, 3, 3, 2), np.int8),
        bias=None,
        groups=1,
        input_offset=0,
        out_h=3,
        out_w=3,
        stride_h=1,
        stride_w=1,
        dilation_h=1,
        dilation_w=1,
        pad_top=1,
        pad_left=1,
        multiplier=np.array([1 << 30], np.int32),
        shift=np.array([1], np.int32),
        rounding="double",
        multiplier_bits=32,
        output_offset=0,
        act_min=lo,
        act_max=hi,
    )
    case.update(kw)
    return case


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_padding_taps_contribute_nothing(datapath):
    """'Same' 3x3 conv of ones: each output counts its in-bounds taps (x 2 channels)."""
    status, got = run_c(datapath, _simple_case(datapath))
    assert status == FP_OK
    taps = np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) * 2
    assert_exact(got[0, :, :, 0], taps, "channel 0")
    assert_exact(got[0, :, :, 1], taps, "channel 1")


@pytest.mark.parametrize("datapath", ("s8", "s4"))
def test_input_at_zero_point_gives_bias_only(datapath):
    """x == zero point everywhere: (x + input_offset) = 0, so out = requant(bias) + output_offset."""
    case = _simple_case(
        datapath,
        x=np.full((1, 3, 3, 2), -5, np.int8),
        input_offset=5,
        bias=np.array([40, -40], np.int32),
        shift=np.array([-1], np.int32),
        output_offset=3,
    )
    status, got = run_c(datapath, case)
    assert status == FP_OK
    assert np.all(got[..., 0] == 13) and np.all(got[..., 1] == -7)  # 40 * 0.25 + 3, -40 * 0.25 + 3


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_groups_only_see_their_channels(datapath):
    """groups=2: output channel 0 reads input channel 0 only, channel 1 reads channel 1."""
    x = np.zeros((1, 1, 1, 2), ACT_DTYPE[datapath])
    x[..., 0], x[..., 1] = 3, 5
    case = _simple_case(
        datapath, x=x, w=np.full((2, 1, 1, 1), 2, np.int8), groups=2, out_h=1, out_w=1, pad_top=0, pad_left=0
    )
    status, got = run_c(datapath, case)
    assert status == FP_OK
    assert got.reshape(-1).tolist() == [6, 10]


SATURATION_SCALES = [  # (rounding, multiplier, shift, outputs of the saturated sums +-2^31)
    ("double", 100 << 24, -24, [100, -100]),  # scale 100 / 2^31; exact sums (~1.6 * 2^31) would clamp
    ("single", 100 << 24, -24, [100, -100]),
    ("shift_only", 0, -25, [64, -64]),  # 2^31 / 2^25; exact sums would give +-102
]


@pytest.mark.parametrize("rounding,mult,shift,want", SATURATION_SCALES)
@pytest.mark.parametrize("datapath", ("s8", "s4"))
def test_accumulator_saturates_to_int32(datapath, rounding, mult, shift, want):
    """A window sum beyond int32 saturates before requantization (TFLite would overflow)."""
    wv = 7 if datapath == "s4" else 127
    c_in = (1 << 31) * 8 // (5 * 255 * wv * 9)  # sums ~ +-1.6 * 2^31
    x = np.full((1, 3, 3, c_in), 127, np.int8)
    w = np.full((2, 3, 3, c_in), wv, np.int8)
    w[1] = -wv
    case = _simple_case(
        datapath,
        x=x,
        w=w,
        input_offset=128,
        bias=np.array([5, -5], np.int32),
        out_h=1,
        out_w=1,
        pad_top=0,
        pad_left=0,
        multiplier=np.array([mult], np.int32),
        shift=np.array([shift], np.int32),
        rounding=rounding,
    )
    status, got = run_c(datapath, case)
    assert status == FP_OK
    assert got.reshape(-1).tolist() == want
    assert_exact(got, reference(datapath, case), "saturated accumulator")


def test_s16_extreme_values():
    """int16 extremes, int64 bias limits, largest multiplier, every rounding mode."""
    x = np.full((1, 2, 2, 3), -32768, np.int16)
    x[0, 0, 0, 0] = 32767
    w = np.full((4, 2, 2, 3), -128, np.int8)
    w[1] = 127
    info = np.iinfo(np.int64)
    for rounding in ("double", "single", "shift_only"):
        for shift in (-47 if rounding != "shift_only" else -62, -20, 0, 14):
            case = _simple_case(
                "s16",
                x=x,
                w=w,
                bias=np.array([info.max, info.min, 0, 1 << 40]),
                out_h=2,
                out_w=2,
                pad_top=1,
                pad_left=0,
                rounding=rounding,
                multiplier=np.array([(1 << 31) - 1], np.int32),
                shift=np.array([shift], np.int32),
            )
            status, got = run_c("s16", case)
            assert status == FP_OK
            assert_exact(got, reference("s16", case), f"s16 extremes {rounding} shift {shift}")


def test_s4_scratch_is_one_output_channel_and_required():
    case = _simple_case("s4", w=np.ones((2, 3, 2, 2), np.int8))
    params = c_params(case)
    assert lib.fp_conv2d_s4_scratch_size(params.ptr) == 3 * 2 * 2
    assert lib.fp_conv2d_s4_scratch_size(ffi.NULL) == 0
    status, out = run_c("s4", case, scratch="null")
    assert status == FP_ERR_SCRATCH and is_untouched(out)
    for dp in ("s8", "s16"):
        assert getattr(lib, f"fp_conv2d_{dp}_scratch_size")(params.ptr) == 0


def test_s4_odd_filter_size_uses_final_low_nibble():
    """An odd number of int4 weights: the last byte's high nibble is padding (0)."""
    rng = np.random.default_rng(3)
    w = rng.integers(-8, 8, size=(3, 1, 1, 3)).astype(np.int8)  # 9 weights -> 5 bytes
    x = rng.integers(-128, 128, size=(1, 2, 2, 3)).astype(np.int8)
    case = _simple_case("s4", x=x, w=w, out_h=2, out_w=2, pad_top=0, pad_left=0, shift=np.array([0], np.int32))
    assert pack_int4(w).size == packed_size(9) == 5
    status, got = run_c("s4", case)
    assert status == FP_OK
    assert_exact(got, reference("s4", case), "odd int4 count")


BAD_FIELDS = [
    dict(input={"n": 0, "h": 3, "w": 3, "c": 2}),
    dict(input={"n": 1, "h": -3, "w": 3, "c": 2}),
    dict(input={"n": 1, "h": 3, "w": 0, "c": 2}),
    dict(input={"n": 1, "h": 3, "w": 3, "c": 0}),
    dict(filter={"n": 2, "h": 0, "w": 3, "c": 2}),
    dict(filter={"n": 2, "h": 3, "w": 3, "c": 1}),
    dict(output={"n": 1, "h": 0, "w": 3, "c": 2}),
    dict(output={"n": 2, "h": 3, "w": 3, "c": 2}),
    dict(output={"n": 1, "h": 3, "w": 3, "c": 3}),
    dict(input={"n": 1 << 12, "h": 1 << 10, "w": 1 << 10, "c": 2}),  # count beyond INT32_MAX
    dict(groups=0),
    dict(groups=-1),
    dict(groups=4),
    dict(stride_h=0),
    dict(stride_w=-1),
    dict(dilation_h=0),
    dict(dilation_w=0),
    dict(pad_top=-1),
    dict(pad_left=-2),
    dict(act_min=5, act_max=4),
]
# input offsets just outside the range whose product terms fit int32; every int32 output offset is legal
BAD_FIELDS_S8 = [
    dict(input_offset=S8_INPUT_OFFSET_MAX + 1),
    dict(input_offset=S8_INPUT_OFFSET_MIN - 1),
    dict(act_min=-129),
    dict(act_max=128),
]
BAD_FIELDS_S16 = [dict(input_offset=1), dict(output_offset=-1), dict(act_min=-32769), dict(act_max=32768)]


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_bad_params_return_err_arg_and_write_nothing(datapath):
    case = _simple_case(datapath)
    assert run_c(datapath, case)[0] == FP_OK
    for override in BAD_FIELDS + (BAD_FIELDS_S16 if is_int16(datapath) else BAD_FIELDS_S8):
        status, out = run_c(datapath, case, **override)
        assert status == FP_ERR_ARG, f"{override}: status {status}"
        assert is_untouched(out), f"{override}: output written on error"


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_groups_must_divide_channels(datapath):
    """C_in % groups, C_out % groups and filter C = C_in / groups are all checked."""
    case = _simple_case(
        datapath, x=np.ones((1, 3, 3, 4), ACT_DTYPE[datapath]), w=np.ones((2, 3, 3, 2), np.int8), groups=2
    )
    assert run_c(datapath, case)[0] == FP_OK
    for override in (
        dict(groups=4),
        dict(groups=3),
        dict(groups=1),
        dict(filter={"n": 3, "h": 3, "w": 3, "c": 2}, output={"n": 1, "h": 3, "w": 3, "c": 3}),
    ):
        status, out = run_c(datapath, case, **override)
        assert status == FP_ERR_ARG and is_untouched(out), f"{override}"


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_bad_requant_returns_err_arg(datapath):
    case = _simple_case(datapath)  # C_out = 2
    acc64 = datapath == "s16"
    bad = [
        make_requant([1 << 30] * 3, [0] * 3, make_rq_mode("double", 32)),  # n neither 1 nor C_out
        make_requant([1 << 30], [0], make_rq_mode("double", 32), n=0),
        make_requant([1 << 30], [0], make_rq_mode(4, 32)),
        make_requant([1 << 30], [0], make_rq_mode("double", 1)),
        make_requant([1 << 30], [0], make_rq_mode("single", 33)),
        make_requant([1 << 30, -5], [0, 0], make_rq_mode("double", 32)),  # one bad channel
        make_requant([1 << 7], [0], make_rq_mode("double", 8)),
        make_requant([1 << 30], [-48 if acc64 else -32], make_rq_mode("double", 32)),
        make_requant([1 << 30], [15 if acc64 else 32], make_rq_mode("double", 32)),
        make_requant([100], [7 if acc64 else 7], make_rq_mode("single", 8)),  # t = 7 - 7 = 0 < 1
        make_requant([1], [16 if acc64 else 32], make_rq_mode("shift_only", 32)),
    ]
    for rq in bad:
        status, out = run_c(datapath, case, requant=rq)
        assert status == FP_ERR_ARG, f"requant n={rq.struct.n} m={list(rq.multiplier)[:2]} s={rq.shift[0]}"
        assert is_untouched(out)
    for field in ("multiplier", "shift"):
        rq = make_requant([1 << 30], [0], make_rq_mode("double", 32))
        setattr(rq.struct, field, ffi.NULL)
        status, out = run_c(datapath, case, requant=rq)
        assert status == FP_ERR_ARG and is_untouched(out)


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_null_pointers_return_err_arg(datapath):
    case = _simple_case(datapath)
    params = c_params(case)
    fn = getattr(lib, f"fp_{OP}_{datapath}")
    xt = "int16_t *" if is_int16(datapath) else "int8_t *"
    x = ffi.new(xt.replace(" *", "[18]"))
    w = ffi.new("int8_t[36]")
    out = ffi.new(xt.replace(" *", "[18]"))
    scratch = ffi.new("int8_t[18]")
    assert fn(ffi.NULL, x, w, ffi.NULL, out, scratch) == FP_ERR_ARG
    assert fn(params.ptr, ffi.NULL, w, ffi.NULL, out, scratch) == FP_ERR_ARG
    assert fn(params.ptr, x, ffi.NULL, ffi.NULL, out, scratch) == FP_ERR_ARG
    assert fn(params.ptr, x, w, ffi.NULL, ffi.NULL, scratch) == FP_ERR_ARG
    assert fn(params.ptr, x, w, ffi.NULL, out, scratch) == FP_OK
