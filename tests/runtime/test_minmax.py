"""fp_minimum / fp_maximum (runtime ops 'minimum', 'maximum'; s8, s16) against the Python reference.

100 chunks x 100 cases = 10,000 randomized cases per op and datapath: broadcast shapes (a dim of 1
in either input, scalar operands), per-case offsets, rescale registers (power-of-two multipliers
give exact rounding ties), activation ranges and rounding modes.
"""

from __future__ import annotations

import numpy as np
import pytest

from _harness_misc import (
    DTYPE,
    FP_ERR_ARG,
    FP_OK,
    as_ptr,
    assert_cases,
    ffi,
    is_untouched,
    lib,
    per_case,
    random_act_range,
    random_input_offset,
    random_mode,
    random_output_offset,
    random_values,
    scale_array,
    sentinel_output,
)
from fixpoint.reference import lut as ref
from fixpoint.sim import kernels as K
from test_elementwise import describe, dims, mode_of, random_shapes, scale_of

DATAPATHS = ("s8", "s16")
OPS = ("minimum", "maximum")
CHUNKS = 100
CASES = 100


def random_chunk(rng: np.random.Generator, datapath: str) -> dict:
    rounding, bits = random_mode(rng)
    d1, d2, do = random_shapes(rng)
    k = CASES
    ratio1, ratio2 = np.exp2(rng.uniform(-3, 3, k)), np.exp2(rng.uniform(-3, 3, k))
    ratio1 = np.where(rng.random(k) < 0.2, 1.0, ratio1)  # an input already at the output scale
    m1, sh1 = scale_array(rng, k, ratio1, rounding, bits)
    m2, sh2 = scale_array(rng, k, ratio2, rounding, bits)
    out_off = random_output_offset(rng, k, datapath)
    act_min, act_max = random_act_range(rng, k, datapath, out_off)
    return dict(
        rounding=rounding,
        bits=bits,
        d1=d1,
        d2=d2,
        do=do,
        x1=random_values(rng, datapath, (k,) + d1),
        x2=random_values(rng, datapath, (k,) + d2),
        in1_off=random_input_offset(rng, k, datapath),
        in2_off=random_input_offset(rng, k, datapath),
        out_off=out_off,
        m1=m1,
        sh1=sh1,
        m2=m2,
        sh2=sh2,
        act_min=act_min,
        act_max=act_max,
    )


def params(c: dict, k: int, **override):
    fields = {
        "input1": dims(c["d1"]),
        "input2": dims(c["d2"]),
        "output": dims(c["do"]),
        "input1_offset": int(c["in1_off"][k]),
        "input2_offset": int(c["in2_off"][k]),
        "output_offset": int(c["out_off"][k]),
        "input1_scale": scale_of(c["m1"][k], c["sh1"][k]),
        "input2_scale": scale_of(c["m2"][k], c["sh2"][k]),
        "act_min": int(c["act_min"][k]),
        "act_max": int(c["act_max"][k]),
        "mode": mode_of(c["rounding"], c["bits"]),
    }
    fields.update(override)
    return ffi.new("fp_minmax_params_t *", fields)


def reference(op: str, c: dict) -> np.ndarray:
    pc = lambda v: per_case(v, 4)  # noqa: E731
    return getattr(ref, op)(
        c["x1"],
        c["x2"],
        input1_offset=pc(c["in1_off"]),
        input2_offset=pc(c["in2_off"]),
        output_offset=pc(c["out_off"]),
        input1_scale=(pc(c["m1"]), pc(c["sh1"])),
        input2_scale=(pc(c["m2"]), pc(c["sh2"])),
        act_min=pc(c["act_min"]),
        act_max=pc(c["act_max"]),
        rounding=c["rounding"],
        multiplier_bits=c["bits"],
    )


@pytest.mark.parametrize("datapath", DATAPATHS)
@pytest.mark.parametrize("op", OPS)
def test_minmax_random_cases_match_reference(op, datapath):
    rng = np.random.default_rng([0x313, OPS.index(op), DATAPATHS.index(datapath)])
    fn = getattr(lib, f"fp_{op}_{datapath}")
    for chunk in range(CHUNKS):
        c = random_chunk(rng, datapath)
        out = sentinel_output((CASES,) + c["do"], DTYPE[datapath])
        for k in range(CASES):
            status = fn(params(c, k), as_ptr(ffi, c["x1"][k]), as_ptr(ffi, c["x2"][k]), as_ptr(ffi, out[k]))
            assert status == FP_OK
        assert_cases(out, reference(op, c), lambda k: describe(c, k), f"{op}_{datapath} chunk {chunk}")


@pytest.mark.parametrize("op", OPS)
def test_minmax_same_scale_is_exact_min_max(op):
    """Identity rescale (2^30, 1) and equal zero points: plain elementwise min / max, broadcast."""
    x1 = np.arange(-128, 128, dtype=np.int8).reshape(1, 4, 8, 8)
    x2 = np.array([-128, -1, 0, 5, 127, 3, -7, 100], dtype=np.int8).reshape(1, 1, 1, 8)
    one = (1 << 30, 1)
    got = getattr(K, f"{op}_s8")(x1, x2, input1_scale=one, input2_scale=one)
    assert np.array_equal(got, getattr(np, op)(x1, x2))


@pytest.mark.parametrize("datapath", DATAPATHS)
@pytest.mark.parametrize("op", OPS)
def test_minmax_bad_params_rejected_untouched(op, datapath):
    rng = np.random.default_rng(3)
    c = random_chunk(rng, datapath)
    fn = getattr(lib, f"fp_{op}_{datapath}")
    out = sentinel_output(c["do"], DTYPE[datapath])
    bad_dims = dict(c["do"] and {"n": 0, "h": 1, "w": 1, "c": 1})
    for override in (
        {"output": bad_dims},
        {"input1_scale": scale_of(1 << 20, 1000)},
        {"act_min": 5, "act_max": 4},
        {"mode": {"rounding": 7, "multiplier_bits": 32}},
    ):
        status = fn(params(c, 0, **override), as_ptr(ffi, c["x1"][0]), as_ptr(ffi, c["x2"][0]), as_ptr(ffi, out))
        assert status == FP_ERR_ARG and is_untouched(out), override
    if datapath == "s16":
        status = fn(params(c, 0, input1_offset=3), as_ptr(ffi, c["x1"][0]), as_ptr(ffi, c["x2"][0]), as_ptr(ffi, out))
        assert status == FP_ERR_ARG
