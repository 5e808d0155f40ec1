"""fp_layer_from_regs: the layer an engine runs, decoded from its register file (zero points, clamp,
tables as blob offsets, the engine's requantizer mode, the geometry of conv / pool layers); anything
out of range is FP_ERR_ARG with the output untouched."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.sim import native

GEOMETRY = (
    "in_h",
    "in_w",
    "in_c",
    "out_h",
    "out_w",
    "out_c",
    "k_h",
    "k_w",
    "stride_h",
    "stride_w",
    "dilation_h",
    "dilation_w",
    "pad_top",
    "pad_left",
)
#: register words of the geometry: none equals the struct value of _geometry_layer
GEOMETRY_WORDS = {"in_h": 9, "in_w": 8, "in_c": 4, "out_h": 5, "out_w": 4, "out_c": 6, "k_h": 2, "k_w": 3}
GEOMETRY_WORDS.update(stride_h=2, stride_w=3, dilation_h=2, dilation_w=3, pad_top=2, pad_left=1)
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
    *GEOMETRY,
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
    **{f: 16 for f in GEOMETRY[:6]},
    **{f: 8 for f in GEOMETRY[6:]},
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
        **GEOMETRY_WORDS,
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


#: (op enumerator, params union member) of the ops whose params hold the geometry registers
GEOMETRY_OPS = [
    ("FP_OP_CONV2D", "conv2d"),
    ("FP_OP_DEPTHWISE_CONV2D", "depthwise_conv2d"),
    ("FP_OP_TRANSPOSE_CONV2D", "transpose_conv2d"),
    ("FP_OP_MAX_POOL", "pool"),
    ("FP_OP_AVG_POOL", "pool"),
]


def _geometry_layer(ffi, lib, regs, op, member):
    """A layer of `op` whose geometry differs from GEOMETRY_WORDS in every field, with the OP
    register naming it; a 3x3 window (more taps than the registers' 2x3)."""
    layer = ffi.new("fp_layer_t *")
    layer.op, layer.datapath = getattr(lib, op), lib.FP_DP_S8
    regs[FIELDS.index("op")] = layer.op
    p = getattr(layer.params, member)
    p.input, p.output = {"n": 1, "h": 3, "w": 3, "c": 2}, {"n": 1, "h": 3, "w": 3, "c": 2}
    p.stride_h = p.stride_w = 1
    p.pad_top = p.pad_left = 0
    if member == "pool":
        p.filter_h = p.filter_w = 3
    else:
        p.filter = {"n": 7, "h": 3, "w": 3, "c": 2}
        p.dilation_h = p.dilation_w = 1
    return layer, p


def _geometry(p, member):
    """The decoded params' geometry, keyed like GEOMETRY_WORDS."""
    got = {f"in_{a}": getattr(p.input, a) for a in "hwc"} | {f"out_{a}": getattr(p.output, a) for a in "hwc"}
    got |= {f: getattr(p, f) for f in ("stride_h", "stride_w", "pad_top", "pad_left")}
    if member == "pool":
        return got | {"k_h": p.filter_h, "k_w": p.filter_w}
    return got | {"k_h": p.filter.h, "k_w": p.filter.w, "dilation_h": p.dilation_h, "dilation_w": p.dilation_w}


@pytest.mark.parametrize("op, member", GEOMETRY_OPS)
def test_decodes_the_geometry_of_conv_and_pool_layers(setup, op, member):
    ffi, lib, blob, regmap, _, regs, _ = setup
    layer, _ = _geometry_layer(ffi, lib, regs, op, member)
    status, out = _decode(ffi, lib, blob, regmap, layer, regs)
    assert status == lib.FP_OK
    p = getattr(out.params, member)
    want = {f: w for f, w in GEOMETRY_WORDS.items() if member != "pool" or not f.startswith("dilation")}
    assert _geometry(p, member) == want
    # what the map does not carry stays the layer's: batch, the filter's channel dims
    assert (p.input.n, p.output.n) == (1, 1)
    if member != "pool":
        assert (p.filter.n, p.filter.c) == (7, 2)
    # absent geometry registers keep the struct's values
    for f in GEOMETRY:
        regmap.reg[FIELDS.index(f)] = -1
    status, out = _decode(ffi, lib, blob, regmap, layer, regs)
    assert status == lib.FP_OK and _geometry(getattr(out.params, member), member) == _geometry(
        getattr(layer.params, member), member
    )


def test_geometry_registers_leave_other_ops_alone(setup):
    """A fully connected layer holds sizes, not these registers' quantities: nothing is decoded."""
    ffi, lib, blob, regmap, layer, regs, _ = setup
    fc = layer.params.fully_connected
    fc.batches, fc.depth, fc.out_channels = 1, 12, 3
    status, out = _decode(ffi, lib, blob, regmap, layer, regs)
    got = out.params.fully_connected
    assert status == lib.FP_OK and (got.batches, got.depth, got.out_channels) == (1, 12, 3)


@pytest.mark.parametrize("op, member", GEOMETRY_OPS[:3])
def test_a_window_larger_than_the_weight_table_is_refused(setup, op, member):
    """K_H x K_W with more taps than the layer's filter would read past its weight table, which no
    kernel can check: refused. As many taps (a 3x1 window of a 1x3 filter) decode."""
    ffi, lib, blob, regmap, _, regs, _ = setup
    layer, p = _geometry_layer(ffi, lib, regs, op, member)
    p.filter.h, p.filter.w = 1, 3
    regs[FIELDS.index("k_h")], regs[FIELDS.index("k_w")] = 3, 1
    status, out = _decode(ffi, lib, blob, regmap, layer, regs)
    got = getattr(out.params, member).filter
    assert status == lib.FP_OK and (got.h, got.w) == (3, 1)
    regs[FIELDS.index("k_w")] = 2
    status, out = _decode(ffi, lib, blob, regmap, layer, regs)
    assert status == lib.FP_ERR_ARG and out.op == 0xEE


def _conv_geometry(regs, **changed):
    """Registers of a valid 1x5x5x2 -> 1x5x5x3 3x3 conv (stride 1, pad 1), `changed` applied."""
    words = {"in_h": 5, "in_w": 5, "in_c": 2, "out_h": 5, "out_w": 5, "out_c": 3, "k_h": 3, "k_w": 3}
    words.update(stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, pad_top=1, pad_left=1)
    words.update(changed)
    for f, w in words.items():
        regs[FIELDS.index(f)] = w


@pytest.mark.parametrize(
    "changed", [{}, {"stride_w": 0}, {"dilation_h": 0}, {"in_c": 3}, {"out_c": 4}, {"k_h": 0}, {"in_h": 0}]
)
def test_a_decoded_geometry_the_kernel_rejects_is_fp_err_arg(setup, changed):
    """The decode passes a geometry on; the conv kernel refuses an inconsistent one (FP_ERR_ARG)."""
    ffi, lib, blob, regmap, _, regs, _ = setup
    layer, p = _geometry_layer(ffi, lib, regs, "FP_OP_CONV2D", "conv2d")
    p.filter, p.groups, p.act_min, p.act_max = {"n": 3, "h": 3, "w": 3, "c": 2}, 1, -128, 127
    p.requant.n = 1
    blob.view(np.int32)[6] = 1 << 20  # MULT_ADDR 24: a legal multiplier; SHIFT_ADDR 32: shift 0
    _conv_geometry(regs, **changed)
    status, out = _decode(ffi, lib, blob, regmap, layer, regs)
    assert status == lib.FP_OK
    conv = out.params.conv2d
    n_in, n_out = (max(1, d.h * d.w * d.c) for d in (conv.input, conv.output))
    x, y = ffi.new("int8_t[]", n_in), ffi.new("int8_t[]", n_out)
    w, b = ffi.new("int8_t[]", 3 * 3 * 3 * 2), ffi.new("int32_t[]", 3)
    scratch = ffi.new("uint8_t[]", max(1, lib.fp_conv2d_s8_scratch_size(ffi.addressof(conv))))
    status = lib.fp_conv2d_s8(ffi.addressof(conv), x, w, b, y, scratch)
    assert status == (lib.FP_ERR_ARG if changed else lib.FP_OK)
