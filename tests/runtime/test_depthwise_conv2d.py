"""fp_depthwise_conv2d_{s8,s4,s16} against the independent Python reference."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.reference.depthwise import depthwise_conv2d
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
OP = "depthwise_conv2d"


def random_group(rng, datapath: str, size: int) -> list[dict]:
    """``size`` random cases sharing geometry, shapes and requant mode (one batched reference call)."""
    geo = random_geometry(rng)
    c_in, mult = int(rng.integers(1, 6)), int(rng.choice([1, 1, 2, 3]))
    c_out = c_in * mult
    n = int(rng.integers(1, 3))
    mode = random_mode(rng)
    lo, hi = ACT_RANGE[datapath]
    taps = geo["kh"] * geo["kw"]
    cases = []
    for _ in range(size):
        x = random_values(rng, lo, hi, (n, geo["in_h"], geo["in_w"], c_in), ACT_DTYPE[datapath])
        w = random_weights(rng, datapath, (1, geo["kh"], geo["kw"], c_out))
        in_off = random_input_offset(rng, datapath)
        acc_mag = accumulator_magnitude(x.astype(np.int64) + in_off, w, taps)
        cases.append(
            dict(
                x=x,
                w=w,
                bias=random_bias(rng, datapath, c_out, acc_mag),
                depth_multiplier=mult,
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
        output=dims(x.shape[0], case["out_h"], case["out_w"], w.shape[3]),
        depth_multiplier=case["depth_multiplier"],
        input_offset=case["input_offset"],
        **{k: case[k] for k in GEOMETRY},
        **c_stage_fields(case),
    )
    fields.update(override)
    return make_params("fp_depthwise_conv2d_params_t", **fields)


def run_c(datapath: str, case: dict, **override):
    packed = packed_weights(datapath, case["w"])
    out_shape = (case["x"].shape[0], case["out_h"], case["out_w"], case["w"].shape[3])
    return run_weighted(OP, datapath, c_params(case, **override), case["x"], packed, case["bias"], out_shape)


def reference(datapath: str, case: dict) -> np.ndarray:
    kw = {k: v for k, v in case.items() if k not in ("x", "w", "bias")}
    return depthwise_conv2d(case["x"], case["w"], case["bias"], datapath=datapath, **kw)


def describe(case: dict) -> str:
    geo = " ".join(f"{k}={case[k]}" for k in GEOMETRY)
    return (
        f"x{case['x'].shape} w{case['w'].shape} out=({case['out_h']},{case['out_w']}) "
        f"mult={case['depth_multiplier']} {geo} in_off={case['input_offset']} "
        f"{case['rounding']}/{case['multiplier_bits']} m={case['multiplier'].tolist()} "
        f"s={case['shift'].tolist()} out_off={case['output_offset']} act=[{case['act_min']},{case['act_max']}] "
        f"bias={'none' if case['bias'] is None else 'yes'}"
    )


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("datapath", DATAPATHS)
def test_random_cases_match_reference(datapath, chunk):
    rng = np.random.default_rng([0xD3, DATAPATHS.index(datapath), chunk])
    for g in range(GROUPS_PER_CHUNK):
        cases = random_group(rng, datapath, GROUP)
        want = depthwise_conv2d(datapath=datapath, **stack_cases(cases, cases[0]["w"].shape[3], PER_CASE))
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
        w=np.ones((1, 3, 3, 4), np.int8),
        bias=None,
        depth_multiplier=2,
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
    """'Same' 3x3 depthwise conv of ones: each output counts its in-bounds taps."""
    status, got = run_c(datapath, _simple_case(datapath))
    assert status == FP_OK
    taps = np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]])
    for oc in range(4):
        assert_exact(got[0, :, :, oc], taps, f"channel {oc}")


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_channel_multiplier_layout(datapath):
    """Output channel oc = ic * depth_multiplier + m reads input channel ic and filter column oc."""
    x = np.zeros((1, 1, 1, 2), ACT_DTYPE[datapath])
    x[..., 0], x[..., 1] = 3, 5
    w = np.array([1, 2, 3, 4, 5, 6], np.int8).reshape(1, 1, 1, 6)  # C_in 2 x multiplier 3
    case = _simple_case(datapath, x=x, w=w, depth_multiplier=3, out_h=1, out_w=1, pad_top=0, pad_left=0)
    status, got = run_c(datapath, case)
    assert status == FP_OK
    assert got.reshape(-1).tolist() == [3, 6, 9, 20, 25, 30]


@pytest.mark.parametrize("datapath", ("s8", "s4"))
def test_input_at_zero_point_gives_bias_only(datapath):
    case = _simple_case(
        datapath,
        x=np.full((1, 3, 3, 2), 9, np.int8),
        input_offset=-9,
        bias=np.array([40, -40, 0, 7], np.int32),
        shift=np.array([-1], np.int32),
        output_offset=-3,
    )
    status, got = run_c(datapath, case)
    assert status == FP_OK
    assert [int(v) for v in got[0, 1, 1]] == [7, -13, -3, -1]  # round(b / 4) - 3, 7/4 = 1.75 -> 2


SATURATION_SCALES = [  # (rounding, multiplier, shift, outputs of the saturated sums +-2^31)
    ("double", 100 << 24, -24, [100, -100]),  # scale 100 / 2^31; exact sums (~1.6 * 2^31) would clamp
    ("single", 100 << 24, -24, [100, -100]),
    ("shift_only", 0, -25, [64, -64]),  # 2^31 / 2^25; exact sums would give +-102
]


@pytest.mark.parametrize("rounding,mult,shift,want", SATURATION_SCALES)
@pytest.mark.parametrize("datapath", ("s8", "s4"))
def test_accumulator_saturates_to_int32(datapath, rounding, mult, shift, want):
    """A window sum beyond int32 saturates before requantization."""
    wv = 7 if datapath == "s4" else 127
    k = int(np.ceil(np.sqrt(1.6 * (1 << 31) / (255 * wv))))  # k x k taps of 255 * wv: ~1.6 * 2^31
    x = np.full((1, k, k, 1), 127, np.int8)
    w = np.full((1, k, k, 2), wv, np.int8)
    w[..., 1] = -wv
    case = _simple_case(
        datapath,
        x=x,
        w=w,
        input_offset=128,
        bias=np.array([3, -3], np.int32),
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
    x = np.full((1, 2, 2, 2), -32768, np.int16)
    x[0, 1, 1, 1] = 32767
    w = np.full((1, 2, 2, 4), -128, np.int8)
    w[..., 1] = 127
    info = np.iinfo(np.int64)
    for rounding in ("double", "single", "shift_only"):
        for shift in (-47 if rounding != "shift_only" else -62, -20, 0, 14):
            case = _simple_case(
                "s16",
                x=x,
                w=w,
                bias=np.array([info.max, info.min, 0, -(1 << 40)]),
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


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_no_scratch_needed(datapath):
    params = c_params(_simple_case(datapath))
    assert getattr(lib, f"fp_{OP}_{datapath}_scratch_size")(params.ptr) == 0
    assert getattr(lib, f"fp_{OP}_{datapath}_scratch_size")(ffi.NULL) == 0


BAD_FIELDS = [
    dict(input={"n": 0, "h": 3, "w": 3, "c": 2}),
    dict(input={"n": 1, "h": 3, "w": -1, "c": 2}),
    dict(input={"n": 1, "h": 3, "w": 3, "c": 0}),
    dict(filter={"n": 2, "h": 3, "w": 3, "c": 4}),  # filter n must be 1
    dict(filter={"n": 1, "h": 0, "w": 3, "c": 4}),
    dict(filter={"n": 1, "h": 3, "w": 3, "c": 5}),
    dict(output={"n": 1, "h": 3, "w": 0, "c": 4}),
    dict(output={"n": 2, "h": 3, "w": 3, "c": 4}),
    dict(output={"n": 1, "h": 3, "w": 3, "c": 2}),
    dict(depth_multiplier=0),
    dict(depth_multiplier=-2),
    dict(depth_multiplier=1),
    dict(depth_multiplier=3),
    dict(input={"n": 1 << 12, "h": 1 << 10, "w": 1 << 10, "c": 2}),  # count beyond INT32_MAX
    dict(stride_h=0),
    dict(stride_w=0),
    dict(dilation_h=-1),
    dict(dilation_w=0),
    dict(pad_top=-1),
    dict(pad_left=-1),
    dict(act_min=1, act_max=0),
]
# input offsets just outside the range whose product terms fit int32; every int32 output offset is legal
BAD_FIELDS_S8 = [
    dict(input_offset=S8_INPUT_OFFSET_MAX + 1),
    dict(input_offset=S8_INPUT_OFFSET_MIN - 1),
    dict(act_min=-129),
    dict(act_max=128),
]
BAD_FIELDS_S16 = [dict(input_offset=-1), dict(output_offset=1), dict(act_min=-32769), dict(act_max=32768)]


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_bad_params_return_err_arg_and_write_nothing(datapath):
    case = _simple_case(datapath)
    assert run_c(datapath, case)[0] == FP_OK
    for override in BAD_FIELDS + (BAD_FIELDS_S16 if is_int16(datapath) else BAD_FIELDS_S8):
        status, out = run_c(datapath, case, **override)
        assert status == FP_ERR_ARG, f"{override}: status {status}"
        assert is_untouched(out), f"{override}: output written on error"


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_bad_requant_returns_err_arg(datapath):
    case = _simple_case(datapath)  # C_out = 4
    acc64 = datapath == "s16"
    bad = [
        make_requant([1 << 30] * 2, [0] * 2, make_rq_mode("double", 32)),  # n neither 1 nor C_out
        make_requant([1 << 30], [0], make_rq_mode("double", 32), n=-1),
        make_requant([1 << 30], [0], make_rq_mode(7, 32)),
        make_requant([1 << 30], [0], make_rq_mode("single", 0)),
        make_requant([1 << 29] * 3 + [1 << 30], [0] * 4, make_rq_mode("double", 31)),  # 2^30 >= 2^(31-1)
        make_requant([1 << 30], [-48 if acc64 else -32], make_rq_mode("single", 32)),
        make_requant([1 << 30], [15 if acc64 else 31], make_rq_mode("single", 32)),
        make_requant([1], [-63 if acc64 else -32], make_rq_mode("shift_only", 16)),
    ]
    for rq in bad:
        status, out = run_c(datapath, case, requant=rq)
        assert status == FP_ERR_ARG, f"requant n={rq.struct.n} s={rq.shift[0]}"
        assert is_untouched(out)
    for field in ("multiplier", "shift"):
        rq = make_requant([1 << 30], [0], make_rq_mode("double", 32))
        setattr(rq.struct, field, ffi.NULL)
        status, out = run_c(datapath, case, requant=rq)
        assert status == FP_ERR_ARG and is_untouched(out)


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_null_pointers_return_err_arg(datapath):
    params = c_params(_simple_case(datapath))
    fn = getattr(lib, f"fp_{OP}_{datapath}")
    xt = "int16_t" if is_int16(datapath) else "int8_t"
    x, w, out = ffi.new(f"{xt}[18]"), ffi.new("int8_t[36]"), ffi.new(f"{xt}[36]")
    assert fn(ffi.NULL, x, w, ffi.NULL, out, ffi.NULL) == FP_ERR_ARG
    assert fn(params.ptr, ffi.NULL, w, ffi.NULL, out, ffi.NULL) == FP_ERR_ARG
    assert fn(params.ptr, x, ffi.NULL, ffi.NULL, out, ffi.NULL) == FP_ERR_ARG
    assert fn(params.ptr, x, w, ffi.NULL, ffi.NULL, ffi.NULL) == FP_ERR_ARG
    assert fn(params.ptr, x, w, ffi.NULL, out, ffi.NULL) == FP_OK
