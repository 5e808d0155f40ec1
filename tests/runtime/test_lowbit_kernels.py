"""fp_{conv2d,depthwise_conv2d,fully_connected}_{s2,s1}: ternary / binary weights against the reference.

Random cases reuse each op's generator (tests/runtime/test_<op>.py): a quick subset in ``make test``,
10,000 cases per (op, datapath) in ``make test-all`` (FIXPOINT_ZOO_SAMPLES=all). Every case is also
run through the int8 kernel on the unpacked weights: the packed kernel must give the same bytes.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import test_conv2d
import test_depthwise_conv2d
import test_fully_connected
from fixpoint.reference.lowbit import pack_weights, packed_size, unpack_weights
from kernel_harness import FP_ERR_ARG, FP_OK, assert_exact, is_untouched

MODULES = {"conv2d": test_conv2d, "depthwise_conv2d": test_depthwise_conv2d, "fully_connected": test_fully_connected}
LOWBIT = ("s2", "s1")
GROUP = 25
EXHAUSTIVE = os.environ.get("FIXPOINT_ZOO_SAMPLES") == "all"
# test-all: 4 chunks x 100 groups x 25 = 10,000 cases per (op, datapath); make test: 4 x 3 x 25 = 300
GROUPS_PER_CHUNK = 100 if EXHAUSTIVE else 3
CHUNKS = 4


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("datapath", LOWBIT)
@pytest.mark.parametrize("op", sorted(MODULES))
def test_random_cases_match_reference_and_s8(op, datapath, chunk):
    mod = MODULES[op]
    rng = np.random.default_rng([0x10B, sorted(MODULES).index(op), LOWBIT.index(datapath), chunk])
    for g in range(GROUPS_PER_CHUNK):
        cases = mod.random_group(rng, datapath, GROUP)
        for i, case in enumerate(cases):
            where = f"{op} {datapath} chunk {chunk} group {g} case {i} ({mod.describe(case)})"
            status, got = mod.run_c(datapath, case)
            assert status == FP_OK, f"{where}: status {status}"
            assert_exact(got, mod.reference(datapath, case), where)
            status8, got8 = mod.run_c("s8", case)
            assert status8 == FP_OK
            assert_exact(got, got8, f"{where} vs s8 on the unpacked weights")


@pytest.mark.parametrize("datapath", LOWBIT)
@pytest.mark.parametrize("op", sorted(MODULES))
def test_null_filter_is_an_argument_error(op, datapath):
    mod = MODULES[op]
    case = mod.random_group(np.random.default_rng(7), datapath, 1)[0]
    params = mod.c_params(case)
    from kernel_harness import ffi, lib, sentinel_output

    out = sentinel_output((64,), np.int8)
    fn = getattr(lib, f"fp_{op}_{datapath}")
    x = np.ascontiguousarray(case["x"])
    status = fn(
        params.ptr, ffi.from_buffer("int8_t[]", x), ffi.NULL, ffi.NULL, ffi.from_buffer("int8_t[]", out), ffi.NULL
    )
    assert status == FP_ERR_ARG and is_untouched(out)


def test_packing_layout():
    """Bits are filled from the least significant end; 2-bit codes are two's complement."""
    assert pack_weights([1, -1, 0, 1], "s2", dtype=np.uint8).tolist() == [0b01_00_11_01]
    assert pack_weights([1, -1, 0, 1, -2], "s2", dtype=np.uint8).tolist() == [0b01_00_11_01, 0b10]
    assert pack_weights([1, -1, -1, 1, 1, 1, 1, 1, 1], "s1", dtype=np.uint8).tolist() == [0b11111001, 0b1]
    assert packed_size(9, "s1") == 2 and packed_size(9, "s2") == 3 and packed_size(9, "s4") == 5
    rng = np.random.default_rng(3)
    for dp, values in (("s2", rng.integers(-2, 2, 37)), ("s1", rng.choice([-1, 1], 37))):
        assert np.array_equal(unpack_weights(pack_weights(values, dp), 37, dp), values)
    with pytest.raises(ValueError, match="not a legal s1 weight"):
        pack_weights([1, 0, -1], "s1")
    with pytest.raises(ValueError, match="not a legal s2 weight"):
        pack_weights([2], "s2")
