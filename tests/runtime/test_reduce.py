"""fp_reduce_s8 / fp_reduce_s16 (op "reduce": ReduceSum / ReduceMean / ReduceMax) against
fixpoint.reference.reduce.

10,000 random cases per datapath: random NHWC shapes, a random subset of reduced axes
(none, some, all), kind sum (random offsets, scale, rounding mode, activation range) or max,
plus the edges: reduce over every axis, rounding ties (scale exactly 1/2), the widest int8
offsets, a saturating sum, and rejected parameters naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.reference.reduce import reduce as reduce_ref
from fixpoint.reference.requant import shift_range
from fixpoint.sim import kernels
from fixpoint.sim.kernel_args import KernelArgumentError

CASES = 10_000
TYPES = {"s8": np.int8, "s16": np.int16}
ROUNDINGS = ("double", "single", "shift_only")
BITS = (32, 31, 16, 15, 8)


def _random_case(rng: np.random.Generator, dp: str) -> tuple[np.ndarray, dict]:
    info = np.iinfo(TYPES[dp])
    shape = tuple(int(rng.integers(1, m + 1)) for m in (2, 4, 4, 5))
    x = rng.integers(info.min, int(info.max) + 1, size=shape).astype(TYPES[dp])
    axes = [a for a in range(4) if rng.random() < 0.5]
    kw: dict = {"axes": axes}
    lo = int(rng.integers(info.min, info.min + (int(info.max) - info.min) // 3))
    hi = int(rng.integers(int(info.max) - (int(info.max) - info.min) // 3, int(info.max) + 1))
    kw.update(act_min=lo, act_max=hi)
    if rng.random() < 0.25:
        kw["kind"] = "max"
        return x, kw
    rounding, bits = ROUNDINGS[rng.integers(3)], int(BITS[rng.integers(len(BITS))])
    s_lo, s_hi = shift_range(rounding, bits, 32)
    shift = int(rng.integers(max(s_lo, -20), min(s_hi, 4) + 1))
    multiplier = int(rng.integers(0, 1 << (bits - 1)))
    if rng.random() < 0.1:  # an exact 1/2: sums of odd values tie
        multiplier, shift = 1 << (bits - 2), 0 if rounding != "shift_only" else -1
    kw.update(kind="sum", scale=(multiplier, shift), rounding=rounding, multiplier_bits=bits)
    if dp == "s8":
        wide = (-128, 128, 255, -255, 1 << 20)
        kw["input_offset"] = int(rng.integers(-127, 129)) if rng.random() < 0.9 else int(rng.choice(wide))
        kw["output_offset"] = int(rng.integers(-128, 128))
    return x, kw


def _reference(x: np.ndarray, kw: dict) -> np.ndarray:
    out_shape = tuple(1 if a in kw["axes"] else d for a, d in enumerate(x.shape))
    args = {k: v for k, v in kw.items() if k != "axes"}
    return reduce_ref(x, out_shape=out_shape, **args)


@pytest.mark.parametrize("dp", ["s8", "s16"])
def test_reduce_random_cases_match_reference(dp):
    rng = np.random.default_rng(1234 if dp == "s8" else 4321)
    kernel = getattr(kernels, f"reduce_{dp}")
    for case in range(CASES):
        x, kw = _random_case(rng, dp)
        got = kernel(x, **kw)
        want = _reference(x, kw)
        if not np.array_equal(got.astype(np.int64), want):
            pytest.fail(
                f"reduce_{dp} case {case}: {kw} shape {x.shape}: got {got.ravel()[:8]}, want {want.ravel()[:8]}"
            )


@pytest.mark.parametrize("dp", ["s8", "s16"])
def test_reduce_over_every_axis_and_keepdims_shapes(dp):
    x = np.arange(2 * 3 * 4 * 5, dtype=TYPES[dp]).reshape(2, 3, 4, 5) - 60
    got = getattr(kernels, f"reduce_{dp}")(x, axes=[0, 1, 2, 3], kind="max")
    assert got.shape == (1, 1, 1, 1) and int(got[0, 0, 0, 0]) == int(x.max())
    x = (x // 16).astype(TYPES[dp])  # sums of 12 stay inside int8
    got = getattr(kernels, f"reduce_{dp}")(x, output_shape=(2, 1, 1, 5), kind="sum", scale=(1 << 30, 1))
    np.testing.assert_array_equal(got, x.astype(np.int64).sum(axis=(1, 2), keepdims=True))


def test_reduce_rounding_ties_follow_tflite_double_rounding():
    # scale 1/2 (multiplier 2^30, shift 0): SaturatingRoundingDoublingHighMul rounds ties toward
    # +infinity, so sums -3, -1, 1, 3 -> -1, 0, 1, 2
    x = np.array([-3, -1, 1, 3], np.int8).reshape(1, 1, 1, 4)
    got = kernels.reduce_s8(x, axes=[], kind="sum", scale=(1 << 30, 0))
    np.testing.assert_array_equal(got.ravel(), [-1, 0, 1, 2])


def test_reduce_s8_sum_saturates_to_int32_before_requant():
    x = np.full((1, 4, 4, 1), 127, np.int8)
    kw = dict(axes=[1, 2], kind="sum", input_offset=1 << 27, scale=(1 << 30, -20), act_min=-128, act_max=127)
    np.testing.assert_array_equal(kernels.reduce_s8(x, **kw).astype(np.int64), _reference(x, kw))


@pytest.mark.parametrize(
    "bad, name",
    [
        (dict(axes=[1], kind="mean"), "kind"),
        (dict(axes=[5], kind="sum"), "axes"),
        (dict(output_shape=(1, 2, 2, 2), kind="sum"), "output_shape"),
    ],
)
def test_reduce_bad_arguments_name_the_argument(bad, name):
    x = np.zeros((1, 3, 3, 2), np.int8)
    with pytest.raises(KernelArgumentError, match=name):
        kernels.reduce_s8(x, **bad)


def test_reduce_s16_rejects_nonzero_offsets():
    with pytest.raises(KernelArgumentError, match="input_offset"):
        kernels.reduce_s16(np.zeros((1, 2, 2, 1), np.int16), axes=[1], kind="sum", input_offset=3)
