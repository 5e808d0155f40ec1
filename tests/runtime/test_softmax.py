"""fp_softmax_s8 / fp_softmax_s16 against the independent Python reference, plus
known properties of softmax (sums to one, order preserved, uniform on constant
rows, close to float softmax) and the TFLite parameter computation.

10,000 random kernel calls per datapath (1-4 rows each); parameters come
from softmax_params for realistic input scales and betas, or are drawn at
random over their whole legal range (saturating rescales, tiny diff_min);
the s16 path also runs on random (malformed) tables, where the kernel must
still follow the defined wrap / saturation semantics.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from _harness_misc import (
    DTYPE,
    FP_ERR_ARG,
    FP_OK,
    TYPE_RANGE,
    as_ptr,
    assert_exact,
    expect_rejected,
    ffi,
    lib,
    random_values,
    sentinel_output,
)
from fixpoint.reference import softmax as ref
from fixpoint.reference.softmax_params import (
    LUT_SIZE,
    calculate_input_radius,
    exp_lut,
    gen_lut,
    one_over_one_plus_x_lut,
    quantize_multiplier,
    softmax_s8_params,
    softmax_s16_params,
)

CHUNKS = 10
CALLS_PER_CHUNK = 1000
CALLS_PER_BATCH = 50
EXP_LUT = exp_lut()
RECIP_LUT = one_over_one_plus_x_lut()


class Softmax:
    """An fp_softmax_params_t and the tables it points to."""

    def __init__(
        self,
        rows: int,
        depth: int,
        multiplier: int,
        left_shift: int,
        diff_min: int = 0,
        exp_table: np.ndarray | None = None,
        recip_table: np.ndarray | None = None,
    ):
        self.tables = (exp_table, recip_table)
        self.ptr = ffi.new(
            "fp_softmax_params_t *",
            {
                "rows": rows,
                "depth": depth,
                "inner": 1,
                "input_multiplier": multiplier,
                "input_left_shift": left_shift,
                "diff_min": diff_min,
                "exp_lut": ffi.NULL if exp_table is None else ffi.from_buffer("int16_t[]", exp_table),
                "one_over_one_plus_x_lut": ffi.NULL
                if recip_table is None
                else ffi.from_buffer("int16_t[]", recip_table),
            },
        )


def run_c(datapath: str, params: Softmax, x: np.ndarray) -> np.ndarray:
    out = sentinel_output(x.shape, DTYPE[datapath])
    status = getattr(lib, f"fp_softmax_{datapath}")(params.ptr, as_ptr(ffi, x), as_ptr(ffi, out))
    assert status == FP_OK, f"softmax_{datapath}: status {status}"
    return out


def random_rows(rng: np.random.Generator, datapath: str, depth: int) -> np.ndarray:
    rows = int(rng.integers(1, 5))
    x = random_values(rng, datapath, (rows, depth))
    u = rng.random()
    if u < 0.05:
        x[:] = x[:, :1]  # constant rows
    elif u < 0.15:
        x[:, rng.integers(0, depth, depth // 2 + 1)] = x.max()  # repeated maxima
    return x


def random_s8_params(rng: np.random.Generator, rows: int, depth: int) -> Softmax:
    if rng.random() < 0.75:
        beta = 1.0 if rng.random() < 0.6 else float(rng.uniform(0.25, 4.0))
        p = softmax_s8_params(float(np.exp2(rng.uniform(-9, 2))), beta)
        return Softmax(rows, depth, p.input_multiplier, p.input_left_shift, p.diff_min)
    left_shift = int(rng.integers(0, 32))
    multiplier = int(rng.integers(0, 1 << 31))
    radius = calculate_input_radius(5, left_shift, 31)
    diff_min = -int(rng.integers(0, max(radius, 1) + 1)) if rng.random() < 0.7 else -int(rng.integers(0, 300))
    return Softmax(rows, depth, multiplier, left_shift, diff_min)


def random_s16_params(rng: np.random.Generator, rows: int, depth: int) -> Softmax:
    exp_table, recip_table = EXP_LUT, RECIP_LUT
    u = rng.random()
    if u < 0.1:  # malformed tables: wrap / saturation paths
        exp_table = rng.integers(-32768, 32768, LUT_SIZE).astype(np.int16)
        recip_table = rng.integers(-32768, 32768, LUT_SIZE).astype(np.int16)
    if u < 0.7:
        beta = 1.0 if rng.random() < 0.6 else float(rng.uniform(0.25, 4.0))
        p = softmax_s16_params(float(np.exp2(rng.uniform(-16, -3))), beta)
        return Softmax(rows, depth, p.input_multiplier, p.input_left_shift, 0, exp_table, recip_table)
    return Softmax(rows, depth, int(rng.integers(0, 1 << 31)), int(rng.integers(-31, 32)), 0, exp_table, recip_table)


def reference(datapath: str, params: Softmax, x: np.ndarray) -> np.ndarray:
    return batch_reference(datapath, [params], [x])


def batch_reference(datapath: str, params: list[Softmax], xs: list[np.ndarray]) -> np.ndarray:
    """The reference on the stacked rows of several calls (same depth), each row
    carrying its call's parameters."""
    rows = [x.shape[0] for x in xs]

    def per_row(values) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=np.int64), rows)[:, None]

    kw = dict(
        input_multiplier=per_row([p.ptr.input_multiplier for p in params]),
        input_left_shift=per_row([p.ptr.input_left_shift for p in params]),
    )
    x = np.concatenate(xs)
    if datapath == "s8":
        return ref.softmax_s8(x, diff_min=per_row([p.ptr.diff_min for p in params]), **kw)
    tables = [np.repeat(np.stack([p.tables[i] for p in params]), rows, axis=0) for i in (0, 1)]
    return ref.softmax_s16(x, exp_lut=tables[0], one_over_one_plus_x_lut=tables[1], **kw)


def describe(params: Softmax) -> str:
    p = params.ptr
    return f"multiplier={p.input_multiplier} left_shift={p.input_left_shift} diff_min={p.diff_min}"


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("datapath", ("s8", "s16"))
def test_random_cases_match_reference(datapath, chunk):
    """Batches of 50 calls sharing a depth; each call has its own rows and parameters."""
    rng = np.random.default_rng([0x5F7, 8 if datapath == "s8" else 16, chunk])
    make_params = random_s8_params if datapath == "s8" else random_s16_params
    for batch in range(CALLS_PER_CHUNK // CALLS_PER_BATCH):
        depth = int(rng.integers(1, 40)) if rng.random() < 0.9 else int(rng.integers(40, 400))
        xs = [random_rows(rng, datapath, depth) for _ in range(CALLS_PER_BATCH)]
        params = [make_params(rng, *x.shape) for x in xs]
        want = batch_reference(datapath, params, xs)
        start = 0
        for i, (x, p) in enumerate(zip(xs, params)):
            got, expected = run_c(datapath, p, x), want[start : start + x.shape[0]]
            start += x.shape[0]
            if not np.array_equal(got, expected):
                assert_exact(got, expected, f"softmax_{datapath} batch {batch} call {i} x={x.tolist()} {describe(p)}")


# ---- properties of the kernels -----------------------------------------------------------------------------


def dequantized(datapath: str, out: np.ndarray) -> np.ndarray:
    return (out.astype(np.float64) + 128) / 256 if datapath == "s8" else out.astype(np.float64) / 32768


def realistic(datapath: str, rng: np.random.Generator, rows: int, depth: int):
    """Random rows, their input scale, and kernel params from softmax_params."""
    if datapath == "s8":
        scale = float(np.exp2(rng.uniform(-6, -2)))
        p = softmax_s8_params(scale)
        params = Softmax(rows, depth, p.input_multiplier, p.input_left_shift, p.diff_min)
    else:
        scale = float(np.exp2(rng.uniform(-13, -10)))
        p = softmax_s16_params(scale)
        params = Softmax(rows, depth, p.input_multiplier, p.input_left_shift, 0, p.exp_lut, p.one_over_one_plus_x_lut)
    return random_values(rng, datapath, (rows, depth)), scale, params


@pytest.mark.parametrize("datapath", ("s8", "s16"))
def test_close_to_float_softmax_and_sums_to_one(datapath):
    rng = np.random.default_rng([0xF1, len(datapath)])
    step = 1 / 256 if datapath == "s8" else 1 / 32768
    worst = 0.0
    for _ in range(300):
        depth = int(rng.integers(2, 30))
        x, scale, params = realistic(datapath, rng, 3, depth)
        prob = dequantized(datapath, run_c(datapath, params, x))
        real = x.astype(np.float64) * scale
        exact = np.exp(real - real.max(axis=1, keepdims=True))
        exact /= exact.sum(axis=1, keepdims=True)
        worst = max(worst, float(np.abs(prob - exact).max()))
        # s8: every output within one output step of the real value, rows sum to 1 within
        # depth / 2 steps. s16: TFLite's tables carry their own error (exp(-10) still reads
        # as about 2 steps, and every element of a row adds it to the sum), so the bound
        # grows with the depth.
        tolerance = step if datapath == "s8" else (8 + 3 * depth) * step
        sum_tolerance = depth * step / 2 if datapath == "s8" else 2 * depth * step
        assert np.abs(prob - exact).max() <= tolerance + 1e-12, f"scale={scale} x={x.tolist()}"
        assert np.all(np.abs(prob.sum(axis=1) - 1) <= sum_tolerance + 1e-12), f"scale={scale} x={x.tolist()}"
    assert worst > 0  # the comparison is not vacuous


@pytest.mark.parametrize("datapath", ("s8", "s16"))
def test_order_preserved_and_argmax_kept(datapath):
    rng = np.random.default_rng([0x0D, len(datapath)])
    for _ in range(300):
        x, _, params = realistic(datapath, rng, 2, int(rng.integers(2, 20)))
        out = run_c(datapath, params, x).astype(np.int64)
        for row_in, row_out in zip(x.astype(np.int64), out):
            order = np.argsort(row_in, kind="stable")
            assert np.all(np.diff(row_out[order]) >= 0), f"not monotone: {row_in.tolist()} -> {row_out.tolist()}"
            assert row_out[np.argmax(row_in)] == row_out.max()


@pytest.mark.parametrize("datapath", ("s8", "s16"))
def test_constant_rows_are_uniform(datapath):
    rng = np.random.default_rng([0xC0, len(datapath)])
    for depth in (1, 2, 3, 4, 7, 10, 64, 100, 255):
        x, _, params = realistic(datapath, rng, 2, depth)
        x[:] = np.array([[TYPE_RANGE[datapath][0]], [int(rng.integers(-100, 100))]])
        prob = dequantized(datapath, run_c(datapath, params, x))
        assert np.all(prob == prob[0, 0]), f"depth {depth}: not uniform"
        assert abs(prob[0, 0] - 1 / depth) <= (1 / 256 if datapath == "s8" else 1 / 4096)


def test_s8_inputs_below_diff_min_give_zero_probability():
    p = softmax_s8_params(0.5)  # diff_min = -31: differences below it are dropped
    x = np.array([[127, 127 + p.diff_min, 127 + p.diff_min - 1, -128]], np.int8)
    out = run_c("s8", Softmax(1, 4, p.input_multiplier, p.input_left_shift, p.diff_min), x)
    assert out[0, 2] == -128 and out[0, 3] == -128
    assert_exact(
        out,
        ref.softmax_s8(
            x, input_multiplier=p.input_multiplier, input_left_shift=p.input_left_shift, diff_min=p.diff_min
        ),
        "diff_min",
    )


def test_s8_sum_of_exps_saturates_for_very_long_rows():
    """5000 equal maxima: the Q12 sum exceeds int32 (TFLite would overflow); it saturates."""
    p = softmax_s8_params(0.1)
    x = np.full((1, 5000), 7, np.int8)
    out = run_c("s8", Softmax(1, 5000, p.input_multiplier, p.input_left_shift, p.diff_min), x)
    assert_exact(
        out,
        ref.softmax_s8(
            x, input_multiplier=p.input_multiplier, input_left_shift=p.input_left_shift, diff_min=p.diff_min
        ),
        "long row",
    )
    assert np.all(out == -128)  # 1/5000 of 256 rounds to 0


# ---- the reference's fixed-point pieces against real numbers -------------------------------------------------


def test_reference_exp_matches_real_exp():
    a = np.concatenate([-np.arange(0, 1 << 31, 9973, dtype=np.int64), [-(1 << 31), -1, -(1 << 24), -(1 << 26)]])
    got = ref.exp_on_negative_values_q5(a) / 2.0**31
    want = np.exp(a / 2.0**26)
    assert np.abs(got - want).max() < 5e-7  # 4th-order Taylor on quarter intervals


def test_reference_reciprocal_matches_real_division():
    a = np.concatenate([np.arange(0, 1 << 31, 7919, dtype=np.int64), [(1 << 31) - 1]])
    got = ref.one_over_one_plus_x(a) / 2.0**31
    assert np.abs(got - 1 / (1 + a / 2.0**31)).max() < 5e-9


def test_reference_tables_interpolate_their_functions():
    v = np.arange(-32768, 32768)
    e = ref.lut_lookup_s16(v, EXP_LUT) / 32768  # v + 32768 = 0 .. 65536 spans [-10, 0]
    assert np.abs(e - np.exp(-10 + (v + 32768) * 10 / 65536)).max() < 1.5e-4
    r = ref.lut_lookup_s16(v, RECIP_LUT) / 32768
    assert np.abs(r - 1 / (1 + (v + 32768) / 65536)).max() < 1.5e-4


# ---- TFLite parameter computation --------------------------------------------------------------------------


def test_quantize_multiplier():
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.75) == (3 << 29, 0)
    assert quantize_multiplier(-0.75) == (-(3 << 29), 0)
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(2.0**-40) == (0, 0)  # below 2^-31: flushed to zero
    assert quantize_multiplier(1 - 2.0**-33) == (1 << 30, 1)  # rounds up to 2^31: halved, shift + 1
    for real in np.exp2(np.random.default_rng(0).uniform(-30, 30, 200)):
        m, s = quantize_multiplier(float(real))
        assert (1 << 30) <= m < (1 << 31)
        assert abs(m * 2.0 ** (s - 31) / real - 1) <= 2.0**-31


def test_softmax_s8_params_follow_tflite_prepare():
    for scale in (1 / 256, 0.05, 0.1, 0.25, 1.0, 3.7):
        p = softmax_s8_params(scale)
        real = float(np.float32(scale)) * 2.0**26
        assert (1 << 30) <= p.input_multiplier < (1 << 31) and 0 <= p.input_left_shift <= 31
        assert abs(p.input_multiplier * 2.0 ** (p.input_left_shift - 31) / real - 1) <= 2.0**-31
        assert p.diff_min == -math.floor(31 * 2.0**26 / 2.0**p.input_left_shift)
        # the largest accepted difference, rescaled, stays within the Q5 range (> -32)
        assert -p.diff_min * 2.0**p.input_left_shift * p.input_multiplier / 2.0**31 < 32 * 2.0**26
    p = softmax_s8_params(1.0e6)  # capped at 2^31 - 1
    assert (p.input_multiplier, p.input_left_shift) == ((1 << 31) - 1, 31) and p.diff_min == 0
    assert softmax_s8_params(0.1, beta=2.0).input_multiplier == softmax_s8_params(0.2).input_multiplier
    with pytest.raises(ValueError):
        softmax_s8_params(1e-9)  # beta * scale * 2^26 <= 1


def test_softmax_s16_params_follow_tflite_prepare():
    p = softmax_s16_params(10 / 65535)  # rescale factor 1 (up to float32 rounding)
    assert p.input_left_shift == 1 and abs(p.input_multiplier - (1 << 30)) <= 64
    p = softmax_s16_params(1 / 4096, beta=1.0, float32_inputs=False)
    m, s = quantize_multiplier(1 / 4096 / (10 / 65535))
    assert (p.input_multiplier, p.input_left_shift) == (m, s)
    assert p.exp_lut.dtype == np.int16 and p.exp_lut.shape == (LUT_SIZE,)
    assert p.exp_lut[-1] == 32767 and np.all(np.diff(p.exp_lut.astype(int)) >= 0)
    assert p.one_over_one_plus_x_lut[0] == 32767 and p.one_over_one_plus_x_lut[-1] == 16384
    assert np.all(np.diff(p.one_over_one_plus_x_lut.astype(int)) <= 0)
    p.exp_lut[0] = 99  # callers get their own copies
    assert exp_lut()[0] != 99


def test_gen_lut_biases_samples_by_half_the_midpoint_error():
    """For a straight line interpolation is exact: the table is the rounded samples."""
    table = gen_lut(lambda v: v, -1.0, 0.5, 513)
    xs = -1.0 + np.arange(513) * (1.5 / 512)
    want = np.clip(np.sign(xs * 32768) * np.floor(np.abs(xs * 32768) + 0.5), -32768, 32767)
    assert np.array_equal(table, want.astype(np.int16))


# ---- parameter errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("datapath", ("s8", "s16"))
def test_bad_params_return_err_arg(datapath):
    x = random_values(np.random.default_rng(2), datapath, (2, 5))
    fn = getattr(lib, f"fp_softmax_{datapath}")
    xp, dt = as_ptr(ffi, x), DTYPE[datapath]
    tables = (None, None) if datapath == "s8" else (EXP_LUT, RECIP_LUT)
    good = dict(rows=2, depth=5, multiplier=1 << 30, left_shift=20, diff_min=-100)
    run_c(datapath, Softmax(**good, exp_table=tables[0], recip_table=tables[1]), x)  # legal
    bad = [
        ("rows = 0", dict(rows=0)),
        ("depth = 0", dict(depth=0)),
        ("depth = -1", dict(depth=-1)),
        ("rows * depth beyond INT32_MAX", dict(rows=1 << 16, depth=1 << 16)),
        ("negative multiplier", dict(multiplier=-1)),
    ]
    if datapath == "s8":
        bad += [
            ("left_shift = -1", dict(left_shift=-1)),
            ("left_shift = 32", dict(left_shift=32)),
            ("diff_min = 1", dict(diff_min=1)),
        ]
    else:
        bad += [("left_shift = -32", dict(left_shift=-32)), ("left_shift = 32", dict(left_shift=32))]
    for what, override in bad:
        params = Softmax(**dict(good, **override), exp_table=tables[0], recip_table=tables[1])
        expect_rejected(lambda out: fn(params.ptr, xp, as_ptr(ffi, out)), x.shape, dt, what)
    params = Softmax(**good, exp_table=tables[0], recip_table=tables[1])
    expect_rejected(lambda out: fn(ffi.NULL, xp, as_ptr(ffi, out)), x.shape, dt, "NULL params")
    expect_rejected(lambda out: fn(params.ptr, ffi.NULL, as_ptr(ffi, out)), x.shape, dt, "NULL input")
    assert fn(params.ptr, xp, ffi.NULL) == FP_ERR_ARG
    if datapath == "s16":
        for what, t in (("NULL exp_lut", (None, RECIP_LUT)), ("NULL one_over_one_plus_x_lut", (EXP_LUT, None))):
            params = Softmax(**good, exp_table=t[0], recip_table=t[1])
            expect_rejected(lambda out: fn(params.ptr, xp, as_ptr(ffi, out)), x.shape, dt, what)
