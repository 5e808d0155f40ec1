"""fp_max_pool / fp_avg_pool (s8, s16) against the independent Python reference.

10,000 random cases per datapath, each run through both kernels: shapes,
filter sizes (up to global and larger than the input), strides, paddings
(windows partly in the padding), output sizes and activation ranges vary.
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
from fixpoint.reference.pooling import avg_pool, max_pool

DATAPATHS = ("s8", "s16")
KINDS = ("max_pool", "avg_pool")
REFERENCE = {"max_pool": max_pool, "avg_pool": avg_pool}
CHUNKS = 10
CASES_PER_CHUNK = 1000


def dims(shape) -> dict:
    n, h, w, c = (int(v) for v in shape)
    return {"n": n, "h": h, "w": w, "c": c}


def random_axis(rng: np.random.Generator, size: int) -> tuple[int, int, int, int]:
    """(filter, stride, pad_before, out) along one axis with every window
    touching the input (the kernel's contract)."""
    u = rng.random()
    if u < 0.1:
        filt = size  # global
    elif u < 0.15:
        filt = size + int(rng.integers(1, 3))  # larger than the input (padding needed)
    else:
        filt = int(rng.integers(1, 5))
    stride = int(rng.integers(1, 4))
    pad = int(rng.integers(0, filt)) if rng.random() < 0.5 else 0
    pad_after = int(rng.integers(0, filt)) if rng.random() < 0.5 else 0
    natural = (size + pad + pad_after - filt) // stride + 1
    most = (size + pad + stride - 1) // stride  # last window must start inside the input
    out = natural if (1 <= natural <= most and rng.random() < 0.8) else int(rng.integers(1, most + 1))
    return filt, stride, pad, out


def random_case(rng: np.random.Generator, datapath: str) -> dict:
    n, h, w, c = int(rng.integers(1, 3)), int(rng.integers(1, 8)), int(rng.integers(1, 8)), int(rng.integers(1, 5))
    fh, sh, pt, oh = random_axis(rng, h)
    fw, sw, pl, ow = random_axis(rng, w)
    lo, hi = TYPE_RANGE[datapath]
    act_min, act_max = (lo, hi) if rng.random() < 0.7 else sorted(int(v) for v in rng.integers(lo, hi + 1, 2))
    return dict(
        x=random_values(rng, datapath, (n, h, w, c)),
        filter_h=fh,
        filter_w=fw,
        stride_h=sh,
        stride_w=sw,
        pad_top=pt,
        pad_left=pl,
        out_h=oh,
        out_w=ow,
        act_min=act_min,
        act_max=act_max,
    )


def pool_params(case: dict, **override):
    n, h, w, c = case["x"].shape
    fields = {
        "input": dims((n, h, w, c)),
        "output": dims((n, case["out_h"], case["out_w"], c)),
        "filter_h": case["filter_h"],
        "filter_w": case["filter_w"],
        "stride_h": case["stride_h"],
        "stride_w": case["stride_w"],
        "pad_top": case["pad_top"],
        "pad_left": case["pad_left"],
        "act_min": case["act_min"],
        "act_max": case["act_max"],
    }
    fields.update(override)
    return ffi.new("fp_pool_params_t *", fields)


def out_shape(case: dict) -> tuple[int, int, int, int]:
    n, _, _, c = case["x"].shape
    return n, case["out_h"], case["out_w"], c


def run_c(kind: str, datapath: str, case: dict) -> np.ndarray:
    out = sentinel_output(out_shape(case), DTYPE[datapath])
    status = getattr(lib, f"fp_{kind}_{datapath}")(pool_params(case), as_ptr(ffi, case["x"]), as_ptr(ffi, out))
    assert status == FP_OK, f"{kind}_{datapath}: status {status} for {describe(case)}"
    return out


def reference(kind: str, case: dict) -> np.ndarray:
    return REFERENCE[kind](case["x"], **{k: v for k, v in case.items() if k != "x"})


def describe(case: dict) -> str:
    return f"x{case['x'].shape} " + " ".join(f"{k}={v}" for k, v in case.items() if k != "x")


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("datapath", DATAPATHS)
def test_random_cases_match_reference(datapath, chunk):
    rng = np.random.default_rng([0x9001, DATAPATHS.index(datapath), chunk])
    for i in range(CASES_PER_CHUNK):
        case = random_case(rng, datapath)
        for kind in KINDS:
            got, want = run_c(kind, datapath, case), reference(kind, case)
            if not np.array_equal(got, want):
                assert_exact(got, want, f"{kind}_{datapath} case {i} ({describe(case)})")


def _case(x, **kw) -> dict:
    base = dict(
        filter_h=1,
        filter_w=1,
        stride_h=1,
        stride_w=1,
        pad_top=0,
        pad_left=0,
        out_h=x.shape[1],
        out_w=x.shape[2],
        act_min=-128,
        act_max=127,
    )
    base.update(kw)
    return dict(x=x, **base)


def test_average_rounds_half_away_from_zero():
    """Windows of two taps: k + 1/2 rounds to k + 1 for k >= 0 and to k for k < 0."""
    pairs = np.array([[1, 2], [-1, -2], [0, 1], [-1, 0], [2, 5], [-2, -5], [126, 127], [-128, -127]], np.int8)
    x = pairs.reshape(1, 8, 2, 1)
    case = _case(x, filter_w=2, out_w=1)
    got = run_c("avg_pool", "s8", case).reshape(-1)
    assert got.tolist() == [2, -2, 1, -1, 4, -4, 127, -128]
    assert_exact(got, reference("avg_pool", case).reshape(-1), "ties")


def test_padding_taps_take_no_part():
    """3x3 windows with one pixel of padding: the max of all -100 is -100, the
    mean of a corner (4 taps) and of an edge (6 taps) divides by the in-input taps."""
    x = np.full((1, 3, 3, 1), -100, np.int8)
    case = _case(x, filter_h=3, filter_w=3, pad_top=1, pad_left=1, act_min=-128, act_max=127)
    assert run_c("max_pool", "s8", case).reshape(-1).tolist() == [-100] * 9
    assert run_c("avg_pool", "s8", case).reshape(-1).tolist() == [-100] * 9
    x = np.arange(9, dtype=np.int8).reshape(1, 3, 3, 1)  # corner (0,0): taps 0,1,3,4 -> 2
    case = _case(x, filter_h=3, filter_w=3, pad_top=1, pad_left=1)
    got = run_c("avg_pool", "s8", case).reshape(3, 3)
    assert got[0, 0] == 2 and got[0, 1] == 3 and got[1, 1] == 4  # (0+1+2+3+4+5)/6 = 2.5 -> 3


def test_activation_range_clamps():
    x = np.array([-128, -50, 0, 50, 127], np.int8).reshape(1, 1, 5, 1)
    for kind in KINDS:
        got = run_c(kind, "s8", _case(x, act_min=-10, act_max=20)).reshape(-1)
        assert got.tolist() == [-10, -10, 0, 20, 20], kind


def test_large_window_sum_beyond_int32():
    """A 300x300 int16 global average: the sum exceeds int32 (TFLite would
    overflow); the kernel's int64 sum gives the exact mean."""
    x = np.full((1, 300, 300, 2), 32767, np.int16)
    x[0, :, :, 1] = -32768
    x[0, 0, 0, 1] = -32767 + 150  # mean -32768 + 151/90000 -> -32768
    case = _case(x, filter_h=300, filter_w=300, out_h=1, out_w=1, act_min=-32768, act_max=32767)
    got = run_c("avg_pool", "s16", case).reshape(-1)
    assert got.tolist() == [32767, -32768]
    assert_exact(got, reference("avg_pool", case).reshape(-1), "global s16")
    assert run_c("max_pool", "s16", case).reshape(-1).tolist() == [32767, -32767 + 150]


def test_extreme_window_geometry():
    """Filters, paddings and strides near INT32_MAX: window positions are formed
    in int64, so only the single in-input tap is read."""
    big = (1 << 31) - 1
    x = np.array([[[[-7], [3]], [[5], [9]]]], np.int8)  # 1x2x2x1
    for kind in KINDS:
        case = _case(
            x,
            filter_h=big,
            filter_w=big,
            pad_top=big - 1,
            pad_left=big - 1,
            stride_h=big,
            stride_w=big,
            out_h=1,
            out_w=1,
        )
        assert run_c(kind, "s8", case).reshape(-1).tolist() == [-7], kind
        case = _case(x, filter_h=1, filter_w=1, stride_h=big, stride_w=big, out_h=1, out_w=1)
        assert run_c(kind, "s8", case).reshape(-1).tolist() == [-7], kind


def _bad_overrides(datapath: str, case: dict) -> list[tuple[str, dict]]:
    n, h, w, c = case["x"].shape
    lo, hi = TYPE_RANGE[datapath]
    out = dims(out_shape(case))
    return [
        ("input.h = 0", dict(input=dims((n, 0, w, c)))),
        ("input.c = -1", dict(input=dims((n, h, w, -1)))),
        ("output.w = 0", dict(output=dict(out, w=0))),
        ("output.n != input.n", dict(output=dict(out, n=n + 1))),
        ("output.c != input.c", dict(output=dict(out, c=c + 1))),
        (
            "input count beyond INT32_MAX",
            dict(input=dims((1 << 12, 1 << 12, 1 << 8, 1)), output=dims((1 << 12, 1, 1, 1))),
        ),
        ("filter_h = 0", dict(filter_h=0)),
        ("filter_w = -1", dict(filter_w=-1)),
        ("stride_h = 0", dict(stride_h=0)),
        ("stride_w = -2", dict(stride_w=-2)),
        ("pad_top = -1", dict(pad_top=-1)),
        ("pad_left = filter_w", dict(pad_left=case["filter_w"])),
        ("pad_top = filter_h", dict(pad_top=case["filter_h"])),
        ("last row window outside the input", dict(output=dict(out, h=(h + case["pad_top"]) // case["stride_h"] + 2))),
        (
            "last column window outside the input",
            dict(output=dict(out, w=(w + case["pad_left"]) // case["stride_w"] + 2)),
        ),
        ("huge stride overflowing int32 positions", dict(stride_h=1 << 30, output=dict(out, h=4))),
        ("act_min > act_max", dict(act_min=5, act_max=4)),
        ("act_min below the type", dict(act_min=lo - 1)),
        ("act_max above the type", dict(act_max=hi + 1)),
    ]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("datapath", DATAPATHS)
def test_bad_params_return_err_arg(datapath, kind):
    case = _case(
        random_values(np.random.default_rng(3), datapath, (2, 5, 6, 3)),
        filter_h=3,
        filter_w=2,
        stride_h=2,
        stride_w=2,
        pad_top=1,
        pad_left=1,
        out_h=3,
        out_w=3,
        act_min=TYPE_RANGE[datapath][0],
        act_max=TYPE_RANGE[datapath][1],
    )
    fn = getattr(lib, f"fp_{kind}_{datapath}")
    x = as_ptr(ffi, case["x"])
    shape, dt = out_shape(case), DTYPE[datapath]
    run_c(kind, datapath, case)  # the unmodified case is legal
    for what, override in _bad_overrides(datapath, case):
        expect_rejected(lambda out: fn(pool_params(case, **override), x, as_ptr(ffi, out)), shape, dt, what)
    expect_rejected(lambda out: fn(ffi.NULL, x, as_ptr(ffi, out)), shape, dt, "NULL params")
    expect_rejected(lambda out: fn(pool_params(case), ffi.NULL, as_ptr(ffi, out)), shape, dt, "NULL input")
    assert fn(pool_params(case), x, ffi.NULL) == FP_ERR_ARG
