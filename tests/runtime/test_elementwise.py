"""fp_add / fp_mul / fp_leaky_relu (s8, s16) against the independent Python reference.

Random cases come in chunks sharing shapes and rounding mode; every case has
its own offsets, scales and activation range. 100 chunks x 100 cases = 10,000
cases per kernel and datapath.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from _harness_misc import (
    DTYPE,
    FP_ERR_ARG,
    FP_OK,
    TYPE_RANGE,
    as_ptr,
    assert_cases,
    bad_scales,
    expect_rejected,
    ffi,
    lib,
    per_case,
    random_act_range,
    random_input_offset,
    random_mode,
    random_output_offset,
    random_values,
    scale_array,
    sentinel_output,
)
from fixpoint.reference.elementwise import add, leaky_relu, mul
from fixpoint.reference.softmax_params import quantize_multiplier

DATAPATHS = ("s8", "s16")
CHUNKS = 100
CASES = 100
ROUNDING_CODE = {"double": 0, "single": 1, "shift_only": 2}


def dims(shape) -> dict:
    n, h, w, c = (int(v) for v in shape)
    return {"n": n, "h": h, "w": w, "c": c}


def random_shapes(rng: np.random.Generator):
    """(input1, input2, output) NHWC shapes; a dim of 1 in one input broadcasts."""
    out = [int(rng.integers(1, m + 1)) for m in (2, 3, 3, 5)]
    d1, d2 = [], []
    for o in out:
        u = rng.random()
        d1.append(1 if (u < 0.2) else o)
        d2.append(1 if (0.2 <= u < 0.4) else o)
    if rng.random() < 0.1:
        d1, d2 = list(out), [1, 1, 1, 1]  # scalar operand
    if rng.random() < 0.5:
        d1, d2 = d2, d1
    return tuple(d1), tuple(d2), tuple(out)


def mode_of(rounding: str, bits: int) -> dict:
    return {"rounding": ROUNDING_CODE[rounding], "multiplier_bits": bits}


def scale_of(m, s) -> dict:
    return {"multiplier": int(m), "shift": int(s)}


def describe(case: dict, k: int) -> str:
    return ", ".join(f"{name}={value[k] if isinstance(value, np.ndarray) else value}" for name, value in case.items())


# ---- add ---------------------------------------------------------------------------------------------------


def random_add_chunk(rng: np.random.Generator, datapath: str) -> dict:
    rounding, bits = random_mode(rng)
    d1, d2, do = random_shapes(rng)
    k = CASES
    s1 = np.exp2(rng.uniform(-12, -2, k))
    s2 = s1 * np.exp2(rng.uniform(-4, 4, k))
    twice_max = 2 * np.maximum(s1, s2)
    s_out = twice_max / 2 * np.exp2(rng.uniform(-2, 3, k))
    default_shift = 20 if datapath == "s8" else 15
    left = np.where(rng.random(k) < 0.85, default_shift, rng.integers(0, 32, k))
    m1, sh1 = scale_array(rng, k, s1 / twice_max, rounding, bits)
    m2, sh2 = scale_array(rng, k, s2 / twice_max, rounding, bits)
    mo, sho = scale_array(rng, k, twice_max / (np.exp2(left) * s_out), rounding, bits)
    out_off = random_output_offset(rng, k, datapath)
    act_min, act_max = random_act_range(rng, k, datapath, out_off)
    return dict(
        rounding=rounding,
        bits=bits,
        d1=d1,
        d2=d2,
        do=do,
        x1=random_values(rng, datapath, (k,) + d1),
        x2=random_values(rng, datapath, (k,) + d2),
        in1_off=random_input_offset(rng, k, datapath),
        in2_off=random_input_offset(rng, k, datapath),
        out_off=out_off,
        left=left,
        m1=m1,
        sh1=sh1,
        m2=m2,
        sh2=sh2,
        mo=mo,
        sho=sho,
        act_min=act_min,
        act_max=act_max,
        sub=(rng.random(k) < 0.3).astype(np.int64),
    )  # TFLite Sub


def add_params(c: dict, k: int, **override):
    fields = {
        "input1": dims(c["d1"]),
        "input2": dims(c["d2"]),
        "output": dims(c["do"]),
        "input1_offset": int(c["in1_off"][k]),
        "input2_offset": int(c["in2_off"][k]),
        "output_offset": int(c["out_off"][k]),
        "left_shift": int(c["left"][k]),
        "input1_scale": scale_of(c["m1"][k], c["sh1"][k]),
        "input2_scale": scale_of(c["m2"][k], c["sh2"][k]),
        "output_scale": scale_of(c["mo"][k], c["sho"][k]),
        "act_min": int(c["act_min"][k]),
        "act_max": int(c["act_max"][k]),
        "mode": mode_of(c["rounding"], c["bits"]),
        "subtract": int(c["sub"][k]),
    }
    fields.update(override)
    return ffi.new("fp_add_params_t *", fields)


def add_reference(c: dict) -> np.ndarray:
    pc = lambda v: per_case(v, 4)  # noqa: E731
    return add(
        c["x1"],
        c["x2"],
        input1_offset=pc(c["in1_off"]),
        input2_offset=pc(c["in2_off"]),
        output_offset=pc(c["out_off"]),
        left_shift=pc(c["left"]),
        input1_scale=(pc(c["m1"]), pc(c["sh1"])),
        input2_scale=(pc(c["m2"]), pc(c["sh2"])),
        output_scale=(pc(c["mo"]), pc(c["sho"])),
        act_min=pc(c["act_min"]),
        act_max=pc(c["act_max"]),
        rounding=c["rounding"],
        multiplier_bits=c["bits"],
        subtract=pc(c["sub"]),
    )


def run_binary(op: str, datapath: str, c: dict, make_params) -> np.ndarray:
    fn = getattr(lib, f"fp_{op}_{datapath}")
    out = sentinel_output((CASES,) + c["do"], DTYPE[datapath])
    for k in range(CASES):
        status = fn(make_params(c, k), as_ptr(ffi, c["x1"][k]), as_ptr(ffi, c["x2"][k]), as_ptr(ffi, out[k]))
        assert status == FP_OK, f"{op}_{datapath} case {k}: status {status}"
    return out


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_add_random_cases_match_reference(datapath):
    rng = np.random.default_rng([0xADD, DATAPATHS.index(datapath)])
    for chunk in range(CHUNKS):
        c = random_add_chunk(rng, datapath)
        got = run_binary("add", datapath, c, add_params)
        assert_cases(got, add_reference(c), lambda k: describe(c, k), f"add_{datapath} chunk {chunk}")


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_sub_saturation_edges_match_reference(datapath):
    """Sub where the rescaled second operand is INT32_MIN, whose negation saturates to INT32_MAX (not
    2^31): shift-only scales with shift 0 pass the saturated (x + offset) * 2^31 through unchanged, and
    the difference is formed next to a negative first term, where sat(-sb) and -sb give different sums.
    Add and Sub over the same cases, both against the reference (fp_add_elem negates by a multiply)."""
    rng = np.random.default_rng([0x5B, DATAPATHS.index(datapath)])
    lo, hi = TYPE_RANGE[datapath]
    k = 4000
    shape = (1, 1, 1, k)
    x1 = rng.integers(lo, hi + 1, shape).astype(DTYPE[datapath])
    x2 = rng.integers(lo, hi + 1, shape).astype(DTYPE[datapath])
    fn = getattr(lib, f"fp_add_{datapath}")
    off = (lambda: int(rng.integers(-128, 129))) if datapath == "s8" else (lambda: 0)
    edges = 0
    for chunk, (left, out_shift, sub) in enumerate(itertools.product((31, 30), (0, -1, -25), (0, 1))):
        # output shift 0: a difference of INT32_MIN and INT32_MIN is -1 (saturated negation), not 0
        c = {
            "d1": shape,
            "d2": shape,
            "do": shape,
            "x1": x1[None],
            "x2": x2[None],
            "in1_off": np.array([off()]),
            "in2_off": np.array([off()]),
            "out_off": np.array([0]),
            "left": np.array([left]),
            "m1": np.array([0]),
            "sh1": np.array([0]),
            "m2": np.array([0]),
            "sh2": np.array([0]),
            "mo": np.array([0]),
            "sho": np.array([out_shift]),
            "act_min": np.array([lo]),
            "act_max": np.array([hi]),
            "rounding": "shift_only",
            "bits": 32,
            "sub": np.array([sub]),
        }
        got = sentinel_output((1,) + shape, DTYPE[datapath])
        assert fn(add_params(c, 0), as_ptr(ffi, x1), as_ptr(ffi, x2), as_ptr(ffi, got[0])) == FP_OK
        assert_cases(got, add_reference(c), lambda j: describe(c, j), f"sub edges {datapath} chunk {chunk}")
        b = np.clip((x2.astype(np.int64) + int(c["in2_off"][0])) << int(c["left"][0]), -(2**31), 2**31 - 1)
        a = np.clip((x1.astype(np.int64) + int(c["in1_off"][0])) << int(c["left"][0]), -(2**31), 2**31 - 1)
        if c["sub"][0]:
            edges += int(np.sum((b == -(2**31)) & (a < 0)))
    assert edges > 100, "the saturation edge was not exercised"


# ---- mul ---------------------------------------------------------------------------------------------------


def random_mul_chunk(rng: np.random.Generator, datapath: str) -> dict:
    rounding, bits = random_mode(rng)
    d1, d2, do = random_shapes(rng)
    k = CASES
    lo, hi = (-12, -5) if datapath == "s8" else (-21, -13)
    mo, sho = scale_array(rng, k, np.exp2(rng.uniform(lo, hi, k)), rounding, bits)
    out_off = random_output_offset(rng, k, datapath)
    act_min, act_max = random_act_range(rng, k, datapath, out_off)
    return dict(
        rounding=rounding,
        bits=bits,
        d1=d1,
        d2=d2,
        do=do,
        x1=random_values(rng, datapath, (k,) + d1),
        x2=random_values(rng, datapath, (k,) + d2),
        in1_off=random_input_offset(rng, k, datapath),
        in2_off=random_input_offset(rng, k, datapath),
        out_off=out_off,
        mo=mo,
        sho=sho,
        act_min=act_min,
        act_max=act_max,
    )


def mul_params(c: dict, k: int, **override):
    fields = {
        "input1": dims(c["d1"]),
        "input2": dims(c["d2"]),
        "output": dims(c["do"]),
        "input1_offset": int(c["in1_off"][k]),
        "input2_offset": int(c["in2_off"][k]),
        "output_offset": int(c["out_off"][k]),
        "output_scale": scale_of(c["mo"][k], c["sho"][k]),
        "act_min": int(c["act_min"][k]),
        "act_max": int(c["act_max"][k]),
        "mode": mode_of(c["rounding"], c["bits"]),
    }
    fields.update(override)
    return ffi.new("fp_mul_params_t *", fields)


def mul_reference(c: dict) -> np.ndarray:
    pc = lambda v: per_case(v, 4)  # noqa: E731
    return mul(
        c["x1"],
        c["x2"],
        input1_offset=pc(c["in1_off"]),
        input2_offset=pc(c["in2_off"]),
        output_offset=pc(c["out_off"]),
        output_scale=(pc(c["mo"]), pc(c["sho"])),
        act_min=pc(c["act_min"]),
        act_max=pc(c["act_max"]),
        rounding=c["rounding"],
        multiplier_bits=c["bits"],
    )


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_mul_random_cases_match_reference(datapath):
    rng = np.random.default_rng([0x3E1, DATAPATHS.index(datapath)])
    for chunk in range(CHUNKS):
        c = random_mul_chunk(rng, datapath)
        got = run_binary("mul", datapath, c, mul_params)
        assert_cases(got, mul_reference(c), lambda k: describe(c, k), f"mul_{datapath} chunk {chunk}")


# ---- leaky relu --------------------------------------------------------------------------------------------


def random_leaky_chunk(rng: np.random.Generator, datapath: str) -> dict:
    rounding, bits = random_mode(rng)
    k = CASES
    size = int(rng.integers(1, 33))
    identity = np.exp2(rng.uniform(-3, 3, k))
    alpha = np.where(rng.random(k) < 0.8, rng.uniform(0.0, 1.0, k), rng.uniform(1.0, 8.0, k))
    mi, shi = scale_array(rng, k, identity, rounding, bits)
    ma, sha = scale_array(rng, k, identity * np.maximum(alpha, 1e-6), rounding, bits)
    ma = np.where(rng.random(k) < 0.05, 0, ma)  # alpha = 0: plain ReLU
    out_off = random_output_offset(rng, k, datapath)
    act_min, act_max = random_act_range(rng, k, datapath, out_off)
    return dict(
        rounding=rounding,
        bits=bits,
        size=size,
        x=random_values(rng, datapath, (k, size)),
        in_off=random_input_offset(rng, k, datapath),
        out_off=out_off,
        mi=mi,
        shi=shi,
        ma=ma,
        sha=sha,
        act_min=act_min,
        act_max=act_max,
    )


def leaky_params(c: dict, k: int, **override):
    fields = {
        "size": c["size"],
        "input_offset": int(c["in_off"][k]),
        "output_offset": int(c["out_off"][k]),
        "identity_scale": scale_of(c["mi"][k], c["shi"][k]),
        "alpha_scale": scale_of(c["ma"][k], c["sha"][k]),
        "act_min": int(c["act_min"][k]),
        "act_max": int(c["act_max"][k]),
        "mode": mode_of(c["rounding"], c["bits"]),
    }
    fields.update(override)
    return ffi.new("fp_leaky_relu_params_t *", fields)


def leaky_reference(c: dict) -> np.ndarray:
    pc = lambda v: per_case(v, 1)  # noqa: E731
    return leaky_relu(
        c["x"],
        input_offset=pc(c["in_off"]),
        output_offset=pc(c["out_off"]),
        identity_scale=(pc(c["mi"]), pc(c["shi"])),
        alpha_scale=(pc(c["ma"]), pc(c["sha"])),
        act_min=pc(c["act_min"]),
        act_max=pc(c["act_max"]),
        rounding=c["rounding"],
        multiplier_bits=c["bits"],
    )


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_leaky_relu_random_cases_match_reference(datapath):
    rng = np.random.default_rng([0x1EA, DATAPATHS.index(datapath)])
    fn = getattr(lib, f"fp_leaky_relu_{datapath}")
    for chunk in range(CHUNKS):
        c = random_leaky_chunk(rng, datapath)
        out = sentinel_output((CASES, c["size"]), DTYPE[datapath])
        for k in range(CASES):
            assert fn(leaky_params(c, k), as_ptr(ffi, c["x"][k]), as_ptr(ffi, out[k])) == FP_OK
        assert_cases(out, leaky_reference(c), lambda k: describe(c, k), f"leaky_relu_{datapath} chunk {chunk}")


# ---- semantics against real numbers ------------------------------------------------------------------------


def tflite_add_params(s1: float, s2: float, s_out: float, left_shift: int) -> dict:
    """TFLite's Prepare for quantized add (double rounding, 32-bit multipliers)."""
    twice_max = 2 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * s_out))
    return dict(input1_scale=scale_of(m1, sh1), input2_scale=scale_of(m2, sh2), output_scale=scale_of(mo, sho))


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_add_and_mul_follow_real_arithmetic(datapath):
    """With TFLite-derived parameters the integer results stay within one output
    step of the exactly rounded real sum / product."""
    rng = np.random.default_rng([0xF10A7, DATAPATHS.index(datapath)])
    lo, hi = TYPE_RANGE[datapath]
    shape = (1, 4, 5, 6)
    for _ in range(50):
        s1, s2 = np.exp2(rng.uniform(-10, -2, 2))
        zp1, zp2, zpo = (0, 0, 0) if datapath == "s16" else (int(v) for v in rng.integers(-128, 128, 3))
        x1 = random_values(rng, datapath, shape)
        x2 = random_values(rng, datapath, shape)
        r1, r2 = (x1.astype(np.float64) - zp1) * s1, (x2.astype(np.float64) - zp2) * s2
        mode = mode_of("double", 32)
        base = {
            "input1": dims(shape),
            "input2": dims(shape),
            "output": dims(shape),
            "input1_offset": -zp1,
            "input2_offset": -zp2,
            "output_offset": zpo,
            "act_min": lo,
            "act_max": hi,
            "mode": mode,
        }
        s_add = float(max(s1, s2) * np.exp2(rng.uniform(0, 2)))
        p = ffi.new(
            "fp_add_params_t *",
            dict(
                base,
                left_shift=20 if datapath == "s8" else 15,
                **tflite_add_params(s1, s2, s_add, 20 if datapath == "s8" else 15),
            ),
        )
        out = np.zeros(shape, DTYPE[datapath])
        assert getattr(lib, f"fp_add_{datapath}")(p, as_ptr(ffi, x1), as_ptr(ffi, x2), as_ptr(ffi, out)) == FP_OK
        want = np.clip(np.round((r1 + r2) / s_add) + zpo, lo, hi)
        assert np.abs(out - want).max() <= 1, "add drifts from the real sum"
        s_mul = float(s1 * s2 * np.exp2(rng.uniform(7, 9) if datapath == "s8" else rng.uniform(15, 17)))
        mm, ms = quantize_multiplier(s1 * s2 / s_mul)
        p = ffi.new("fp_mul_params_t *", dict(base, output_scale=scale_of(mm, ms)))
        assert getattr(lib, f"fp_mul_{datapath}")(p, as_ptr(ffi, x1), as_ptr(ffi, x2), as_ptr(ffi, out)) == FP_OK
        want = np.clip(np.round(r1 * r2 / s_mul) + zpo, lo, hi)
        assert np.abs(out - want).max() <= 1, "mul drifts from the real product"


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_leaky_relu_follows_real_arithmetic(datapath):
    rng = np.random.default_rng([0x1EA1, DATAPATHS.index(datapath)])
    lo, hi = TYPE_RANGE[datapath]
    for alpha in (0.0, 0.01, 0.1, 0.3, 1.0, 2.5):
        s_in, s_out = np.exp2(rng.uniform(-8, -2, 2))
        zp_in, zp_out = (0, 0) if datapath == "s16" else (int(v) for v in rng.integers(-128, 128, 2))
        x = np.arange(lo, hi + 1, 7 if datapath == "s8" else 131).astype(DTYPE[datapath])
        mi, shi = quantize_multiplier(s_in / s_out)
        ma, sha = quantize_multiplier(alpha * s_in / s_out)
        p = ffi.new(
            "fp_leaky_relu_params_t *",
            {
                "size": x.size,
                "input_offset": -zp_in,
                "output_offset": zp_out,
                "identity_scale": scale_of(mi, shi),
                "alpha_scale": scale_of(ma, sha),
                "act_min": lo,
                "act_max": hi,
                "mode": mode_of("double", 32),
            },
        )
        out = np.zeros_like(x)
        assert getattr(lib, f"fp_leaky_relu_{datapath}")(p, as_ptr(ffi, x), as_ptr(ffi, out)) == FP_OK
        real = (x.astype(np.float64) - zp_in) * s_in
        want = np.clip(np.round(np.where(real >= 0, real, alpha * real) / s_out) + zp_out, lo, hi)
        assert np.abs(out - want).max() <= 1, f"alpha={alpha}"


def test_broadcasting_reads_the_right_elements():
    """[1,1,3,1] + [1,2,1,4] -> [1,2,3,4] with identity scales: out[h,w,c] = a[w] + b[h,c]."""
    a = np.array([1, 2, 3], np.int8).reshape(1, 1, 3, 1)
    b = (np.arange(8, dtype=np.int8) * 10).reshape(1, 2, 1, 4)
    half = scale_of(1 << 30, 0)  # 0.5 each, then 2^-19 back: x * 2^20 * 0.5 * 2 / 2^20
    p = ffi.new(
        "fp_add_params_t *",
        {
            "input1": dims(a.shape),
            "input2": dims(b.shape),
            "output": dims((1, 2, 3, 4)),
            "input1_offset": 0,
            "input2_offset": 0,
            "output_offset": 0,
            "left_shift": 20,
            "input1_scale": half,
            "input2_scale": half,
            "output_scale": scale_of(1 << 30, -18),
            "act_min": -128,
            "act_max": 127,
            "mode": mode_of("double", 32),
        },
    )
    out = np.zeros((1, 2, 3, 4), np.int8)
    assert lib.fp_add_s8(p, as_ptr(ffi, a), as_ptr(ffi, b), as_ptr(ffi, out)) == FP_OK
    assert np.array_equal(out, a + b)
    pm = ffi.new(
        "fp_mul_params_t *",
        {
            "input1": dims(a.shape),
            "input2": dims(b.shape),
            "output": dims((1, 2, 3, 4)),
            "input1_offset": 0,
            "input2_offset": 0,
            "output_offset": 0,
            "output_scale": scale_of(1 << 30, 1),
            "act_min": -128,
            "act_max": 127,
            "mode": mode_of("double", 32),
        },
    )
    assert lib.fp_mul_s8(pm, as_ptr(ffi, a), as_ptr(ffi, b), as_ptr(ffi, out)) == FP_OK
    assert np.array_equal(out, np.clip(a.astype(int) * b, -128, 127))


def test_saturation_at_the_activation_range():
    """Largest multiplier and shift: every non-zero result saturates to act_min / act_max."""
    x = np.array([-128, -1, 0, 1, 127], np.int8)
    for rounding, shift in (("double", 31), ("single", 30), ("shift_only", 31)):
        p = ffi.new(
            "fp_leaky_relu_params_t *",
            {
                "size": 5,
                "input_offset": 0,
                "output_offset": 0,
                "identity_scale": scale_of((1 << 31) - 1, shift),
                "alpha_scale": scale_of((1 << 31) - 1, shift),
                "act_min": -100,
                "act_max": 90,
                "mode": mode_of(rounding, 32),
            },
        )
        out = np.zeros(5, np.int8)
        assert lib.fp_leaky_relu_s8(p, as_ptr(ffi, x), as_ptr(ffi, out)) == FP_OK
        assert out.tolist() == [-100, -100, 0, 90, 90], rounding


# ---- parameter errors --------------------------------------------------------------------------------------


def _one_case(make_chunk, datapath: str) -> dict:
    return make_chunk(np.random.default_rng(5), datapath)


BINARY_BAD = [
    ("input1.n = 0", dict(input1={"n": 0, "h": 1, "w": 1, "c": 1})),
    ("output.c = -1", dict(output={"n": 1, "h": 1, "w": 1, "c": -1})),
    (
        "not broadcastable",
        dict(
            input1={"n": 1, "h": 1, "w": 1, "c": 3},
            input2={"n": 1, "h": 1, "w": 1, "c": 2},
            output={"n": 1, "h": 1, "w": 1, "c": 3},
        ),
    ),
    (
        "output larger than both inputs",
        dict(
            input1={"n": 1, "h": 1, "w": 1, "c": 1},
            input2={"n": 1, "h": 1, "w": 1, "c": 1},
            output={"n": 1, "h": 2, "w": 1, "c": 1},
        ),
    ),
    (
        "output smaller than an input",
        dict(
            input1={"n": 1, "h": 1, "w": 1, "c": 2},
            input2={"n": 1, "h": 1, "w": 1, "c": 2},
            output={"n": 1, "h": 1, "w": 1, "c": 1},
        ),
    ),
    (
        "count beyond INT32_MAX",
        dict(
            input1={"n": 1 << 12, "h": 1 << 12, "w": 1 << 8, "c": 1},
            input2={"n": 1, "h": 1, "w": 1, "c": 1},
            output={"n": 1 << 12, "h": 1 << 12, "w": 1 << 8, "c": 1},
        ),
    ),
    ("act_min > act_max", dict(act_min=3, act_max=2)),
]


def _offset_cases(datapath: str, fields: tuple[str, ...], out_field: str) -> list:
    if datapath == "s16":
        return [(f"{f} = 1 on int16", {f: 1}) for f in fields + (out_field,)]
    return []  # every int32 offset of an int8 tensor is legal (tested separately)


def _act_cases(datapath: str) -> list:
    lo, hi = TYPE_RANGE[datapath]
    return [("act_min below the type", dict(act_min=lo - 1)), ("act_max above the type", dict(act_max=hi + 1))]


def _scale_cases(scale_fields: tuple[str, ...]) -> list:
    """One illegal scale (or mode) at a time; the other scales are legal in every mode."""
    cases = []
    for what, (rounding, bits), m, s in bad_scales():
        for f in scale_fields:
            override = {g: scale_of(1, 0) for g in scale_fields}
            override.update({f: scale_of(m, s), "mode": {"rounding": rounding, "multiplier_bits": bits}})
            cases.append((f"{f}: {what}", override))
    return cases


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_add_bad_params_return_err_arg(datapath):
    c = _one_case(random_add_chunk, datapath)
    fn = getattr(lib, f"fp_add_{datapath}")
    x1, x2 = as_ptr(ffi, c["x1"][0]), as_ptr(ffi, c["x2"][0])
    bad = (
        BINARY_BAD
        + _offset_cases(datapath, ("input1_offset", "input2_offset"), "output_offset")
        + _act_cases(datapath)
        + _scale_cases(("input1_scale", "input2_scale", "output_scale"))
        + [
            ("left_shift = -1", dict(left_shift=-1)),
            ("left_shift = 32", dict(left_shift=32)),
            ("subtract = 2", dict(subtract=2)),
            ("subtract = -1", dict(subtract=-1)),
        ]
    )
    out_shape, dt = c["do"], DTYPE[datapath]
    for what, override in bad:
        expect_rejected(lambda out: fn(add_params(c, 0, **override), x1, x2, as_ptr(ffi, out)), out_shape, dt, what)
    p = add_params(c, 0)
    null = ffi.NULL
    expect_rejected(lambda out: fn(null, x1, x2, as_ptr(ffi, out)), out_shape, dt, "NULL params")
    expect_rejected(lambda out: fn(p, null, x2, as_ptr(ffi, out)), out_shape, dt, "NULL input1")
    expect_rejected(lambda out: fn(p, x1, null, as_ptr(ffi, out)), out_shape, dt, "NULL input2")
    assert fn(p, x1, x2, ffi.NULL) == FP_ERR_ARG


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_mul_bad_params_return_err_arg(datapath):
    c = _one_case(random_mul_chunk, datapath)
    fn = getattr(lib, f"fp_mul_{datapath}")
    x1, x2 = as_ptr(ffi, c["x1"][0]), as_ptr(ffi, c["x2"][0])
    bad = (
        BINARY_BAD
        + _offset_cases(datapath, ("input1_offset", "input2_offset"), "output_offset")
        + _act_cases(datapath)
        + _scale_cases(("output_scale",))
    )
    out_shape, dt = c["do"], DTYPE[datapath]
    for what, override in bad:
        expect_rejected(lambda out: fn(mul_params(c, 0, **override), x1, x2, as_ptr(ffi, out)), out_shape, dt, what)
    p = mul_params(c, 0)
    null = ffi.NULL
    expect_rejected(lambda out: fn(null, x1, x2, as_ptr(ffi, out)), out_shape, dt, "NULL params")
    expect_rejected(lambda out: fn(p, null, x2, as_ptr(ffi, out)), out_shape, dt, "NULL input1")
    expect_rejected(lambda out: fn(p, x1, null, as_ptr(ffi, out)), out_shape, dt, "NULL input2")
    assert fn(p, x1, x2, ffi.NULL) == FP_ERR_ARG


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_leaky_relu_bad_params_return_err_arg(datapath):
    c = _one_case(random_leaky_chunk, datapath)
    fn = getattr(lib, f"fp_leaky_relu_{datapath}")
    x = as_ptr(ffi, c["x"][0])
    bad = (
        [("size = 0", dict(size=0)), ("size = -5", dict(size=-5)), ("act_min > act_max", dict(act_min=1, act_max=0))]
        + _offset_cases(datapath, ("input_offset",), "output_offset")
        + _act_cases(datapath)
        + _scale_cases(("identity_scale", "alpha_scale"))
    )
    out_shape, dt = (c["size"],), DTYPE[datapath]
    for what, override in bad:
        expect_rejected(lambda out: fn(leaky_params(c, 0, **override), x, as_ptr(ffi, out)), out_shape, dt, what)
    p = leaky_params(c, 0)
    expect_rejected(lambda out: fn(ffi.NULL, x, as_ptr(ffi, out)), out_shape, dt, "NULL params")
    expect_rejected(lambda out: fn(p, ffi.NULL, as_ptr(ffi, out)), out_shape, dt, "NULL input")
    assert fn(p, x, ffi.NULL) == FP_ERR_ARG
