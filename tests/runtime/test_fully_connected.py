"""fp_fully_connected_{s8,s4,s16} against the independent Python reference."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.reference.fully_connected import fully_connected
from fixpoint.reference.int4 import pack_int4, unpack_int4
from kernel_harness import (
    packed_weights,
    random_weights,  # noqa: I001
    S8_INPUT_OFFSET_MAX,
    S8_INPUT_OFFSET_MIN,
    is_int16,
    random_input_offset,
    s8_reach,
    ACT_DTYPE,
    ACT_RANGE,
    FP_ERR_ARG,
    FP_OK,
    accumulator_magnitude,
    assert_exact,
    c_stage_fields,
    ffi,
    is_untouched,
    lib,
    make_params,
    make_requant,
    make_rq_mode,
    random_bias,
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
PER_CASE = ("input_offset", "filter_offset", "output_offset", "act_min", "act_max")
OP = "fully_connected"


def random_group(rng, datapath: str, size: int) -> list[dict]:
    """``size`` random cases sharing shapes and requant mode (one batched reference call)."""
    batches, depth, c_out = int(rng.integers(1, 4)), int(rng.integers(1, 24)), int(rng.integers(1, 9))
    mode = random_mode(rng)
    lo, hi = ACT_RANGE[datapath]
    cases = []
    for _ in range(size):
        x = random_values(rng, lo, hi, (batches, depth), ACT_DTYPE[datapath])
        w = random_weights(rng, datapath, (c_out, depth))
        f_off = random_input_offset(rng, "s8", 1 << 15 if is_int16(datapath) else 128) if rng.random() < 0.3 else 0
        in_off = random_input_offset(rng, datapath, s8_reach(f_off))
        acc_mag = accumulator_magnitude(x.astype(np.int64) + in_off, w.astype(np.int64) + f_off, depth)
        cases.append(
            dict(
                x=x,
                w=w,
                bias=random_bias(rng, datapath, c_out, acc_mag),
                input_offset=in_off,
                filter_offset=f_off,
                **random_output_stage(rng, datapath, c_out, acc_mag, mode),
            )
        )
    return cases


def c_params(case: dict, **override):
    batches, depth = case["x"].shape
    fields = dict(
        batches=batches,
        depth=depth,
        out_channels=case["w"].shape[0],
        input_offset=case["input_offset"],
        filter_offset=case["filter_offset"],
        **c_stage_fields(case),
    )
    fields.update(override)
    return make_params("fp_fully_connected_params_t", **fields)


def run_c(datapath: str, case: dict, weights=None, **override):
    w = case["w"] if weights is None else weights
    packed = packed_weights(datapath, w)
    out_shape = (case["x"].shape[0], case["w"].shape[0])
    return run_weighted(OP, datapath, c_params(case, **override), case["x"], packed, case["bias"], out_shape)


def reference(datapath: str, case: dict) -> np.ndarray:
    kw = {k: v for k, v in case.items() if k not in ("x", "w", "bias")}
    return fully_connected(case["x"], case["w"], case["bias"], datapath=datapath, **kw)


def describe(case: dict) -> str:
    return (
        f"x{case['x'].shape} w{case['w'].shape} in_off={case['input_offset']} f_off={case['filter_offset']} "
        f"{case['rounding']}/{case['multiplier_bits']} m={case['multiplier'].tolist()} "
        f"s={case['shift'].tolist()} out_off={case['output_offset']} act=[{case['act_min']},{case['act_max']}]"
    )


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("datapath", DATAPATHS)
def test_random_cases_match_reference(datapath, chunk):
    rng = np.random.default_rng([0xFC, DATAPATHS.index(datapath), chunk])
    for g in range(GROUPS_PER_CHUNK):
        cases = random_group(rng, datapath, GROUP)
        want = fully_connected(datapath=datapath, **stack_cases(cases, cases[0]["w"].shape[0], PER_CASE))
        for i, case in enumerate(cases):
            status, got = run_c(datapath, case)
            assert status == FP_OK, f"group {g} case {i}: status {status} for {describe(case)}"
            assert_exact(got, want[i], f"{datapath} group {g} case {i} ({describe(case)})")
            if datapath == "s4":  # packed int4 == the s8 kernel on the unpacked weights
                status8, got8 = run_c("s8", case)
                assert status8 == FP_OK
                assert_exact(got, got8, f"s4 vs s8 group {g} case {i} ({describe(case)})")


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_rounding_ties(datapath):
    """Accumulators k * 2^e + 2^(e-1) scaled by 2^-e land exactly on k + 1/2.

    32-bit DOUBLE and every SHIFT_ONLY round half away from zero; SINGLE and
    the int64 (s16) DOUBLE/SINGLE path round half up (toward +inf).
    """
    e = 3
    ks = np.arange(-6, 6)
    away, up = np.where(ks >= 0, ks + 1, ks), ks + 1
    expected = {"double": up if datapath == "s16" else away, "single": up, "shift_only": away}
    lo, hi = ACT_RANGE[datapath]
    for rounding, want in expected.items():
        for bits in (32, 16, 8):
            for k, acc, w_k in zip(ks, ks * (1 << e) + (1 << (e - 1)), want):
                # multiplier 0.5 and shift -(e-1): scale 2^-e; SHIFT_ONLY ignores the multiplier
                shift = -e if rounding == "shift_only" else -(e - 1)
                case = dict(
                    x=np.ones((1, 1), ACT_DTYPE[datapath]),
                    w=np.ones((1, 1), np.int8),
                    bias=np.array([acc - 1]),
                    input_offset=0,
                    filter_offset=0,
                    multiplier=np.array([1 << (bits - 2)], np.int32),
                    shift=np.array([shift], np.int32),
                    rounding=rounding,
                    multiplier_bits=bits,
                    output_offset=0,
                    act_min=lo,
                    act_max=hi,
                )
                status, got = run_c(datapath, case)
                assert status == FP_OK
                assert int(got[0, 0]) == int(w_k), f"{rounding}/{bits}: ({k} + 0.5) -> {int(got[0, 0])}"
                assert_exact(got, reference(datapath, case), f"{rounding}/{bits} tie {k} + 0.5")


SATURATION_SCALES = [  # (rounding, multiplier, shift, outputs of the saturated sums +-2^31)
    ("double", 100 << 24, -24, [100, -100]),  # scale 100 / 2^31; exact sums (~1.6 * 2^31) would clamp
    ("single", 100 << 24, -24, [100, -100]),
    ("shift_only", 0, -25, [64, -64]),  # 2^31 / 2^25; exact sums would give +-102
]


@pytest.mark.parametrize("rounding,mult,shift,want", SATURATION_SCALES)
@pytest.mark.parametrize("datapath", ("s8", "s4"))
def test_accumulator_saturates_to_int32(datapath, rounding, mult, shift, want):
    """A sum beyond int32 saturates before requantization (TFLite would overflow).

    The exact sums are about +-1.6 * 2^31; SATURATION_SCALES map +-2^31 into
    the int8 range, so saturating and not saturating give different outputs.
    """
    wv = 7 if datapath == "s4" else 127
    depth = (1 << 31) * 8 // (5 * 255 * wv)  # 255 * wv * depth ~ 1.6 * 2^31
    x = np.full((1, depth), 127, np.int8)
    w = np.full((2, depth), wv, np.int8)
    w[1] = -wv
    case = dict(
        x=x,
        w=w,
        bias=np.array([1000, -1000], np.int32),
        input_offset=128,
        filter_offset=0,
        multiplier=np.array([mult], np.int32),
        shift=np.array([shift], np.int32),
        rounding=rounding,
        multiplier_bits=32,
        output_offset=0,
        act_min=-128,
        act_max=127,
    )
    status, got = run_c(datapath, case)
    assert status == FP_OK
    assert got.reshape(-1).tolist() == want
    assert_exact(got, reference(datapath, case), "saturated accumulator")


def test_s16_extreme_bias_and_accumulator():
    """int64 bias at the type limits: the accumulator saturates to [-2^47, 2^47) exactly as the reference."""
    info = np.iinfo(np.int64)
    x = np.full((1, 3), -32768, np.int16)
    w = np.full((4, 3), -128, np.int8)
    for rounding in ("double", "single", "shift_only"):
        case = dict(
            x=x,
            w=w,
            bias=np.array([info.max, info.min, 1 << 47, -(1 << 47) - 5]),
            input_offset=0,
            filter_offset=0,
            multiplier=np.array([(1 << 31) - 1], np.int32),
            shift=np.array([-32], np.int32),
            rounding=rounding,
            multiplier_bits=32,
            output_offset=0,
            act_min=-32768,
            act_max=32767,
        )
        status, got = run_c("s16", case)
        assert status == FP_OK
        assert_exact(got, reference("s16", case), f"s16 extreme bias {rounding}")


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_per_channel_scales_apply_per_output_channel(datapath):
    x = np.full((1, 4), 10, ACT_DTYPE[datapath])
    w = np.full((3, 4), 2, np.int8)  # acc = 80 in every channel
    case = dict(
        x=x,
        w=w,
        bias=None,
        input_offset=0,
        filter_offset=0,
        multiplier=np.array([1 << 30, 1 << 30, 1 << 30], np.int32),
        shift=np.array([0, -1, 1], np.int32),
        rounding="double",
        multiplier_bits=32,
        output_offset=0,
        act_min=ACT_RANGE[datapath][0],
        act_max=ACT_RANGE[datapath][1],
    )
    status, got = run_c(datapath, case)
    assert status == FP_OK
    assert got.tolist() == [[40, 20, 80]]


def _valid_case(datapath: str) -> dict:
    rng = np.random.default_rng(7)
    case = random_group(rng, datapath, 1)[0]
    case.update(
        multiplier=np.array([1 << 30], np.int32),
        shift=np.array([-2], np.int32),
        rounding="double",
        multiplier_bits=32,
        act_min=ACT_RANGE[datapath][0],
        act_max=ACT_RANGE[datapath][1],
        output_offset=0,
        input_offset=0,
        filter_offset=0,
    )
    return case


BAD_FIELDS = [
    dict(batches=0),
    dict(batches=-1),
    dict(depth=0),
    dict(out_channels=0),
    dict(out_channels=-3),
    dict(batches=1 << 16, depth=1 << 16),  # counts beyond INT32_MAX
    dict(out_channels=1 << 16, depth=1 << 16),
    dict(batches=1 << 16, out_channels=1 << 16),
    dict(act_min=5, act_max=4),
]
# offsets whose product terms (x + input_offset) * (w + filter_offset) would not fit int32;
# every int32 output offset is legal on int8
BAD_FIELDS_S8 = [
    dict(input_offset=S8_INPUT_OFFSET_MAX + 1),
    dict(input_offset=S8_INPUT_OFFSET_MIN - 1),
    dict(filter_offset=S8_INPUT_OFFSET_MAX + 1),
    dict(filter_offset=S8_INPUT_OFFSET_MIN - 1),
    dict(input_offset=50000, filter_offset=50000),
    dict(act_min=-129),
    dict(act_max=128),
]
BAD_FIELDS_S16 = [
    dict(input_offset=1),
    dict(output_offset=-1),
    dict(act_min=-32769),
    dict(act_max=32768),
    dict(filter_offset=65409),
    dict(filter_offset=-65409),
]


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_bad_params_return_err_arg_and_write_nothing(datapath):
    case = _valid_case(datapath)
    status, _ = run_c(datapath, case)
    assert status == FP_OK
    bad = BAD_FIELDS + (BAD_FIELDS_S16 if is_int16(datapath) else BAD_FIELDS_S8)
    for override in bad:
        status, out = run_c(datapath, case, **override)
        assert status == FP_ERR_ARG, f"{override}: status {status}"
        assert is_untouched(out), f"{override}: output written on error"


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_bad_requant_returns_err_arg(datapath):
    case = _valid_case(datapath)
    c_out = case["w"].shape[0]
    acc64 = datapath == "s16"
    bad = [
        make_requant([1 << 30] * 2, [0] * 2, make_rq_mode("double", 32))
        if c_out != 2
        else make_requant([1 << 30] * 3, [0] * 3, make_rq_mode("double", 32)),  # n neither 1 nor C_out
        make_requant([1 << 30], [0], make_rq_mode("double", 32), n=0),
        make_requant([1 << 30], [0], make_rq_mode(4, 32)),  # unknown rounding
        make_requant([1 << 30], [0], make_rq_mode("double", 1)),  # multiplier_bits < 2
        make_requant([1 << 30], [0], make_rq_mode("double", 33)),
        make_requant([-1], [0], make_rq_mode("double", 32)),  # negative multiplier
        make_requant([1 << 15], [0], make_rq_mode("single", 16)),  # multiplier >= 2^(bits-1)
        make_requant([1 << 30], [-48 if acc64 else -32], make_rq_mode("double", 32)),
        make_requant([1 << 30], [15 if acc64 else 32], make_rq_mode("double", 32)),
        make_requant([1 << 30], [15 if acc64 else 31], make_rq_mode("single", 32)),
        make_requant([1], [16 if acc64 else 32], make_rq_mode("shift_only", 32)),
        make_requant([1], [-63 if acc64 else -32], make_rq_mode("shift_only", 32)),
    ]
    for rq in bad:
        status, out = run_c(datapath, case, requant=rq)
        assert status == FP_ERR_ARG, f"requant n={rq.struct.n} m={rq.multiplier[0]} s={rq.shift[0]}"
        assert is_untouched(out)
    null_mult = make_requant([1 << 30], [0], make_rq_mode("double", 32))
    null_mult.struct.multiplier = ffi.NULL
    null_shift = make_requant([1 << 30], [0], make_rq_mode("double", 32))
    null_shift.struct.shift = ffi.NULL
    for rq in (null_mult, null_shift):
        status, out = run_c(datapath, case, requant=rq)
        assert status == FP_ERR_ARG and is_untouched(out)


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_null_pointers_return_err_arg(datapath):
    case = _valid_case(datapath)
    params = c_params(case)
    fn = getattr(lib, f"fp_{OP}_{datapath}")
    x = np.zeros(case["x"].shape, ACT_DTYPE[datapath])
    w = np.zeros(case["w"].size, np.int8)
    out = np.zeros((case["x"].shape[0], case["w"].shape[0]), ACT_DTYPE[datapath])
    xp, wp = ffi.from_buffer(x), ffi.from_buffer(w)
    op = ffi.from_buffer(out)
    xt = "int16_t *" if is_int16(datapath) else "int8_t *"
    assert fn(ffi.NULL, ffi.cast(xt, xp), ffi.cast("int8_t *", wp), ffi.NULL, ffi.cast(xt, op), ffi.NULL) == FP_ERR_ARG
    assert fn(params.ptr, ffi.NULL, ffi.cast("int8_t *", wp), ffi.NULL, ffi.cast(xt, op), ffi.NULL) == FP_ERR_ARG
    assert fn(params.ptr, ffi.cast(xt, xp), ffi.NULL, ffi.NULL, ffi.cast(xt, op), ffi.NULL) == FP_ERR_ARG
    assert fn(params.ptr, ffi.cast(xt, xp), ffi.cast("int8_t *", wp), ffi.NULL, ffi.NULL, ffi.NULL) == FP_ERR_ARG
    assert fn(params.ptr, ffi.cast(xt, xp), ffi.cast("int8_t *", wp), ffi.NULL, ffi.cast(xt, op), ffi.NULL) == FP_OK


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_no_scratch_needed(datapath):
    params = c_params(_valid_case(datapath))
    assert getattr(lib, f"fp_{OP}_{datapath}_scratch_size")(params.ptr) == 0
    assert getattr(lib, f"fp_{OP}_{datapath}_scratch_size")(ffi.NULL) == 0


def test_pack_int4_layout_roundtrip_and_errors():
    """fixpoint.reference.int4 is the one packing function (simulator, code generator, these tests)."""
    packed = pack_int4(np.array([1, -1, -8, 7, 3]))
    assert packed.dtype == np.int8 and packed.view(np.uint8).tolist() == [0xF1, 0x78, 0x03]
    assert pack_int4([[1, 2], [3, 4]], dtype=np.uint8).tolist() == [0x21, 0x43]
    values = np.random.default_rng(11).integers(-8, 8, size=(3, 5, 7))
    assert np.array_equal(unpack_int4(pack_int4(values), values.size, values.shape), values)
    for bad in ([8], [-9], np.array([0.5])):
        with pytest.raises(ValueError):
            pack_int4(bad)
    with pytest.raises(ValueError):
        pack_int4([1], dtype=np.int16)
    with pytest.raises(ValueError):
        unpack_int4(np.zeros(2, np.int8), 5)
