"""fp_lut_s8 / fp_lut_s16 (runtime op 'lut') against the Python reference (fixpoint.reference.lut).

100 chunks x 100 cases = 10,000 randomized cases per datapath: each case its own table (random
values, or the table of a real function from fixpoint.lut_functions) and input; the edge cases
are the table ends (-128 / 127, -32768 / 32767), segment boundaries and the interpolation's
rounding ties (slope * f + 64 a multiple of 128, negative slopes rounding down).
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
    assert_cases,
    ffi,
    is_untouched,
    lib,
    random_values,
    sentinel_output,
)
from fixpoint.lut_functions import FUNCTIONS, table_s8, table_s16
from fixpoint.reference.lut import lut_s8, lut_s16
from fixpoint.sim import kernels as K

DATAPATHS = ("s8", "s16")
CHUNKS = 100
CASES = 100
ENTRIES = {"s8": 256, "s16": 513}
TABLE_CTYPE = {"s8": "int8_t[]", "s16": "int16_t[]"}


# functions whose parameters have no default (the fusion that makes them always sets them)
FUNCTION_PARAMS = {"x_clip": {"shift": 3.0, "lo": 0.0, "hi": 6.0}}


def random_table(rng: np.random.Generator, datapath: str) -> np.ndarray:
    """Random values, extreme values only, or a real function's table at random quantizations."""
    lo, hi = TYPE_RANGE[datapath]
    u = rng.random()
    if u < 0.3:
        return rng.integers(lo, hi + 1, ENTRIES[datapath]).astype(DTYPE[datapath])
    if u < 0.4:
        return rng.choice([lo, hi, 0, lo + 1, hi - 1], ENTRIES[datapath]).astype(DTYPE[datapath])
    name = str(rng.choice(sorted(FUNCTIONS)))
    params = FUNCTION_PARAMS.get(name, {})
    s_in, s_out = 10 ** rng.uniform(-3, 0), 10 ** rng.uniform(-3, 0)
    if datapath == "s8":
        return table_s8(name, params, s_in / 16, int(rng.integers(-128, 128)), s_out / 16, int(rng.integers(-128, 128)))
    return table_s16(name, params, s_in / 4096, s_out / 4096)


def run_c(datapath: str, x: np.ndarray, table: np.ndarray, out: np.ndarray) -> int:
    keep = ffi.new(TABLE_CTYPE[datapath], table.tolist())
    params = ffi.new("fp_lut_params_t *", {"size": x.size, "table": keep})
    return getattr(lib, f"fp_lut_{datapath}")(params, as_ptr(ffi, x), as_ptr(ffi, out))


def reference(datapath: str, x: np.ndarray, table: np.ndarray) -> np.ndarray:
    return lut_s8(x, table) if datapath == "s8" else lut_s16(x, table)


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_lut_random_cases_match_reference(datapath):
    rng = np.random.default_rng([0x107, DATAPATHS.index(datapath)])
    for chunk in range(CHUNKS):
        size = int(rng.integers(1, 65))
        x = random_values(rng, datapath, (CASES, size))
        tables = np.stack([random_table(rng, datapath) for _ in range(CASES)])
        out = sentinel_output((CASES, size), DTYPE[datapath])
        for k in range(CASES):
            assert run_c(datapath, x[k], tables[k], out[k]) == FP_OK
        want = reference(datapath, x, tables)
        assert_cases(out, want, lambda k: f"x={x[k].tolist()}", f"lut_{datapath} chunk {chunk}")


def test_lut_s8_every_input_and_table_ends():
    x = np.arange(-128, 128, dtype=np.int8)
    table = np.random.default_rng(1).integers(-128, 128, 256).astype(np.int8)
    out = sentinel_output(x.shape, np.int8)
    assert run_c("s8", x, table, out) == FP_OK
    assert np.array_equal(out, table)  # entry 0 is input -128, entry 255 input 127


def test_lut_s16_ends_segments_and_rounding_ties():
    table = np.zeros(513, np.int16)
    table[0], table[1] = -32768, -32767  # slope +1
    table[510], table[511], table[512] = 32767, 32766, 32767
    table[256], table[257] = 100, 99  # slope -1 at input 0..127
    table[300], table[301] = 0, 64  # slope 64: (64 f + 64) / 128 ties at odd f
    x = np.array(
        [
            -32768,
            -32767,
            -32704,
            -32705,
            32767,
            32640,
            32639,
            0,
            63,
            64,
            65,
            127,
            128,
            (300 - 256) * 128 + 1,
            (300 - 256) * 128 + 3,
            (300 - 256) * 128 + 127,
        ],
        dtype=np.int16,
    )
    out = sentinel_output(x.shape, np.int16)
    assert run_c("s16", x, table, out) == FP_OK
    want = lut_s16(x, table)
    assert np.array_equal(out, want)
    # hand-checked: f = 64 on slope +1 rounds up, on slope -1 stays; f = 65 on slope -1 floors to -1
    assert want[0] == -32768 and want[4] == 32767
    assert [int(v) for v in want[7:13]] == [100, 100, 100, 99, 99, 99]
    assert int(lut_s16(np.array([-32768 + 64]), table)[0]) == -32767


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_lut_bad_params_are_rejected_untouched(datapath):
    x = np.zeros(4, DTYPE[datapath])
    out = sentinel_output(x.shape, DTYPE[datapath])
    keep = ffi.new(TABLE_CTYPE[datapath], ENTRIES[datapath])
    fn = getattr(lib, f"fp_lut_{datapath}")
    for fields in ({"size": 4, "table": ffi.NULL}, {"size": 0, "table": keep}, {"size": -3, "table": keep}):
        assert fn(ffi.new("fp_lut_params_t *", fields), as_ptr(ffi, x), as_ptr(ffi, out)) == FP_ERR_ARG
        assert is_untouched(out)
    assert fn(ffi.NULL, as_ptr(ffi, x), as_ptr(ffi, out)) == FP_ERR_ARG


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_lut_sim_wrapper(datapath):
    rng = np.random.default_rng(7)
    x = random_values(rng, datapath, (1, 3, 4, 5))
    table = random_table(rng, datapath)
    got = getattr(K, f"lut_{datapath}")(x, table=table)
    assert np.array_equal(got, reference(datapath, x, table))
    with pytest.raises(K.KernelArgumentError, match="'table'"):
        getattr(K, f"lut_{datapath}")(x, table=table[:-1].copy())
    with pytest.raises(K.KernelArgumentError, match="rounding"):
        getattr(K, f"lut_{datapath}")(x, table=table, rounding="double")
