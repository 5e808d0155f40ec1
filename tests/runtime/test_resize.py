"""fp_resize_s8 / fp_resize_s16 (op resize) against fixpoint.reference.movement.resize.

10,000 random cases per datapath, half nearest and half bilinear: H and W scaled up and down
(1..7 -> 1..14, size-1 dims included), every coordinate transform (asymmetric, half_pixel,
align_corners with ratio (in-1)/(out-1), tf_half_pixel_for_nn for nearest), every nearest
rounding, ratios from sizes and from non-integral scale factors, values over the full type range
(so bilinear's rounding of negative sums and saturation-free convexity are exercised). Plus hand
cases (TFLite's align_corners / half-pixel borders) and every parameter error.
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
from fixpoint.reference.movement import resize

DATAPATHS = ("s8", "s16")
CASES = 10_000  # per datapath
CHUNKS = 4  # split for pytest-xdist


def dims(shape) -> dict:
    n, h, w, c = (int(v) for v in shape)
    return {"n": n, "h": h, "w": w, "c": c}


def params(in_shape, out_shape, c: dict, **override):
    fields = {
        "input": dims(in_shape),
        "output": dims(out_shape),
        "method": c["method"],
        "coord": c["coord"],
        "nearest_mode": c["rounding"],
        "ratio_num": list(c["num"]),
        "ratio_den": list(c["den"]),
    }
    fields.update(override)
    return ffi.new("fp_resize_params_t *", fields)


def random_case(rng: np.random.Generator) -> dict:
    method = int(rng.integers(2))
    coord = int(rng.integers(3 if method else 4))
    in_hw = [1 if rng.random() < 0.15 else int(rng.integers(2, 8)) for _ in range(2)]
    out_hw = [1 if rng.random() < 0.1 else int(rng.integers(2, 15)) for _ in range(2)]
    num, den = [], []
    for i, o in zip(in_hw, out_hw):
        if coord == 2 and o > 1:
            num.append(i - 1), den.append(o - 1)
        elif rng.random() < 0.2:  # a scale factor that is not out / in
            num.append(int(rng.integers(1, 9))), den.append(int(rng.integers(1, 9)))
        else:
            num.append(i), den.append(o)
    return {
        "method": method,
        "coord": coord,
        "rounding": int(rng.integers(4)),
        "in_hw": in_hw,
        "out_hw": out_hw,
        "num": num,
        "den": den,
    }


def run(datapath: str, x: np.ndarray, c: dict) -> np.ndarray:
    out_shape = (x.shape[0], *c["out_hw"], x.shape[3])
    out = sentinel_output(out_shape, DTYPE[datapath])
    fn = getattr(lib, f"fp_resize_{datapath}")
    assert fn(params(x.shape, out_shape, c), as_ptr(ffi, x), as_ptr(ffi, out)) == FP_OK
    return out


def reference(x: np.ndarray, c: dict) -> np.ndarray:
    return resize(
        x,
        out_hw=c["out_hw"],
        method=c["method"],
        coord=c["coord"],
        nearest_mode=c["rounding"],
        ratio_num=c["num"],
        ratio_den=c["den"],
    )


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("datapath", DATAPATHS)
def test_resize_random_cases_match_reference(datapath, chunk):
    rng = np.random.default_rng([0x4E5, DATAPATHS.index(datapath), chunk])
    lo, hi = TYPE_RANGE[datapath]
    for i in range(CASES // CHUNKS):
        c = random_case(rng)
        x = random_values(rng, datapath, (int(rng.integers(1, 3)), *c["in_hw"], int(rng.integers(1, 4))))
        if rng.random() < 0.2:
            x[...] = rng.choice([lo, hi], size=x.shape)  # extremes: bilinear must not wrap
        got, want = run(datapath, x, c), reference(x, c)
        if not np.array_equal(got, want):
            assert_exact(got, want, f"resize_{datapath} case {i}: x{x.shape} {c}")


def _case(method, coord, rounding, in_hw, out_hw, num=None, den=None) -> dict:
    return {
        "method": method,
        "coord": coord,
        "rounding": rounding,
        "in_hw": in_hw,
        "out_hw": out_hw,
        "num": num or in_hw,
        "den": den or out_hw,
    }


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_resize_hand_cases(datapath):
    row = np.array([0, 10, 20, 30], DTYPE[datapath]).reshape(1, 1, 4, 1)
    # nearest x2, asymmetric floor: each pixel twice
    got = run(datapath, row, _case(0, 0, 2, [1, 4], [1, 8]))
    assert got.ravel().tolist() == [0, 0, 10, 10, 20, 20, 30, 30]
    # nearest align_corners, ties up (TFLite: round): 4 -> 7, ratio 3/6 -> 0, .5, 1, 1.5, ...
    got = run(datapath, row, _case(0, 2, 1, [1, 4], [1, 7], [1, 3], [1, 6]))
    assert got.ravel().tolist() == [0, 10, 10, 20, 20, 30, 30]
    # nearest half_pixel ties down (ONNX round_prefer_floor) at 2x: -0.25, 0.25, 0.75, ... -> 0,0,1,1,...
    got = run(datapath, row, _case(0, 1, 0, [1, 4], [1, 8]))
    assert got.ravel().tolist() == [0, 0, 10, 10, 20, 20, 30, 30]
    # bilinear align_corners 4 -> 7: exact midpoints
    got = run(datapath, row, _case(1, 2, 0, [1, 4], [1, 7], [1, 3], [1, 6]))
    assert got.ravel().tolist() == [0, 5, 10, 15, 20, 25, 30]
    # bilinear half_pixel 4 -> 8: borders clamp to the edge pixels, inside 1/4 - 3/4 mixes
    got = run(datapath, row, _case(1, 1, 0, [1, 4], [1, 8]))
    assert got.ravel().tolist() == [0, 3, 8, 13, 18, 23, 28, 30]
    # bilinear rounding half away from zero on negative values
    neg = np.array([-1, -2], DTYPE[datapath]).reshape(1, 1, 2, 1)
    got = run(datapath, neg, _case(1, 2, 0, [1, 2], [1, 3], [1, 1], [1, 2]))
    assert got.ravel().tolist() == [-1, -2, -2]  # -1.5 rounds to -2
    # downscale by 2, asymmetric bilinear: the even pixels
    got = run(datapath, row, _case(1, 0, 0, [1, 4], [1, 2]))
    assert got.ravel().tolist() == [0, 20]


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_resize_bad_params_return_err_arg(datapath):
    x = random_values(np.random.default_rng(3), datapath, (1, 2, 3, 2))
    c = _case(1, 1, 0, [2, 3], [4, 6])
    out_shape = (1, 4, 6, 2)
    fn = getattr(lib, f"fp_resize_{datapath}")
    bad = [
        ("method 2", dict(method=2)),
        ("coord 4", dict(coord=4)),
        ("bilinear coord 3", dict(coord=3)),
        ("nearest_mode -1", dict(nearest_mode=-1)),
        ("ratio_den 0", dict(ratio_den=[0, 6])),
        ("ratio_num -1", dict(ratio_num=[2, -1])),
        ("ratio_num too big", dict(ratio_num=[40000, 3])),
        ("output.c differs", dict(output={**dims(out_shape), "c": 1})),
        ("output.n differs", dict(output={**dims(out_shape), "n": 2})),
        ("input.h = 0", dict(input={**dims(x.shape), "h": 0})),
        ("output.w above 32767", dict(output={**dims(out_shape), "w": 40000})),
    ]
    for what, override in bad:
        expect_rejected(
            lambda out: fn(params(x.shape, out_shape, c, **override), as_ptr(ffi, x), as_ptr(ffi, out)),
            out_shape,
            DTYPE[datapath],
            what,
        )
    expect_rejected(lambda out: fn(ffi.NULL, as_ptr(ffi, x), as_ptr(ffi, out)), out_shape, DTYPE[datapath], "NULL")
    assert fn(params(x.shape, out_shape, c), as_ptr(ffi, x), ffi.NULL) == FP_ERR_ARG
