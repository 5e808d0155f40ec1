"""fp_slice_s8 / fp_slice_s16 (op slice) against fixpoint.reference.movement.slice_.

10,000 random cases per datapath: begin anywhere in each dim, strides -3..3 (never 0; negative
strides walk backwards from begin), output lengths from 1 up to as far as the stride reaches
(so both ends of every dim are hit), size-1 dims frequent, values over the full type range;
plus every parameter error (stride 0, begin or the last index outside the input, bad dims,
NULL pointers), which must return FP_ERR_ARG and leave the output untouched.
"""

from __future__ import annotations

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
from fixpoint.reference.movement import slice_

DATAPATHS = ("s8", "s16")
CASES = 10_000  # per datapath
CHUNKS = 4  # split for pytest-xdist


def dims(shape) -> dict:
    n, h, w, c = (int(v) for v in shape)
    return {"n": n, "h": h, "w": w, "c": c}


def params(in_shape, out_shape, begin_, stride_, **override):
    fields = {"input": dims(in_shape), "output": dims(out_shape), "begin": list(begin_), "stride": list(stride_)}
    fields.update(override)
    return ffi.new("fp_slice_params_t *", fields)


def random_dim(rng: np.random.Generator, size: int) -> tuple[int, int, int]:
    """(begin, stride, length) inside a dim of ``size``."""
    begin = int(rng.choice([0, size - 1])) if rng.random() < 0.3 else int(rng.integers(size))
    stride = int(rng.choice([-3, -2, -1, 1, 2, 3]))
    reach = (size - 1 - begin) // stride + 1 if stride > 0 else begin // -stride + 1
    length = reach if rng.random() < 0.4 else int(rng.integers(1, reach + 1))
    return begin, stride, length


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("datapath", DATAPATHS)
def test_slice_random_cases_match_reference(datapath, chunk):
    rng = np.random.default_rng([0x51C, DATAPATHS.index(datapath), chunk])
    fn = getattr(lib, f"fp_slice_{datapath}")
    lo, hi = TYPE_RANGE[datapath]
    for i in range(CASES // CHUNKS):
        shape = tuple(1 if rng.random() < 0.2 else int(rng.integers(2, 7)) for _ in range(4))
        x = random_values(rng, datapath, shape)
        x.flat[0], x.flat[-1] = lo, hi
        begin, stride, out_shape = zip(*(random_dim(rng, d) for d in shape))
        want = slice_(x, begin=begin, stride=stride, out_shape=out_shape)
        out = sentinel_output(out_shape, DTYPE[datapath])
        assert fn(params(shape, out_shape, begin, stride), as_ptr(ffi, x), as_ptr(ffi, out)) == FP_OK
        if not np.array_equal(out, want):
            assert_exact(
                out, want, f"slice_{datapath} case {i}: x{shape} begin={begin} stride={stride} out={out_shape}"
            )


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_slice_reverses_a_dim_with_stride_minus_one(datapath):
    x = np.arange(24, dtype=DTYPE[datapath]).reshape(1, 2, 3, 4)
    out = sentinel_output(x.shape, DTYPE[datapath])
    fn = getattr(lib, f"fp_slice_{datapath}")
    assert fn(params(x.shape, x.shape, [0, 1, 2, 3], [1, -1, -1, -1]), as_ptr(ffi, x), as_ptr(ffi, out)) == FP_OK
    assert np.array_equal(out, x[:, ::-1, ::-1, ::-1])


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_slice_bad_params_return_err_arg(datapath):
    x = random_values(np.random.default_rng(2), datapath, (1, 4, 4, 3))
    fn = getattr(lib, f"fp_slice_{datapath}")
    out_shape, begin, stride = (1, 2, 2, 3), [0, 1, 0, 0], [1, 2, 2, 1]
    assert slice_(x, begin=begin, stride=stride, out_shape=out_shape).shape == out_shape
    bad = [
        ("stride 0", dict(stride=[1, 0, 2, 1])),
        ("begin < 0", dict(begin=[0, -1, 0, 0])),
        ("begin = dim", dict(begin=[0, 4, 0, 0])),
        ("last index past the end", dict(begin=[0, 2, 0, 0])),
        ("last index before 0", dict(stride=[1, -2, 2, 1])),
        ("output.w = 0", dict(output={**dims(out_shape), "w": 0})),
        ("input.n = -1", dict(input={**dims(x.shape), "n": -1})),
        ("stride overflowing int32 steps", dict(stride=[1, 1 << 30, 2, 1])),
        ("input count beyond INT32_MAX", dict(input={"n": 1 << 16, "h": 1 << 16, "w": 4, "c": 3})),
    ]
    for what, override in bad:
        expect_rejected(
            lambda out: fn(params(x.shape, out_shape, begin, stride, **override), as_ptr(ffi, x), as_ptr(ffi, out)),
            out_shape,
            DTYPE[datapath],
            what,
        )
    expect_rejected(lambda out: fn(ffi.NULL, as_ptr(ffi, x), as_ptr(ffi, out)), out_shape, DTYPE[datapath], "NULL")
    expect_rejected(
        lambda out: fn(params(x.shape, out_shape, begin, stride), ffi.NULL, as_ptr(ffi, out)),
        out_shape,
        DTYPE[datapath],
        "NULL input",
    )
    assert fn(params(x.shape, out_shape, begin, stride), as_ptr(ffi, x), ffi.NULL) == FP_ERR_ARG
