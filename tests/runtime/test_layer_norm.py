"""fp_layer_norm_s8 / fp_layer_norm_s16 (op "layer_norm": ONNX LayerNormalization and the decomposed
pattern) against fixpoint.reference.attention.layer_norm, and the integer rsqrt against math.

Random cases per datapath: any axis (depth / inner), random gamma / beta / epsilon term / offsets /
scale / rounding / register width / activation range; plus constant vectors (variance 0), the
widest vectors (depth 32767, full-scale values), saturating outputs and rejected parameters.
``make test`` runs 300 random cases per datapath; ``make test-all`` (``FIXPOINT_KERNEL_CASES=all``)
runs 10,000.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from fixpoint.reference.attention import layer_norm as ln_ref, ln_rsqrt
from fixpoint.reference.requant import shift_range
from fixpoint.sim import kernels
from fixpoint.sim.kernel_args import KernelArgumentError

ALL = os.environ.get("FIXPOINT_KERNEL_CASES") == "all"
CASES = 10_000 if ALL else 300
TYPES = {"s8": np.int8, "s16": np.int16}
ROUNDINGS = ("double", "single", "shift_only")
BITS = (32, 31, 16, 15, 8)


def _case(rng, dp: str) -> tuple[np.ndarray, dict]:
    info = np.iinfo(TYPES[dp])
    rank = int(rng.integers(1, 5))
    shape = [int(rng.integers(1, 6)) for _ in range(rank)]
    axis = int(rng.integers(-rank, rank))
    if rng.random() < 0.05:
        shape[axis] = int(rng.integers(100, 600))
    x = rng.integers(info.min, int(info.max) + 1, size=shape).astype(TYPES[dp])
    if rng.random() < 0.1:  # a narrow spread: the epsilon term matters
        x = (rng.integers(-2, 3, size=shape) + int(rng.integers(-100, 100))).astype(TYPES[dp])
    if rng.random() < 0.05:
        x = np.full(shape, int(rng.integers(info.min, int(info.max) + 1)), TYPES[dp])
    depth = shape[axis]
    rounding, bits = ROUNDINGS[rng.integers(3)], int(BITS[rng.integers(len(BITS))])
    lo, hi = shift_range(rounding, bits, 64)
    lo32, hi32 = shift_range(rounding, bits, 32)
    sat = rng.random() < 0.1
    s_lo, s_hi = (-20, -4) if sat else (-40, -16)
    shift = int(rng.integers(max(lo, lo32, s_lo), min(hi, hi32, s_hi) + 1))
    kw = dict(
        axis=axis,
        rounding=rounding,
        multiplier_bits=bits,
        output_scale=(int(rng.integers(0, 1 << (bits - 1))), shift),
        gamma=rng.integers(-32767, 32768, depth).astype(np.int16),
        beta=rng.integers(-(1 << 40), 1 << 40, depth).astype(np.int64),
        eps_term=int(rng.choice([0, 1, int(rng.integers(0, 1 << 20)), int(rng.integers(0, 1 << 60))])),
    )
    if rng.random() < 0.05:
        kw["beta"] = rng.choice([-(1 << 46), 1 << 46], depth).astype(np.int64)
    if dp == "s8":
        kw.update(input_offset=int(rng.integers(-255, 256)), output_offset=int(rng.integers(-128, 128)))
    if rng.random() < 0.3:
        a = int(rng.integers(info.min, 0))
        kw.update(act_min=a, act_max=int(rng.integers(a, int(info.max) + 1)))
    return x, kw


def _reference(dp: str, x: np.ndarray, kw: dict) -> np.ndarray:
    info = np.iinfo(TYPES[dp])
    args = {
        "input_offset": 0,
        "output_offset": 0,
        "eps_term": 0,
        "act_min": int(info.min),
        "act_max": int(info.max),
        **kw,
    }
    return ln_ref(x, **args)


@pytest.mark.parametrize("dp", ["s8", "s16"])
def test_layer_norm_random_cases_match_reference(dp):
    rng = np.random.default_rng(99 if dp == "s8" else 199)
    kernel = getattr(kernels, f"layer_norm_{dp}")
    for case in range(CASES):
        x, kw = _case(rng, dp)
        got = kernel(x, **kw)
        want = _reference(dp, x, kw)
        if not np.array_equal(got.astype(np.int64), want):
            pytest.fail(
                f"layer_norm_{dp} case {case}: x {x.shape} axis {kw['axis']} eps {kw['eps_term']} "
                f"scale {kw['output_scale']} {kw['rounding']}/{kw['multiplier_bits']}: "
                f"got {got.ravel()[:8]}, want {want.ravel()[:8]}"
            )


def test_rsqrt_is_within_one_part_in_2_to_29():
    rng = np.random.default_rng(5)
    for v in [1, 2, 3, 4, 5, (1 << 60) + 12345, (1 << 61) + 7, *rng.integers(1, 1 << 62, 200).tolist()]:
        r, shift = ln_rsqrt(int(v))
        approx = r / 2.0 ** (shift + 15)
        assert abs(approx * math.sqrt(v) - 1) < 2.0**-29, v


@pytest.mark.parametrize("dp", ["s8", "s16"])
def test_layer_norm_normalizes_like_float(dp):
    """gamma 1 (16384 with s_gamma 2^-14), beta 0, output scale 1/32 (s8) or 1/2048 (s16): t / 2^15."""
    rng = np.random.default_rng(3)
    info = np.iinfo(TYPES[dp])
    x = rng.integers(info.min // 2, info.max // 2, (4, 64)).astype(TYPES[dp])
    out_frac = 5 if dp == "s8" else 11
    # real factor = 2^-14 * 2^-15 * 2^out_frac = 2^(out_frac - 29): multiplier 2^30 (= 0.5), shift out_frac - 28
    got = getattr(kernels, f"layer_norm_{dp}")(
        x, gamma=np.full(64, 16384, np.int16), beta=np.zeros(64, np.int64), output_scale=(1 << 30, out_frac - 28)
    )
    xf = x.astype(np.float64)
    want = (xf - xf.mean(-1, keepdims=True)) / xf.std(-1, keepdims=True) * 2**out_frac
    assert np.max(np.abs(got - np.clip(np.round(want), info.min, info.max))) <= 1


@pytest.mark.parametrize("dp", ["s8", "s16"])
def test_layer_norm_widest_vectors_and_constant_rows(dp):
    info = np.iinfo(TYPES[dp])
    x = np.where(np.arange(32767) % 2 == 0, info.min, info.max).astype(TYPES[dp]).reshape(1, -1)
    kw = dict(
        gamma=np.full(32767, 32767, np.int16), beta=np.full(32767, -(1 << 46), np.int64), output_scale=(1 << 30, -24)
    )
    if dp == "s8":
        kw["input_offset"] = -255
    np.testing.assert_array_equal(getattr(kernels, f"layer_norm_{dp}")(x, **kw), _reference(dp, x, kw))
    const = np.full((3, 7), 5, TYPES[dp])
    got = getattr(kernels, f"layer_norm_{dp}")(
        const, gamma=np.ones(7, np.int16), beta=np.full(7, 1 << 20, np.int64), output_scale=(1 << 30, -14)
    )
    np.testing.assert_array_equal(got, np.full((3, 7), 32))  # t = 0: only beta remains, 2^20 / 2^15


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(input_offset=256), None),
        (dict(eps_term=-1), "eps_term"),
        (dict(beta=np.full(4, 1 << 47, np.int64)), "beta"),
        (dict(gamma=np.ones(3, np.int16)), "gamma"),
    ],
)
def test_layer_norm_rejects_bad_parameters(bad, message):
    kw = {"gamma": np.ones(4, np.int16), "beta": np.zeros(4, np.int64), "output_scale": (1 << 30, -10), **bad}
    with pytest.raises(KernelArgumentError, match=message):
        kernels.layer_norm_s8(np.zeros((2, 4), np.int8), **kw)
