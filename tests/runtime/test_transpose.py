"""fp_transpose_s8 / fp_transpose_s16 (op transpose) against fixpoint.reference.movement.transpose.

10,000 random cases per datapath: every permutation of the 4 stored dims (the 24 are drawn
uniformly, identity included), dims 1..5 with size-1 dims frequent, values over the full type
range incl. both ends; plus every parameter error (non-permutations, bad dims, NULL pointers),
which must return FP_ERR_ARG and leave the output untouched.
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
    assert_exact,
    expect_rejected,
    ffi,
    lib,
    random_values,
    sentinel_output,
)
from fixpoint.reference.movement import transpose

DATAPATHS = ("s8", "s16")
CASES = 10_000  # per datapath
CHUNKS = 4  # split for pytest-xdist
PERMS = list(itertools.permutations(range(4)))


def dims(shape) -> dict:
    n, h, w, c = (int(v) for v in shape)
    return {"n": n, "h": h, "w": w, "c": c}


def params(shape, perm_, **override):
    fields = {"input": dims(shape), "perm": list(perm_)}
    fields.update(override)
    return ffi.new("fp_transpose_params_t *", fields)


def random_shape(rng: np.random.Generator) -> tuple[int, ...]:
    return tuple(1 if rng.random() < 0.25 else int(rng.integers(2, 6)) for _ in range(4))


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("datapath", DATAPATHS)
def test_transpose_random_cases_match_reference(datapath, chunk):
    rng = np.random.default_rng([0x7A5, DATAPATHS.index(datapath), chunk])
    fn = getattr(lib, f"fp_transpose_{datapath}")
    lo, hi = TYPE_RANGE[datapath]
    for i in range(CASES // CHUNKS):
        x = random_values(rng, datapath, random_shape(rng))
        x.flat[0], x.flat[-1] = lo, hi  # both type ends pass unchanged
        perm = PERMS[int(rng.integers(len(PERMS)))]
        want = transpose(x, perm=perm)
        out = sentinel_output(want.shape, DTYPE[datapath])
        assert fn(params(x.shape, perm), as_ptr(ffi, x), as_ptr(ffi, out)) == FP_OK
        if not np.array_equal(out, want):
            assert_exact(out, want, f"transpose_{datapath} case {i}: x{x.shape} perm={perm}")


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_transpose_every_permutation_of_distinct_dims(datapath):
    """Dims 2, 3, 4, 5: a wrong stride shows as a wrong element for every permutation."""
    x = np.arange(120, dtype=DTYPE[datapath]).reshape(2, 3, 4, 5)
    fn = getattr(lib, f"fp_transpose_{datapath}")
    for perm in PERMS:
        out = sentinel_output(x.transpose(perm).shape, DTYPE[datapath])
        assert fn(params(x.shape, perm), as_ptr(ffi, x), as_ptr(ffi, out)) == FP_OK
        assert np.array_equal(out, x.transpose(perm)), perm


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_transpose_bad_params_return_err_arg(datapath):
    x = random_values(np.random.default_rng(1), datapath, (1, 2, 3, 4))
    fn = getattr(lib, f"fp_transpose_{datapath}")
    bad = [
        ("perm repeats an axis", dict(perm=[0, 1, 1, 3])),
        ("perm has 4", dict(perm=[0, 1, 2, 4])),
        ("perm has -1", dict(perm=[-1, 1, 2, 3])),
        ("input.h = 0", dict(input={**dims(x.shape), "h": 0})),
        ("input.c = -3", dict(input={**dims(x.shape), "c": -3})),
        ("count beyond INT32_MAX", dict(input={"n": 1, "h": 1 << 16, "w": 1 << 16, "c": 1})),
    ]
    for what, override in bad:
        expect_rejected(
            lambda out: fn(params(x.shape, [0, 2, 1, 3], **override), as_ptr(ffi, x), as_ptr(ffi, out)),
            (1, 3, 2, 4),
            DTYPE[datapath],
            what,
        )
    expect_rejected(lambda out: fn(ffi.NULL, as_ptr(ffi, x), as_ptr(ffi, out)), x.shape, DTYPE[datapath], "NULL params")
    expect_rejected(
        lambda out: fn(params(x.shape, [0, 1, 2, 3]), ffi.NULL, as_ptr(ffi, out)),
        x.shape,
        DTYPE[datapath],
        "NULL input",
    )
    assert fn(params(x.shape, [0, 1, 2, 3]), as_ptr(ffi, x), ffi.NULL) == FP_ERR_ARG
