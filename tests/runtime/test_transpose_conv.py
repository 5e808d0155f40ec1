"""fp_transpose_conv2d_s8 / _s4 / _s16 (op "transpose_conv2d", ONNX ConvTranspose) against
fixpoint.reference.transpose_conv, which scatters as TFLite's reference does (the kernel gathers).

10,000 random cases per datapath: random shapes, groups (half the cases 1, then grouped and
depthwise, with and without a channel multiplier), strides (also larger than the kernel),
dilations, leading pads, output padding (an output larger than the cropped full output), offsets
(int8: zero points and the widest legal input offsets), per-tensor or per-channel registers in
every rounding mode, bias or none; s4 with unpacked and packed weights. Plus rejected arguments.
"""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.reference.int4 import pack_int4
from fixpoint.reference.requant import shift_range
from fixpoint.reference.transpose_conv import transpose_conv2d
from fixpoint.sim import kernels
from fixpoint.sim.kernel_args import KernelArgumentError

CASES = 10_000
ACT = {"s8": np.int8, "s4": np.int8, "s16": np.int16}
BIAS = {"s8": np.int32, "s4": np.int32, "s16": np.int64}
ROUNDINGS = ("double", "single", "shift_only")


def _case(rng: np.random.Generator, dp: str) -> tuple[tuple, dict, dict]:
    n, h, w, cg, og = (int(rng.integers(1, m + 1)) for m in (2, 4, 4, 3, 3))
    u = rng.random()
    groups = 1 if u < 0.5 else (int(rng.integers(2, 4)) if u < 0.8 else int(rng.integers(2, 6)))
    if u >= 0.8:
        cg, og = 1, int(rng.integers(1, 3))  # depthwise (og 1) or depthwise with a multiplier
    c_in, c_out = groups * cg, groups * og
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    geo = {
        "stride_h": int(rng.integers(1, 4)),
        "stride_w": int(rng.integers(1, 4)),
        "dilation_h": int(rng.integers(1, 3)),
        "dilation_w": int(rng.integers(1, 3)),
        "pad_top": int(rng.integers(0, 3)),
        "pad_left": int(rng.integers(0, 3)),
        "groups": groups,
    }
    full_h = (h - 1) * geo["stride_h"] + (kh - 1) * geo["dilation_h"] + 1
    full_w = (w - 1) * geo["stride_w"] + (kw - 1) * geo["dilation_w"] + 1
    # output padding: up to stride - 1 more rows / columns than the cropped full output
    out_h = max(1, full_h - 2 * geo["pad_top"] + int(rng.integers(0, geo["stride_h"])))
    out_w = max(1, full_w - 2 * geo["pad_left"] + int(rng.integers(0, geo["stride_w"])))
    info = np.iinfo(ACT[dp])
    x = rng.integers(info.min, int(info.max) + 1, (n, h, w, c_in)).astype(ACT[dp])
    wlo, whi = (-8, 7) if dp == "s4" else (-127, 127)
    filt = rng.integers(wlo, whi + 1, (c_out, kh, kw, cg)).astype(np.int8)
    bias = None if rng.random() < 0.15 else rng.integers(-(1 << 16), 1 << 16, c_out).astype(BIAS[dp])
    rounding, bits = ROUNDINGS[rng.integers(3)], int(rng.choice([32, 31, 16, 12]))
    lo, hi = shift_range(rounding, bits, 64 if dp == "s16" else 32)
    k = c_out if rng.random() < 0.5 else 1
    mult = rng.integers(1 << (bits - 2), 1 << (bits - 1), k)
    shift = rng.integers(max(lo, -18), min(hi, 0) + 1, k)
    kw_ = dict(
        geo, output_shape=(n, out_h, out_w, c_out), requant=(mult, shift), rounding=rounding, multiplier_bits=bits
    )
    ref = dict(
        geo,
        out_h=out_h,
        out_w=out_w,
        multiplier=mult,
        shift=shift,
        rounding=rounding,
        multiplier_bits=bits,
        datapath=dp,
        act_min=int(info.min),
        act_max=int(info.max),
    )
    if dp != "s16":
        wide = (-128, 128, 255, -255, 16777088, -16777087)
        off_in = int(rng.integers(-127, 129)) if rng.random() < 0.9 else int(rng.choice(wide))
        off_out = int(rng.integers(-128, 128))
        kw_.update(input_offset=off_in, output_offset=off_out)
        ref.update(input_offset=off_in, output_offset=off_out)
    return (x, filt, bias), kw_, ref


@pytest.mark.parametrize("dp", ["s8", "s4", "s16"])
def test_transpose_conv_random_cases_match_reference(dp):
    rng = np.random.default_rng({"s8": 1, "s4": 2, "s16": 3}[dp])
    kernel = getattr(kernels, f"transpose_conv2d_{dp}")
    for case in range(CASES):
        (x, w, b), kw, ref = _case(rng, dp)
        if dp == "s4" and case % 2:  # the packed form of the same weights
            kw["filter_shape"] = w.shape
            got = kernel(x, pack_int4(w.reshape(-1)), b, **kw)
        else:
            got = kernel(x, w, b, **kw)
        want = transpose_conv2d(x, w, b, **ref)
        if not np.array_equal(got, want):
            pytest.fail(f"transpose_conv2d_{dp} case {case}: {ref}")


@pytest.mark.parametrize("dp", ["s8", "s16"])
def test_groups_equal_the_block_diagonal_dense_filter(dp):
    """A grouped transposed convolution is the dense one whose filter is zero between groups: the C
    kernel with groups=g on the [C_out, KH, KW, C_in/g] filter and with groups=1 on the expanded
    [C_out, KH, KW, C_in] filter give the same bytes (the zeros add nothing to the exact sums)."""
    rng = np.random.default_rng({"s8": 4, "s16": 5}[dp])
    kernel = getattr(kernels, f"transpose_conv2d_{dp}")
    info = np.iinfo(ACT[dp])
    for groups, cg, og in ((2, 2, 3), (3, 1, 1), (4, 1, 2), (2, 3, 1)):
        x = rng.integers(info.min, int(info.max) + 1, (2, 3, 4, groups * cg)).astype(ACT[dp])
        w = rng.integers(-127, 128, (groups * og, 3, 2, cg)).astype(np.int8)
        dense = np.zeros((groups * og, 3, 2, groups * cg), np.int8)
        for g in range(groups):
            dense[g * og : (g + 1) * og, :, :, g * cg : (g + 1) * cg] = w[g * og : (g + 1) * og]
        kw = dict(stride_h=2, stride_w=3, pad_top=1, requant=(1 << 30, -6))
        if dp == "s8":
            kw.update(input_offset=3, output_offset=-5)
        got = kernel(x, w, None, groups=groups, **kw)
        assert np.array_equal(got, kernel(x, dense, None, **kw)), (groups, cg, og)
        assert len(np.unique(got)) > 10


def test_default_output_shape_crops_pads_on_both_sides():
    x = np.ones((1, 3, 3, 1), np.int8)
    w = np.ones((2, 2, 2, 1), np.int8)
    out = kernels.transpose_conv2d_s8(x, w, None, stride_h=2, stride_w=2, requant=(1 << 30, 1))
    assert out.shape == (1, 6, 6, 2)  # stride 2 = kernel 2: every output pixel has exactly one tap
    assert np.all(out == 1)
    out = kernels.transpose_conv2d_s8(
        x, np.ones((2, 1, 1, 1), np.int8), None, stride_h=3, stride_w=3, requant=(1 << 30, 1)
    )
    assert out.shape == (1, 7, 7, 2) and int(out.sum()) == 2 * 9  # stride > kernel: holes stay 0


def test_scratch_sizes():
    x, w = np.zeros((1, 2, 2, 3), np.int8), np.zeros((4, 3, 2, 3), np.int8)
    assert kernels.transpose_conv2d_s8_scratch_size(x, w, None, requant=(1 << 30, 0)) == 0
    assert kernels.transpose_conv2d_s4_scratch_size(x, w, None, requant=(1 << 30, 0)) == 3 * 2 * 3


@pytest.mark.parametrize(
    "bad, says",
    [
        (dict(filter=np.zeros((2, 3, 3, 4), np.int8)), "filter"),
        (dict(groups=2), "groups=2"),  # C_in 3 is not a multiple of 2
        (dict(groups=3, filter=np.zeros((2, 3, 3, 1), np.int8)), "groups=3"),  # C_out 2 is not
        (dict(groups=0), "groups"),
        (dict(input_offset=1 << 25), "input_offset"),
        (dict(pad_top=5), "pads crop"),
    ],
)
def test_bad_arguments_are_named(bad, says):
    x = np.zeros((1, 2, 2, 3), np.int8)
    w = bad.pop("filter", np.zeros((2, 3, 3, 3), np.int8))
    with pytest.raises(KernelArgumentError, match=says):
        kernels.transpose_conv2d_s8(x, w, None, requant=(1 << 30, 0), **bad)


def test_s16_with_an_int32_bias_is_refused():
    with pytest.raises(KernelArgumentError, match="bias"):
        kernels.transpose_conv2d_s16(
            np.zeros((1, 2, 2, 1), np.int16),
            np.zeros((1, 1, 1, 1), np.int8),
            np.zeros(1, np.int32),
            requant=(1 << 30, 0),
        )
