"""fp_layer_from_regs: the layer an engine runs, decoded from its register file (zero points, clamp,
tables as blob offsets, the engine's requantizer mode); anything out of range is FP_ERR_ARG with the
output untouched."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.sim import native

FIELDS = (
    "op",
    "engine",
    "datapath",
    "w_addr",
    "bias_addr",
    "mult_addr",
    "shift_addr",
    "in_zp",
    "in2_zp",
    "out_zp",
    "w_zp",
    "act_min",
    "act_max",
)
WIDTHS = {
    "op": 8,
    "engine": 2,
    "datapath": 2,
    "in_zp": 16,
    "in2_zp": 16,
    "out_zp": 16,
    "w_zp": 16,
    "act_min": 16,
    "act_max": 16,
}
SIGNED = {"in_zp", "in2_zp", "out_zp", "w_zp", "act_min", "act_max"}


@pytest.fixture()
def setup():
    ffi, lib = native.ffi(), native.lib()
    blob = np.zeros(64, dtype=np.uint8)
    start = (-blob.ctypes.data) % 8
    blob = blob[start : start + 48]
    modes = ffi.new(
        "fp_rq_mode_t[]",
        [
            {"rounding": lib.FP_ROUND_DOUBLE, "multiplier_bits": 32},
            {"rounding": lib.FP_ROUND_HALF_EVEN, "multiplier_bits": 24, "acc_bits": 24, "acc_wrap": 0},
        ],
    )
    regmap = ffi.new(
        "fp_regmap_t *",
        {
            "reg": list(range(len(FIELDS))),
            "width": [WIDTHS.get(f, 32) for f in FIELDS],
            "is_signed": [int(f in SIGNED) for f in FIELDS],
            "n_regs": len(FIELDS),
            "engine_modes": modes,
            "n_engines": 2,
        },
    )
    layer = ffi.new("fp_layer_t *")
    layer.op, layer.datapath = lib.FP_OP_FULLY_CONNECTED, lib.FP_DP_S8
    fc = layer.params.fully_connected
    fc.input_offset, fc.output_offset, fc.filter_offset, fc.act_min, fc.act_max = 3, 4, 0, -100, 100
    words = {
        "op": lib.FP_OP_FULLY_CONNECTED,
        "engine": 1,
        "datapath": lib.FP_DP_S8,
        "w_addr": 8,
        "bias_addr": 16,
        "mult_addr": 24,
        "shift_addr": 32,
        "in_zp": 0xFF80,
        "in2_zp": 0,
        "out_zp": 5,
        "w_zp": 0xFFFF,
        "act_min": 0xFF80,
        "act_max": 0x7F,
    }
    regs = ffi.new("uint32_t[]", [words[f] for f in FIELDS])
    return ffi, lib, blob, regmap, layer, regs, modes


def _decode(ffi, lib, blob, regmap, layer, regs):
    out = ffi.new("fp_layer_t *")
    out.op = 0xEE  # a marker: untouched on error
    status = lib.fp_layer_from_regs(layer, regs, regmap, ffi.from_buffer("uint8_t[]", blob), len(blob), out)
    return status, out


def test_decodes_zero_points_clamp_tables_and_mode(setup):
    ffi, lib, blob, regmap, layer, regs, _ = setup
    status, out = _decode(ffi, lib, blob, regmap, layer, regs)
    assert status == lib.FP_OK
    fc, base = out.params.fully_connected, int(ffi.cast("uintptr_t", ffi.from_buffer("uint8_t[]", blob)))
    assert (fc.input_offset, fc.output_offset, fc.filter_offset, fc.act_min, fc.act_max) == (128, 5, 1, -128, 127)
    addr = [
        int(ffi.cast("uintptr_t", p)) - base for p in (out.weights, out.bias, fc.requant.multiplier, fc.requant.shift)
    ]
    assert addr == [8, 16, 24, 32]
    mode = fc.requant.mode
    assert (mode.rounding, mode.multiplier_bits, mode.acc_bits) == (lib.FP_ROUND_HALF_EVEN, 24, 24)
    # a field the map lacks keeps the layer's value; a zero table offset means no table
    regmap.reg[FIELDS.index("out_zp")] = -1
    regs[FIELDS.index("bias_addr")] = 0
    status, out = _decode(ffi, lib, blob, regmap, layer, regs)
    assert status == lib.FP_OK and out.params.fully_connected.output_offset == 4 and out.bias == ffi.NULL


def test_a_full_width_signed_register_sign_extends(setup):
    ffi, lib, blob, regmap, layer, regs, _ = setup
    k = FIELDS.index("act_min")
    regmap.width[k] = 32
    regs[k] = 0x80000000
    status, out = _decode(ffi, lib, blob, regmap, layer, regs)
    assert status == lib.FP_OK and out.params.fully_connected.act_min == -(2**31)


@pytest.mark.parametrize(
    "field, word",
    [("op", 0), ("datapath", 1), ("engine", 2), ("mult_addr", 12), ("w_addr", 48), ("shift_addr", 0xFFFFFFF8)],
)
def test_registers_out_of_range_are_refused(setup, field, word):
    ffi, lib, blob, regmap, layer, regs, _ = setup
    regs[FIELDS.index(field)] = word
    status, out = _decode(ffi, lib, blob, regmap, layer, regs)
    assert status == lib.FP_ERR_ARG and out.op == 0xEE


def test_a_map_outside_the_register_file_is_refused(setup):
    ffi, lib, blob, regmap, layer, regs, _ = setup
    regmap.reg[FIELDS.index("act_max")] = len(FIELDS)  # one past the file
    assert _decode(ffi, lib, blob, regmap, layer, regs)[0] == lib.FP_ERR_ARG
    regmap.reg[FIELDS.index("act_max")] = FIELDS.index("act_max")
    regmap.width[FIELDS.index("act_max")] = 33
    assert _decode(ffi, lib, blob, regmap, layer, regs)[0] == lib.FP_ERR_ARG
