"""fp_prelu_s8 / fp_prelu_s16 (runtime op 'prelu') against the Python reference.

100 chunks x 100 cases = 10,000 randomized cases per datapath: per-channel or scalar int8 slopes
(including 0, -128, 127 and alpha_offset), offsets, both output multipliers (power-of-two ones
give rounding ties), activation ranges and rounding modes.
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
from fixpoint.reference.lut import prelu
from fixpoint.sim import kernels as K
from test_elementwise import describe, mode_of, scale_of

DATAPATHS = ("s8", "s16")
CHUNKS = 100
CASES = 100


def random_chunk(rng: np.random.Generator, datapath: str) -> dict:
    rounding, bits = random_mode(rng)
    k = CASES
    channels = int(rng.choice([1, int(rng.integers(1, 9))]))
    rows = int(rng.integers(1, 9))
    alpha = rng.integers(-128, 128, (k, channels))
    alpha = np.where(rng.random((k, channels)) < 0.1, rng.choice([-128, 0, 127], (k, channels)), alpha)
    mi, shi = scale_array(rng, k, np.exp2(rng.uniform(-3, 2, k)), rounding, bits)
    ma, sha = scale_array(rng, k, np.exp2(rng.uniform(-10, -3, k)), rounding, bits)
    out_off = random_output_offset(rng, k, datapath)
    act_min, act_max = random_act_range(rng, k, datapath, out_off)
    alpha_off = np.where(rng.random(k) < 0.7, 0, rng.integers(-128, 129, k))
    return dict(
        rounding=rounding,
        bits=bits,
        channels=channels,
        size=rows * channels,
        x=random_values(rng, datapath, (k, rows, channels)),
        alpha=alpha.astype(np.int8),
        in_off=random_input_offset(rng, k, datapath),
        alpha_off=alpha_off,
        out_off=out_off,
        mi=mi,
        shi=shi,
        ma=ma,
        sha=sha,
        act_min=act_min,
        act_max=act_max,
    )


def params(c: dict, k: int, keep: list, **override):
    alpha = ffi.new("int8_t[]", c["alpha"][k].tolist())
    keep.append(alpha)
    fields = {
        "size": c["size"],
        "channels": c["channels"],
        "input_offset": int(c["in_off"][k]),
        "alpha_offset": int(c["alpha_off"][k]),
        "output_offset": int(c["out_off"][k]),
        "identity_scale": scale_of(c["mi"][k], c["shi"][k]),
        "alpha_scale": scale_of(c["ma"][k], c["sha"][k]),
        "act_min": int(c["act_min"][k]),
        "act_max": int(c["act_max"][k]),
        "mode": mode_of(c["rounding"], c["bits"]),
        "alpha": alpha,
    }
    fields.update(override)
    return ffi.new("fp_prelu_params_t *", fields)


def reference(c: dict) -> np.ndarray:
    pc = lambda v: per_case(v, 2)  # noqa: E731
    return prelu(
        c["x"],
        c["alpha"][:, None, :],
        input_offset=pc(c["in_off"]),
        alpha_offset=pc(c["alpha_off"]),
        output_offset=pc(c["out_off"]),
        identity_scale=(pc(c["mi"]), pc(c["shi"])),
        alpha_scale=(pc(c["ma"]), pc(c["sha"])),
        act_min=pc(c["act_min"]),
        act_max=pc(c["act_max"]),
        rounding=c["rounding"],
        multiplier_bits=c["bits"],
    )


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_prelu_random_cases_match_reference(datapath):
    rng = np.random.default_rng([0x9E1, DATAPATHS.index(datapath)])
    fn = getattr(lib, f"fp_prelu_{datapath}")
    for chunk in range(CHUNKS):
        c = random_chunk(rng, datapath)
        out = sentinel_output(c["x"].shape, DTYPE[datapath])
        keep: list = []
        for k in range(CASES):
            assert fn(params(c, k, keep), as_ptr(ffi, c["x"][k]), as_ptr(ffi, out[k])) == FP_OK
        assert_cases(out, reference(c), lambda k: describe(c, k), f"prelu_{datapath} chunk {chunk}")


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_prelu_bad_params_rejected_untouched(datapath):
    c = random_chunk(np.random.default_rng(5), datapath)
    fn = getattr(lib, f"fp_prelu_{datapath}")
    out = sentinel_output(c["x"][0].shape, DTYPE[datapath])
    keep: list = []
    bad = [
        {"alpha": ffi.NULL},
        {"channels": 0},
        {"size": 0},
        {"act_min": 3, "act_max": 2},
        {"identity_scale": scale_of(1 << 20, 1000)},
    ]
    if c["size"] > 1:
        bad.append({"channels": c["size"] + 1})
    for override in bad:
        assert fn(params(c, 0, keep, **override), as_ptr(ffi, c["x"][0]), as_ptr(ffi, out)) == FP_ERR_ARG, override
        assert is_untouched(out)


def test_prelu_sim_wrapper_per_channel_slope():
    rng = np.random.default_rng(11)
    x = rng.integers(-128, 128, (1, 2, 3, 4)).astype(np.int8)
    alpha = np.array([-3, 0, 64, 127], dtype=np.int8)
    kw = dict(input_offset=5, output_offset=-3, identity_scale=(1 << 30, 0), alpha_scale=(1 << 30, -6))
    got = K.prelu_s8(x, alpha=alpha, **kw)
    want = prelu(x, alpha, alpha_offset=0, act_min=-128, act_max=127, **kw)
    assert np.array_equal(got, want)
    with pytest.raises(K.KernelArgumentError, match="'alpha'"):
        K.prelu_s8(x, **kw)
