"""softmax on any axis (fp_softmax_params_t.inner > 1): fp_softmax_s8 / _s16 / _s8_s16 against the
reference applied to the same elements moved to the last axis.

10,000 random calls per kernel: NHWC-like 2-4-D inputs, a random axis, random TFLite parameters
(for s16 the real LUTs of a random input scale); edges: an axis of length 1, inner = the whole
tensor (axis 0), all-equal vectors, and depth / inner that do not divide the input (rejected).
"""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.reference.softmax import softmax_s8, softmax_s8_s16, softmax_s16
from fixpoint.reference.softmax_params import softmax_s8_params, softmax_s16_params
from fixpoint.sim import kernels
from fixpoint.sim.kernel_args import KernelArgumentError

CASES = 10_000
S16_TABLES = 8  # LUT sets (the tables depend on the input scale only)


def _shape(rng: np.random.Generator) -> tuple[int, ...]:
    return tuple(int(rng.integers(1, 5)) for _ in range(int(rng.integers(2, 5))))


def _values(rng, shape, dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    x = rng.integers(info.min, int(info.max) + 1, size=shape).astype(dtype)
    if rng.random() < 0.05:
        x[...] = x.flat[0]  # all equal: every probability the same
    return x


def _on_last_axis(fn, x: np.ndarray, axis: int, **kw) -> np.ndarray:
    return np.moveaxis(np.asarray(fn(np.moveaxis(x, axis, -1), **kw)), -1, axis)


@pytest.mark.parametrize("kernel", ["softmax_s8", "softmax_s8_s16"])
def test_s8_input_softmax_on_any_axis(kernel):
    rng = np.random.default_rng(7)
    ref = softmax_s8 if kernel == "softmax_s8" else softmax_s8_s16
    for case in range(CASES):
        x = _values(rng, _shape(rng), np.int8)
        axis = int(rng.integers(0, x.ndim))
        p = softmax_s8_params(float(rng.uniform(0.005, 0.5)), 1.0)
        kw = dict(
            input_multiplier=int(p.input_multiplier), input_left_shift=int(p.input_left_shift), diff_min=int(p.diff_min)
        )
        got = getattr(kernels, kernel)(x, axis=axis, **kw)
        want = _on_last_axis(ref, x, axis, **kw)
        assert np.array_equal(got.astype(np.int64), want), f"{kernel} case {case}: shape {x.shape} axis {axis}"


def test_s16_softmax_on_any_axis():
    rng = np.random.default_rng(8)
    tables = [softmax_s16_params(float(s), 1.0) for s in rng.uniform(1e-4, 1e-2, S16_TABLES)]
    for case in range(CASES):
        x = _values(rng, _shape(rng), np.int16)
        axis = int(rng.integers(0, x.ndim))
        p = tables[case % S16_TABLES]
        kw = dict(
            input_multiplier=int(p.input_multiplier),
            input_left_shift=int(p.input_left_shift),
            exp_lut=np.asarray(p.exp_lut, np.int16),
            one_over_one_plus_x_lut=np.asarray(p.one_over_one_plus_x_lut, np.int16),
        )
        got = kernels.softmax_s16(x, axis=axis, **kw)
        want = _on_last_axis(softmax_s16, x, axis, **kw)
        assert np.array_equal(got.astype(np.int64), want), f"softmax_s16 case {case}: shape {x.shape} axis {axis}"


def test_the_last_axis_is_the_existing_kernel_bit_for_bit():
    rng = np.random.default_rng(9)
    x = _values(rng, (3, 2, 4, 5), np.int8)
    p = softmax_s8_params(0.05, 1.0)
    kw = dict(
        input_multiplier=int(p.input_multiplier), input_left_shift=int(p.input_left_shift), diff_min=int(p.diff_min)
    )
    np.testing.assert_array_equal(kernels.softmax_s8(x, axis=3, **kw), kernels.softmax_s8(x, **kw))


@pytest.mark.parametrize("fields", [dict(depth=3, inner=2), dict(depth=4, inner=0)])
def test_depth_and_inner_that_do_not_fit_the_input_are_rejected(fields):
    with pytest.raises(KernelArgumentError):
        kernels.softmax_s8(
            np.zeros((1, 2, 2, 2), np.int8), input_multiplier=1 << 30, input_left_shift=1, diff_min=-10, **fields
        )
