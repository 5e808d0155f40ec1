"""fp_softmax_s8_s16 (int8 in, int16 out: scale 1/65536, zero point -32768, TFLite's
int8 -> int16 Softmax) against the independent Python reference, plus its properties.

10,000 random kernel calls (1-4 rows each), with the parameters of fp_softmax_s8
(realistic ones from softmax_params, or any legal values); the int16 result must
agree with the int8 kernel on the same rows to within the coarser output step.
"""

from __future__ import annotations

import numpy as np
import pytest

from _harness_misc import FP_ERR_ARG, as_ptr, assert_exact, expect_rejected, ffi, lib, random_values, sentinel_output
from fixpoint.reference import softmax as ref
from fixpoint.reference.softmax_params import softmax_s8_params
from test_softmax import Softmax, describe, random_rows, random_s8_params

CHUNKS = 10
CALLS_PER_CHUNK = 1000
CALLS_PER_BATCH = 50


def run_c(params: Softmax, x: np.ndarray, kernel: str = "s8_s16") -> np.ndarray:
    out = sentinel_output(x.shape, np.int16 if kernel == "s8_s16" else np.int8)
    status = getattr(lib, f"fp_softmax_{kernel}")(params.ptr, as_ptr(ffi, x), as_ptr(ffi, out))
    assert status == 0, f"softmax_{kernel}: status {status}"
    return out


def reference(params: list[Softmax], xs: list[np.ndarray]) -> np.ndarray:
    rows = [x.shape[0] for x in xs]

    def per_row(values) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=np.int64), rows)[:, None]

    return ref.softmax_s8_s16(
        np.concatenate(xs),
        input_multiplier=per_row([p.ptr.input_multiplier for p in params]),
        input_left_shift=per_row([p.ptr.input_left_shift for p in params]),
        diff_min=per_row([p.ptr.diff_min for p in params]),
    )


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_cases_match_reference(chunk):
    rng = np.random.default_rng([0x5F7, 816, chunk])
    for batch in range(CALLS_PER_CHUNK // CALLS_PER_BATCH):
        depth = int(rng.integers(1, 40)) if rng.random() < 0.9 else int(rng.integers(40, 400))
        xs = [random_rows(rng, "s8", depth) for _ in range(CALLS_PER_BATCH)]
        params = [random_s8_params(rng, *x.shape) for x in xs]
        want = reference(params, xs)
        start = 0
        for i, (x, p) in enumerate(zip(xs, params)):
            got, expected = run_c(p, x), want[start : start + x.shape[0]]
            start += x.shape[0]
            if not np.array_equal(got, expected):
                assert_exact(got, expected, f"softmax_s8_s16 batch {batch} call {i} x={x.tolist()} {describe(p)}")
            # the same probability as the int8 kernel, 256 times finer (both round once; an int8
            # 127 may be a clamped 128, i.e. probability 1)
            out8 = run_c(p, x, "s8").astype(np.int64)
            tolerance = np.where(out8 == 127, 128 + 256, 128)
            assert np.all(np.abs((got.astype(np.int64) + 32768) - (out8 + 128) * 256) <= tolerance), describe(p)


def test_close_to_float_softmax():
    rng = np.random.default_rng(0xF16)
    worst = 0.0
    for _ in range(300):
        depth = int(rng.integers(2, 30))
        scale = float(np.exp2(rng.uniform(-6, -2)))
        p = softmax_s8_params(scale)
        x = random_values(rng, "s8", (3, depth))
        prob = (run_c(Softmax(3, depth, p.input_multiplier, p.input_left_shift, p.diff_min), x) + 32768.0) / 65536
        real = x.astype(np.float64) * scale
        exact = np.exp(real - real.max(axis=1, keepdims=True))
        exact /= exact.sum(axis=1, keepdims=True)
        err = np.abs(prob - exact)
        # within two output steps where nothing is dropped by diff_min (dropped taps are 0
        # exactly, their true value being below exp(-31))
        assert err.max() <= 2 / 65536 + 1e-12, f"scale={scale} x={x.tolist()}"
        worst = max(worst, float(err.max()))
    assert worst > 0


def test_edges():
    p = softmax_s8_params(0.5)  # diff_min = -31
    params = Softmax(1, 4, p.input_multiplier, p.input_left_shift, p.diff_min)
    x = np.array([[127, 127 + p.diff_min, 127 + p.diff_min - 1, -128]], np.int8)
    out = run_c(params, x)
    assert out[0, 2] == -32768 and out[0, 3] == -32768  # below diff_min: probability 0
    assert_exact(out, reference([params], [x]), "diff_min")
    one = run_c(Softmax(1, 1, p.input_multiplier, p.input_left_shift, p.diff_min), np.array([[5]], np.int8))
    assert one[0, 0] == 32767  # probability 1 = 65536 - 32768, clamped
    for depth in (2, 4, 256):  # constant rows: exactly 1/depth
        x = np.full((1, depth), -7, np.int8)
        got = run_c(Softmax(1, depth, p.input_multiplier, p.input_left_shift, p.diff_min), x)
        assert np.all(got == 65536 // depth - 32768), f"depth {depth}: {got[0, :3]}"
    long = np.full((1, 5000), 7, np.int8)  # sum of exps saturates, as fp_softmax_s8
    params = Softmax(1, 5000, p.input_multiplier, p.input_left_shift, p.diff_min)
    assert_exact(run_c(params, long), reference([params], [long]), "long row")


def test_bad_params_return_err_arg():
    x = random_values(np.random.default_rng(2), "s8", (2, 5))
    fn, xp = lib.fp_softmax_s8_s16, as_ptr(ffi, x)
    good = dict(rows=2, depth=5, multiplier=1 << 30, left_shift=20, diff_min=-100)
    run_c(Softmax(**good), x)
    bad = [
        ("rows = 0", dict(rows=0)),
        ("depth = 0", dict(depth=0)),
        ("depth = -1", dict(depth=-1)),
        ("rows * depth beyond INT32_MAX", dict(rows=1 << 16, depth=1 << 16)),
        ("negative multiplier", dict(multiplier=-1)),
        ("left_shift = -1", dict(left_shift=-1)),
        ("left_shift = 32", dict(left_shift=32)),
        ("diff_min = 1", dict(diff_min=1)),
    ]
    for what, override in bad:
        params = Softmax(**dict(good, **override))
        expect_rejected(lambda out: fn(params.ptr, xp, as_ptr(ffi, out)), x.shape, np.int16, what)
    params = Softmax(**good)
    expect_rejected(lambda out: fn(ffi.NULL, xp, as_ptr(ffi, out)), x.shape, np.int16, "NULL params")
    expect_rejected(lambda out: fn(params.ptr, ffi.NULL, as_ptr(ffi, out)), x.shape, np.int16, "NULL input")
    assert fn(params.ptr, xp, ffi.NULL) == FP_ERR_ARG
