"""fp_batch_matmul_s8 / fp_batch_matmul_s16 (op "batch_matmul": ONNX MatMul of two activations)
against fixpoint.reference.attention.batch_matmul.

Random cases per datapath: ranks 2 to 4 with broadcast batch dims, transposed operands (swapped
strides), explicit strided geometries (an operand read out of a larger tensor, as the NCHW / NCL
layouts do), random offsets, scale, rounding mode, register width and activation range; plus
saturating sums, the extreme shapes (depth 1, long depth, single row / column) and rejected
parameters. ``make test`` runs 300 random cases per datapath; ``make test-all``
(``FIXPOINT_KERNEL_CASES=all``) runs 10,000.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from fixpoint.reference.attention import batch_matmul as bmm_ref
from fixpoint.reference.requant import shift_range
from fixpoint.sim import kernels
from fixpoint.sim.kernel_args import KernelArgumentError
from fixpoint.sim.kernels_attention import dense_geometry

ALL = os.environ.get("FIXPOINT_KERNEL_CASES") == "all"
CASES = 10_000 if ALL else 300
TYPES = {"s8": np.int8, "s16": np.int16}
ROUNDINGS = ("double", "single", "shift_only")
BITS = (32, 31, 16, 15, 8)


def _values(rng, dp: str, shape, saturate: bool = False) -> np.ndarray:
    info = np.iinfo(TYPES[dp])
    if saturate:
        return rng.choice([info.min, info.max], size=shape).astype(TYPES[dp])
    return rng.integers(info.min, int(info.max) + 1, size=shape).astype(TYPES[dp])


def _operand_shapes(rng) -> tuple[list[int], list[int]]:
    m, k, n = (int(rng.integers(1, 6)) for _ in range(3))
    if rng.random() < 0.05:
        k = int(rng.integers(64, 300))  # a long depth
    rank_a, rank_b = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    batch = [int(rng.integers(1, 4)) for _ in range(2)]

    def batch_of(rank: int) -> list[int]:
        dims = batch[2 - (rank - 2) :] if rank > 2 else []
        return [1 if rng.random() < 0.25 else d for d in dims]  # broadcast some dims

    return [*batch_of(rank_a), m, k], [*batch_of(rank_b), k, n]


def _scale_kw(rng, dp: str) -> dict:
    rounding, bits = ROUNDINGS[rng.integers(3)], int(BITS[rng.integers(len(BITS))])
    acc = 64 if dp == "s16" else 32
    lo, hi = shift_range(rounding, bits, acc)
    lo32, hi32 = shift_range(rounding, bits, 32)  # the wrapper checks the 32-bit range too
    shift = int(rng.integers(max(lo, lo32, -24), min(hi, hi32, 2) + 1))
    multiplier = int(rng.integers(0, 1 << (bits - 1)))
    return {"output_scale": (multiplier, shift), "rounding": rounding, "multiplier_bits": bits}


def _case(rng, dp: str) -> tuple[np.ndarray, np.ndarray, dict]:
    a_shape, b_shape = _operand_shapes(rng)
    saturate = rng.random() < 0.1
    ta, tb = bool(rng.random() < 0.3), bool(rng.random() < 0.3)
    a_given = a_shape[:-2] + ([a_shape[-1], a_shape[-2]] if ta else a_shape[-2:])
    b_given = b_shape[:-2] + ([b_shape[-1], b_shape[-2]] if tb else b_shape[-2:])
    a, b = _values(rng, dp, a_given, saturate), _values(rng, dp, b_given, saturate)
    kw = _scale_kw(rng, dp)
    info = np.iinfo(TYPES[dp])
    if dp == "s8":
        kw.update(
            input1_offset=int(rng.integers(-128, 129)),
            input2_offset=int(rng.integers(-128, 129)),
            output_offset=int(rng.integers(-128, 128)),
        )
        if rng.random() < 0.05:
            kw.update(input1_offset=int(rng.choice([-255, 255])), input2_offset=int(rng.choice([-255, 255])))
    if rng.random() < 0.3:
        lo = int(rng.integers(info.min, 0))
        kw.update(act_min=lo, act_max=int(rng.integers(lo, int(info.max) + 1)))
    geometry = dense_geometry(a.shape, b.shape, ta, tb)
    if rng.random() < 0.25:  # explicit geometry: the output written with a padded row pitch
        out_shape = geometry.pop("output_shape")
        o4 = [1] * (4 - len(out_shape)) + list(out_shape)
        pitch = o4[3] + int(rng.integers(0, 3))
        total = o4[0] * o4[1] * o4[2] * pitch
        geometry["output_stride"] = [o4[1] * o4[2] * pitch, o4[2] * pitch, pitch, 1]
        kw.update(geometry, output_shape=(total,))
    else:
        kw.update(transpose_a=ta, transpose_b=tb)
    return a, b, kw


def _reference(dp: str, a: np.ndarray, b: np.ndarray, kw: dict) -> np.ndarray:
    info = np.iinfo(TYPES[dp])
    args = {k: v for k, v in kw.items() if k not in ("transpose_a", "transpose_b", "output_shape")}
    if "rows" not in kw:
        geometry = dense_geometry(a.shape, b.shape, kw.get("transpose_a", False), kw.get("transpose_b", False))
        out_shape = geometry.pop("output_shape")
        args.update(geometry)
    else:
        out_shape = kw["output_shape"]
    args.setdefault("act_min", int(info.min))
    args.setdefault("act_max", int(info.max))
    for name in ("input1_offset", "input2_offset", "output_offset"):
        args.setdefault(name, 0)
    flat = bmm_ref(a, b, output_size=int(np.prod(out_shape)), acc64=dp == "s16", **args)
    return flat.reshape(out_shape)


@pytest.mark.parametrize("dp", ["s8", "s16"])
def test_batch_matmul_random_cases_match_reference(dp):
    rng = np.random.default_rng(2024 if dp == "s8" else 4202)
    kernel = getattr(kernels, f"batch_matmul_{dp}")
    for case in range(CASES):
        a, b, kw = _case(rng, dp)
        got = kernel(a, b, **kw)
        want = _reference(dp, a, b, kw)
        if not np.array_equal(got.astype(np.int64), want):
            pytest.fail(
                f"batch_matmul_{dp} case {case}: a {a.shape} b {b.shape} {kw}: "
                f"got {got.ravel()[:8]}, want {want.ravel()[:8]}"
            )


@pytest.mark.parametrize("dp", ["s8", "s16"])
def test_batch_matmul_is_numpy_matmul_at_unit_scale(dp):
    rng = np.random.default_rng(7)
    a = rng.integers(-3, 4, (2, 3, 4, 5)).astype(TYPES[dp])
    b = rng.integers(-3, 4, (3, 5, 6)).astype(TYPES[dp])  # rank 3 broadcast over a's batch
    shift = 1 if dp == "s8" else 0
    mult = 1 << 30 if dp == "s8" else (1 << 31) - 1
    got = getattr(kernels, f"batch_matmul_{dp}")(a, b, output_scale=(mult, shift))
    want = np.matmul(a.astype(np.int64), b.astype(np.int64))
    np.testing.assert_array_equal(got, want)
    got_t = getattr(kernels, f"batch_matmul_{dp}")(
        a, np.ascontiguousarray(np.swapaxes(b, -1, -2)), output_scale=(mult, shift), transpose_b=True
    )
    np.testing.assert_array_equal(got_t, want)


def test_batch_matmul_s8_saturates_sum_and_output():
    a = np.full((1, 2, 4096), 127, np.int8)  # 4096 * 255 * 255 > 2^31: the int32 saturation
    b = np.full((1, 4096, 2), 127, np.int8)
    kw = dict(input1_offset=128, input2_offset=128, output_scale=(1 << 30, 1))
    got = kernels.batch_matmul_s8(a, b, **kw)
    assert np.all(got == 127)
    want = _reference("s8", a, b, kw)
    np.testing.assert_array_equal(got, want)
    got = kernels.batch_matmul_s8(-a - 1, b, **kw)  # (-128 + 128) * ... = 0 -> zero point
    assert np.all(got == 0)


def test_batch_matmul_s16_long_depth_is_exact():
    a = np.full((1, 1, 1 << 12), -32768, np.int16)
    b = np.full((1, 1 << 12, 1), -32768, np.int16)  # sum 2^42: beyond int32, inside int64
    got = kernels.batch_matmul_s16(a, b, output_scale=(1 << 30, -31))
    want = _reference("s16", a, b, {"output_scale": (1 << 30, -31)})
    np.testing.assert_array_equal(got, want)
    assert 0 < int(got[0, 0, 0]) < 32767


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(input1_offset=300), "input1_offset"),
        (dict(output_scale=(1 << 30, 40)), "output_scale"),
        (
            dict(
                rows=2,
                batch=[1, 1],
                depth=3,
                cols=4,
                input1_stride=[0, 0, 3, 1],
                input2_stride=[0, 0, 4, 1],
                output_stride=[0, 0, 4, 1],
                output_shape=(2, 4),
            ),
            None,
        ),
        (
            dict(
                rows=2,
                batch=[1, 1],
                depth=3,
                cols=4,
                input1_stride=[0, 0, 4, 1],
                input2_stride=[0, 0, 4, 1],
                output_stride=[0, 0, 4, 1],
                output_shape=(2, 4),
            ),
            "input1_stride",
        ),
        (
            dict(
                rows=2,
                batch=[1, 1],
                depth=3,
                cols=4,
                input1_stride=[0, 0, 3, -1],
                input2_stride=[0, 0, 4, 1],
                output_stride=[0, 0, 4, 1],
                output_shape=(2, 4),
            ),
            "input1_stride",
        ),
    ],
)
def test_batch_matmul_rejects_bad_parameters_naming_them(bad, message):
    a, b = np.ones((2, 3), np.int8), np.ones((3, 4), np.int8)
    kw = {"output_scale": (1 << 30, 0), **bad}
    if message is None:  # the legal explicit geometry equals the dense one
        np.testing.assert_array_equal(kernels.batch_matmul_s8(a, b, **kw), np.full((2, 4), 2))
        return
    with pytest.raises(KernelArgumentError, match=message):
        kernels.batch_matmul_s8(a, b, **kw)


def test_batch_matmul_s16_rejects_offsets():
    a, b = np.ones((2, 3), np.int16), np.ones((3, 4), np.int16)
    with pytest.raises(KernelArgumentError, match="offset"):
        kernels.batch_matmul_s16(a, b, output_scale=(1 << 30, 0), input1_offset=1)
