"""fp_pad_s8 / fp_pad_s16 reflect (mode 1), edge (mode 2) and wrap (mode 3) pads against
fixpoint.reference.data_movement.pad (numpy's "reflect" / "edge" / "wrap").

10,000 random cases per datapath and mode: pads on every dim (N included) up to dim - 1 for reflect,
up to 3 for edge, up to 2 * dim + 1 for wrap (more than one period), size-1 dims, values over the
full type range; plus the parameter errors specific to the modes (unknown mode, reflect pads
reaching beyond the dim).
"""

from __future__ import annotations

import numpy as np
import pytest

from _harness_misc import (
    DTYPE,
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
from fixpoint.reference.data_movement import pad

DATAPATHS = ("s8", "s16")
MODES = {"reflect": 1, "edge": 2, "wrap": 3}
CASES = 10_000  # per datapath and mode
CHUNKS = 2


def dims(shape) -> dict:
    n, h, w, c = (int(v) for v in shape)
    return {"n": n, "h": h, "w": w, "c": c}


def params(x_shape, out_shape, before, mode, **override):
    fields = {
        "input": dims(x_shape),
        "output": dims(out_shape),
        "pad_before": list(before),
        "pad_value": 0,
        "mode": mode,
    }
    fields.update(override)
    return ffi.new("fp_pad_params_t *", fields)


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("datapath", DATAPATHS)
def test_reflect_edge_and_wrap_pads_match_reference(datapath, mode, chunk):
    rng = np.random.default_rng([0xED6E, DATAPATHS.index(datapath), MODES[mode], chunk])
    fn = getattr(lib, f"fp_pad_{datapath}")
    lo, hi = TYPE_RANGE[datapath]
    for i in range(CASES // CHUNKS):
        shape = tuple(1 if rng.random() < 0.2 else int(rng.integers(2, 5)) for _ in range(4))
        x = random_values(rng, datapath, shape)
        x.flat[0], x.flat[-1] = lo, hi
        top = [d - 1 if mode == "reflect" else (2 * d + 1 if mode == "wrap" else 3) for d in shape]
        before = [int(rng.integers(0, t + 1)) for t in top]
        after = [int(rng.integers(0, t + 1)) for t in top]
        out_shape = tuple(d + b + a for d, b, a in zip(shape, before, after))
        out = sentinel_output(out_shape, DTYPE[datapath])
        assert fn(params(shape, out_shape, before, MODES[mode]), as_ptr(ffi, x), as_ptr(ffi, out)) == FP_OK
        want = pad(x, pad_before=before, out_shape=out_shape, pad_value=0, mode=MODES[mode])
        if not np.array_equal(out, want):
            assert_exact(out, want, f"pad_{datapath} {mode} case {i}: x{shape} before={before} out={out_shape}")


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_mode_errors_return_err_arg(datapath):
    x = random_values(np.random.default_rng(5), datapath, (1, 3, 3, 2))
    fn = getattr(lib, f"fp_pad_{datapath}")
    bad = [
        ("mode 4", (1, 5, 5, 2), [0, 1, 1, 0], 4),
        ("mode -1", (1, 5, 5, 2), [0, 1, 1, 0], -1),
        ("wrap output smaller than input + pad_before", (1, 4, 5, 2), [0, 2, 1, 0], 3),
        ("reflect before = dim", (1, 6, 3, 2), [0, 3, 0, 0], 1),
        ("reflect after = dim", (1, 6, 3, 2), [0, 0, 0, 0], 1),
        ("reflect on a size-1 dim", (2, 3, 3, 2), [1, 0, 0, 0], 1),
    ]
    for what, out_shape, before, mode in bad:
        expect_rejected(
            lambda out: fn(params(x.shape, out_shape, before, mode), as_ptr(ffi, x), as_ptr(ffi, out)),
            out_shape,
            DTYPE[datapath],
            what,
        )
