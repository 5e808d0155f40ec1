"""fp_concat / fp_pad / fp_requantize against the independent Python reference.

10,000 random cases per kernel and type: concat of 1-8 requantized inputs
(some with exact identity scales, which the kernel copies verbatim), constant
pads on every axis, and requantization between int8 and int16.
"""

from __future__ import annotations

import numpy as np
import pytest

from _harness_misc import (
    CTYPE,
    DTYPE,
    FP_ERR_ARG,
    FP_OK,
    TYPE_RANGE,
    as_ptr,
    assert_cases,
    assert_exact,
    bad_scales,
    expect_rejected,
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
from fixpoint.reference.data_movement import concat, pad, requantize
from fixpoint.reference.requant import shift_range

DATAPATHS = ("s8", "s16")
ROUNDING_CODE = {"double": 0, "single": 1, "shift_only": 2}
CASES = 10_000  # per kernel and type
CHUNKS = 4  # concat / pad cases are split for pytest-xdist


def mode_of(rounding: str, bits: int) -> dict:
    return {"rounding": ROUNDING_CODE[rounding], "multiplier_bits": bits}


def scale_of(m, s) -> dict:
    return {"multiplier": int(m), "shift": int(s)}


def identity_scale(rounding: str, bits: int) -> tuple[int, int] | None:
    """A (multiplier, shift) whose requantization is exactly x (None if the mode has none)."""
    if rounding == "shift_only":
        return 0, 0
    if bits < 3:
        return None  # SINGLE / DOUBLE need multiplier 2^(bits-2) with shift 1
    return 1 << (bits - 2), 1


# ---- requantize --------------------------------------------------------------------------------------------

VARIANTS = {"s8_s8": ("s8", "s8", (-3, 3)), "s8_s16": ("s8", "s16", (4, 9)), "s16_s8": ("s16", "s8", (-10, -5))}


def random_requant_chunk(rng: np.random.Generator, variant: str, k: int) -> dict:
    src, dst, (lo_exp, hi_exp) = VARIANTS[variant]
    rounding, bits = random_mode(rng)
    size = int(rng.integers(1, 33))
    m, s = scale_array(rng, k, np.exp2(rng.uniform(lo_exp, hi_exp, k)), rounding, bits)
    out_off = random_output_offset(rng, k, dst)
    act_min, act_max = random_act_range(rng, k, dst, out_off)
    return dict(
        rounding=rounding,
        bits=bits,
        size=size,
        x=random_values(rng, src, (k, size)),
        in_off=random_input_offset(rng, k, src),
        out_off=out_off,
        m=m,
        s=s,
        act_min=act_min,
        act_max=act_max,
    )


def requant_params(c: dict, k: int, **override):
    fields = {
        "size": c["size"],
        "input_offset": int(c["in_off"][k]),
        "output_offset": int(c["out_off"][k]),
        "scale": scale_of(c["m"][k], c["s"][k]),
        "act_min": int(c["act_min"][k]),
        "act_max": int(c["act_max"][k]),
        "mode": mode_of(c["rounding"], c["bits"]),
    }
    fields.update(override)
    return ffi.new("fp_requantize_params_t *", fields)


def requant_reference(c: dict) -> np.ndarray:
    pc = lambda v: per_case(v, 1)  # noqa: E731
    return requantize(
        c["x"],
        input_offset=pc(c["in_off"]),
        output_offset=pc(c["out_off"]),
        scale=(pc(c["m"]), pc(c["s"])),
        act_min=pc(c["act_min"]),
        act_max=pc(c["act_max"]),
        rounding=c["rounding"],
        multiplier_bits=c["bits"],
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_requantize_random_cases_match_reference(variant):
    rng = np.random.default_rng([0x4E0, list(VARIANTS).index(variant)])
    fn = getattr(lib, f"fp_requantize_{variant}")
    dst = VARIANTS[variant][1]
    per_chunk = 100
    for chunk in range(CASES // per_chunk):
        c = random_requant_chunk(rng, variant, per_chunk)
        out = sentinel_output((per_chunk, c["size"]), DTYPE[dst])
        for k in range(per_chunk):
            assert fn(requant_params(c, k), as_ptr(ffi, c["x"][k]), as_ptr(ffi, out[k])) == FP_OK
        assert_cases(out, requant_reference(c), _describer(c), f"requantize_{variant} chunk {chunk}")


def _describer(c: dict):
    """describe(k): case k's parameters, for a failure message."""

    def describe(k: int) -> str:
        return ", ".join(f"{n}={v[k] if isinstance(v, np.ndarray) else v}" for n, v in c.items() if n != "x")

    return describe


@pytest.mark.parametrize("bits", (32, 16, 8, 3))
def test_requantize_rounding_ties(bits):
    """Exact ties k + 1/2. TFLite's DOUBLE rounding has two rounding steps with
    different tie rules: SaturatingRoundingDoublingHighMul rounds ties up
    (toward +inf) and RoundingDivideByPOT away from zero. SINGLE rounds half up,
    SHIFT_ONLY (a rounding shift) half away from zero."""
    odd = np.arange(-127, 128, 2, dtype=np.int8)  # odd / 2: the tie is in the multiplication
    twice_odd = np.arange(-126, 127, 4, dtype=np.int8)  # (4k + 2) / 4: exact product, tie in the shift
    half = 1 << (bits - 2)  # multiplier 0.5
    cases = (
        ("double", (half, 0), odd, "up"),
        ("double", (half, -1), twice_odd, "away"),
        ("single", (half, 0), odd, "up"),
        ("single", (half, -1), twice_odd, "up"),
        ("shift_only", (0, -1), odd, "away"),
        ("shift_only", (0, -2), twice_odd, "away"),
    )
    for rounding, (m, s), x, rule in cases:
        divisor = 2 if x is odd else 4
        floor = np.floor_divide(x.astype(np.int64), divisor)  # k for k + 1/2
        want = floor + 1 if rule == "up" else np.where(x > 0, floor + 1, floor)
        p = ffi.new(
            "fp_requantize_params_t *",
            {
                "size": x.size,
                "input_offset": 0,
                "output_offset": 0,
                "scale": scale_of(m, s),
                "act_min": -128,
                "act_max": 127,
                "mode": mode_of(rounding, bits),
            },
        )
        out = np.zeros_like(x)
        assert lib.fp_requantize_s8_s8(p, as_ptr(ffi, x), as_ptr(ffi, out)) == FP_OK
        assert_exact(out, want, f"{rounding}/{bits} ties of x/{divisor}")
        assert_exact(
            out,
            requantize(
                x,
                input_offset=0,
                output_offset=0,
                scale=(m, s),
                act_min=-128,
                act_max=127,
                rounding=rounding,
                multiplier_bits=bits,
            ),
            f"{rounding}/{bits} reference",
        )


def test_requantize_changes_type_with_offsets():
    """int8 (zero point 3) -> int16 x 128 and back: an exact round trip."""
    x = np.arange(-128, 128, dtype=np.int8)
    up = ffi.new(
        "fp_requantize_params_t *",
        {
            "size": 256,
            "input_offset": -3,
            "output_offset": 0,
            "scale": scale_of(1 << 30, 8),
            "act_min": -32768,
            "act_max": 32767,
            "mode": mode_of("double", 32),
        },
    )
    wide = np.zeros(256, np.int16)
    assert lib.fp_requantize_s8_s16(up, as_ptr(ffi, x), as_ptr(ffi, wide)) == FP_OK
    assert np.array_equal(wide, (x.astype(np.int64) - 3) * 128)
    down = ffi.new(
        "fp_requantize_params_t *",
        {
            "size": 256,
            "input_offset": 0,
            "output_offset": 3,
            "scale": scale_of(1 << 30, -6),
            "act_min": -128,
            "act_max": 127,
            "mode": mode_of("double", 32),
        },
    )
    back = np.zeros(256, np.int8)
    assert lib.fp_requantize_s16_s8(down, as_ptr(ffi, wide), as_ptr(ffi, back)) == FP_OK
    assert np.array_equal(back, x)


# ---- concat ------------------------------------------------------------------------------------------------


def random_concat_chunk(rng: np.random.Generator, datapath: str, k: int) -> list[dict]:
    """``k`` cases sharing a rounding mode; parameters are drawn for the whole chunk at once."""
    rounding, bits = random_mode(rng)
    ident = identity_scale(rounding, bits)
    n_inputs = rng.integers(1, 9, k)
    outer, inner = rng.integers(1, 4, k), rng.integers(1, 5, k)
    axis = rng.integers(1, 4, (k, 8))
    out_off = random_output_offset(rng, k, datapath)
    in_off = random_input_offset(rng, 8 * k, datapath).reshape(k, 8)
    m, s = (v.reshape(k, 8) for v in scale_array(rng, 8 * k, np.exp2(rng.uniform(-2, 2, 8 * k)), rounding, bits))
    if ident is not None:  # exact identities: the kernel's copy path
        copy = rng.random((k, 8)) < 0.4
        m, s = np.where(copy, ident[0], m), np.where(copy, ident[1], s)
        in_off = np.where(copy, -out_off[:, None], in_off)
    cases = []
    for i in range(k):
        n, sizes = int(n_inputs[i]), [int(a) for a in axis[i, : n_inputs[i]]]
        joined = random_values(rng, datapath, (int(outer[i]), sum(sizes), int(inner[i])))
        xs = [np.ascontiguousarray(part) for part in np.split(joined, np.cumsum(sizes)[:-1], axis=1)]
        cases.append(
            dict(
                rounding=rounding,
                bits=bits,
                outer=int(outer[i]),
                inner=int(inner[i]),
                axis=sizes,
                out_off=int(out_off[i]),
                in_off=[int(v) for v in in_off[i, :n]],
                scales=[(int(a), int(b)) for a, b in zip(m[i, :n], s[i, :n])],
                xs=xs,
            )
        )
    return cases


def random_concat_case(rng: np.random.Generator, datapath: str) -> dict:
    return random_concat_chunk(rng, datapath, 1)[0]


def concat_params(c: dict, **override):
    n = len(c["xs"])
    pad8 = lambda v, fill: list(v) + [fill] * (8 - n)  # noqa: E731
    fields = {
        "n_inputs": n,
        "outer": c["outer"],
        "inner": c["inner"],
        "axis_size": pad8(c["axis"], -7),
        "input_offset": pad8(c["in_off"], 1 << 20),
        "input_scale": pad8([scale_of(*sc) for sc in c["scales"]], scale_of(-5, 99)),
        "output_offset": c["out_off"],
        "mode": mode_of(c["rounding"], c["bits"]),
    }
    fields.update(override)
    return ffi.new("fp_concat_params_t *", fields)


def run_concat(datapath: str, c: dict, params=None, inputs=None, out_size: int | None = None):
    """(status, output); unused params slots hold garbage the kernel must ignore."""
    ctype = CTYPE[datapath]
    bufs = [ffi.from_buffer(f"{ctype}[]", x) for x in c["xs"]]
    ptrs = ffi.new(f"{ctype} *[]", bufs) if inputs is None else inputs
    size = out_size if out_size is not None else c["outer"] * sum(c["axis"]) * c["inner"]
    out = sentinel_output((size,), DTYPE[datapath])
    status = getattr(lib, f"fp_concat_{datapath}")(
        params if params is not None else concat_params(c), ptrs, as_ptr(ffi, out)
    )
    return int(status), out


def concat_reference(datapath: str, c: dict) -> np.ndarray:
    lo, hi = TYPE_RANGE[datapath]
    return concat(
        c["xs"],
        outer=c["outer"],
        inner=c["inner"],
        input_offsets=c["in_off"],
        input_scales=c["scales"],
        output_offset=c["out_off"],
        type_min=lo,
        type_max=hi,
        rounding=c["rounding"],
        multiplier_bits=c["bits"],
    )


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("datapath", DATAPATHS)
def test_concat_random_cases_match_reference(datapath, chunk):
    rng = np.random.default_rng([0xCC, DATAPATHS.index(datapath), chunk])
    cases = [c for _ in range(CASES // CHUNKS // 100) for c in random_concat_chunk(rng, datapath, 100)]
    for i, c in enumerate(cases):
        status, got = run_concat(datapath, c)
        assert status == FP_OK, f"case {i}: status {status}"
        want = concat_reference(datapath, c)
        if not np.array_equal(got, want):
            assert_exact(got, want, f"concat_{datapath} case {i}: " + str({k: v for k, v in c.items() if k != "xs"}))


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_concat_identity_inputs_are_copied_verbatim(datapath):
    rng = np.random.default_rng(11)
    for rounding, bits in (("double", 32), ("double", 8), ("single", 32), ("single", 3), ("shift_only", 16)):
        c = random_concat_case(rng, datapath)
        c.update(rounding=rounding, bits=bits, out_off=0 if datapath == "s16" else 17)
        c["in_off"] = [-c["out_off"]] * len(c["xs"])
        c["scales"] = [identity_scale(rounding, bits)] * len(c["xs"])
        status, got = run_concat(datapath, c)
        assert status == FP_OK
        want = np.concatenate([x.reshape(c["outer"], -1) for x in c["xs"]], axis=1).reshape(-1)
        assert_exact(got, want, f"identity {rounding}/{bits}")


def test_concat_near_identity_scales_are_not_copied():
    """Power-of-two scales that are exact only without saturation: with a large
    left shift the kernel must take the requantizing path (and match the reference)."""
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, 256, 1)
    for shift, mult in ((31, 1), (24, 1 << 7), (23, 1 << 8), (2, 1 << 29)):
        for out_off in (0, -100, 100):
            c = dict(
                rounding="double",
                bits=32,
                outer=1,
                inner=1,
                axis=[256],
                out_off=out_off,
                in_off=[-out_off],
                scales=[(mult, shift)],
                xs=[x],
            )
            status, got = run_concat("s8", c)
            assert status == FP_OK
            want = concat_reference("s8", c)
            assert_exact(got, want, f"shift {shift} offset {out_off}")
            if shift == 2:
                assert np.array_equal(got, x.reshape(-1))  # genuinely exact
            if shift == 31:
                assert not np.array_equal(got, x.reshape(-1))  # saturates: not an identity


# ---- pad ---------------------------------------------------------------------------------------------------


def random_pad_case(rng: np.random.Generator, datapath: str) -> dict:
    shape = tuple(int(v) for v in rng.integers(1, 4, 4))
    before = [int(v) if rng.random() < 0.6 else 0 for v in rng.integers(0, 3, 4)]
    after = [int(v) if rng.random() < 0.6 else 0 for v in rng.integers(0, 3, 4)]
    lo, hi = TYPE_RANGE[datapath]
    value = int(rng.choice([lo, hi, 0])) if rng.random() < 0.2 else int(rng.integers(lo, hi + 1))
    return dict(
        x=random_values(rng, datapath, shape),
        before=before,
        out_shape=tuple(s + b + a for s, b, a in zip(shape, before, after)),
        value=value,
    )


def dims(shape) -> dict:
    n, h, w, c = (int(v) for v in shape)
    return {"n": n, "h": h, "w": w, "c": c}


def pad_params(c: dict, **override):
    fields = {
        "input": dims(c["x"].shape),
        "output": dims(c["out_shape"]),
        "pad_before": c["before"],
        "pad_value": c["value"],
    }
    fields.update(override)
    return ffi.new("fp_pad_params_t *", fields)


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("datapath", DATAPATHS)
def test_pad_random_cases_match_reference(datapath, chunk):
    rng = np.random.default_rng([0xBAD, DATAPATHS.index(datapath), chunk])
    fn = getattr(lib, f"fp_pad_{datapath}")
    for i in range(CASES // CHUNKS):
        c = random_pad_case(rng, datapath)
        out = sentinel_output(c["out_shape"], DTYPE[datapath])
        assert fn(pad_params(c), as_ptr(ffi, c["x"]), as_ptr(ffi, out)) == FP_OK
        want = pad(c["x"], pad_before=c["before"], out_shape=c["out_shape"], pad_value=c["value"])
        if not np.array_equal(out, want):
            assert_exact(
                out,
                want,
                f"pad_{datapath} case {i}: x{c['x'].shape} before={c['before']} "
                f"out={c['out_shape']} value={c['value']}",
            )


# ---- parameter errors --------------------------------------------------------------------------------------


def _scale_cases(field: str) -> list:
    return [
        (f"{field}: {what}", {field: scale_of(m, s), "mode": {"rounding": r, "multiplier_bits": b}})
        for what, (r, b), m, s in bad_scales()
    ]


def _offset_cases(src: str, dst: str) -> list:
    cases = []
    if src == "s16":
        cases.append(("input_offset = 1 on int16", dict(input_offset=1)))
    if dst == "s16":
        cases.append(("output_offset = -1 on int16", dict(output_offset=-1)))
    return cases  # every int32 offset of an int8 tensor is legal


@pytest.mark.parametrize("variant", VARIANTS)
def test_requantize_bad_params_return_err_arg(variant):
    src, dst, _ = VARIANTS[variant]
    c = random_requant_chunk(np.random.default_rng(4), variant, 1)
    fn = getattr(lib, f"fp_requantize_{variant}")
    lo, hi = TYPE_RANGE[dst]
    x = as_ptr(ffi, c["x"][0])
    bad = (
        [
            ("size = 0", dict(size=0)),
            ("size = -1", dict(size=-1)),
            ("act_min > act_max", dict(act_min=2, act_max=1)),
            ("act_min below the output type", dict(act_min=lo - 1)),
            ("act_max above the output type", dict(act_max=hi + 1)),
        ]
        + _offset_cases(src, dst)
        + _scale_cases("scale")
    )
    shape, dt = (c["size"],), DTYPE[dst]
    for what, override in bad:
        expect_rejected(lambda out: fn(requant_params(c, 0, **override), x, as_ptr(ffi, out)), shape, dt, what)
    expect_rejected(lambda out: fn(ffi.NULL, x, as_ptr(ffi, out)), shape, dt, "NULL params")
    expect_rejected(lambda out: fn(requant_params(c, 0), ffi.NULL, as_ptr(ffi, out)), shape, dt, "NULL input")
    assert fn(requant_params(c, 0), x, ffi.NULL) == FP_ERR_ARG


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_concat_bad_params_return_err_arg(datapath):
    rng = np.random.default_rng(6)
    c = random_concat_case(rng, datapath)
    while len(c["xs"]) < 2:
        c = random_concat_case(rng, datapath)
    n = len(c["xs"])
    assert run_concat(datapath, c)[0] == FP_OK
    bad = [
        ("n_inputs = 0", dict(n_inputs=0)),
        ("n_inputs = 9", dict(n_inputs=9)),
        ("outer = 0", dict(outer=0)),
        ("inner = -1", dict(inner=-1)),
        ("axis_size[last] = 0", dict(axis_size=c["axis"][:-1] + [0])),
        ("output count beyond INT32_MAX", dict(outer=1 << 20, inner=1 << 12)),
        (
            "axis sizes summing beyond INT32_MAX",
            dict(axis_size=[(1 << 31) - 1] * 8, inner=(1 << 31) - 1, outer=(1 << 31) - 1),
        ),
    ]
    if datapath == "s16":  # int16 zero point 0; any int32 offset is legal on int8
        bad += [
            ("input_offset[1] = 1", dict(input_offset=[c["in_off"][0], 1] + c["in_off"][2:])),
            ("output_offset = 1", dict(output_offset=1)),
        ]
    for what, (r, b), m, s in bad_scales():
        scales = [scale_of(1, 0)] * (n - 1) + [scale_of(m, s)]
        bad.append((f"input_scale[last]: {what}", dict(input_scale=scales, mode={"rounding": r, "multiplier_bits": b})))
    ctype, size = CTYPE[datapath], c["outer"] * sum(c["axis"]) * c["inner"]
    for what, override in bad:
        params = concat_params(c, **override)
        expect_rejected(
            lambda out: getattr(lib, f"fp_concat_{datapath}")(
                params, ffi.new(f"{ctype} *[]", [ffi.from_buffer(f"{ctype}[]", x) for x in c["xs"]]), as_ptr(ffi, out)
            ),
            (size,),
            DTYPE[datapath],
            what,
        )
    keep = [ffi.from_buffer(f"{ctype}[]", x) for x in c["xs"]]
    with_null = ffi.new(f"{ctype} *[]", keep[:-1] + [ffi.NULL])
    for what, kwargs in (
        ("NULL params", dict(params=ffi.NULL)),
        ("NULL inputs", dict(inputs=ffi.NULL)),
        ("NULL inputs[last]", dict(inputs=with_null)),
    ):
        status, out = run_concat(datapath, c, **kwargs)
        assert status == FP_ERR_ARG, what
        assert is_untouched(out), f"{what}: output written on error"
    ptrs = ffi.new(f"{ctype} *[]", keep)
    assert getattr(lib, f"fp_concat_{datapath}")(concat_params(c), ptrs, ffi.NULL) == FP_ERR_ARG


@pytest.mark.parametrize("datapath", DATAPATHS)
def test_pad_bad_params_return_err_arg(datapath):
    c = random_pad_case(np.random.default_rng(8), datapath)
    c.update(
        x=random_values(np.random.default_rng(9), datapath, (2, 2, 2, 2)), before=[1, 0, 1, 0], out_shape=(3, 3, 4, 2)
    )
    fn = getattr(lib, f"fp_pad_{datapath}")
    lo, hi = TYPE_RANGE[datapath]
    x = as_ptr(ffi, c["x"])
    assert fn(pad_params(c), x, as_ptr(ffi, np.zeros(c["out_shape"], DTYPE[datapath]))) == FP_OK
    bad = [
        ("input.n = 0", dict(input=dims((0, 2, 2, 2)))),
        ("output.c = -1", dict(output=dims((3, 3, 4, -1)))),
        ("pad_before[1] = -1", dict(pad_before=[1, -1, 1, 0])),
        ("output too small for input + pad_before", dict(pad_before=[2, 0, 1, 0])),
        ("output smaller than input", dict(output=dims((3, 3, 4, 1)))),
        ("pad_value below the type", dict(pad_value=lo - 1)),
        ("pad_value above the type", dict(pad_value=hi + 1)),
        ("output count beyond INT32_MAX", dict(output=dims((1 << 12, 1 << 12, 1 << 8, 2)))),
    ]
    for what, override in bad:
        expect_rejected(
            lambda out: fn(pad_params(c, **override), x, as_ptr(ffi, out)), c["out_shape"], DTYPE[datapath], what
        )
    expect_rejected(lambda out: fn(ffi.NULL, x, as_ptr(ffi, out)), c["out_shape"], DTYPE[datapath], "NULL params")
    expect_rejected(
        lambda out: fn(pad_params(c), ffi.NULL, as_ptr(ffi, out)), c["out_shape"], DTYPE[datapath], "NULL input"
    )
    assert fn(pad_params(c), x, ffi.NULL) == FP_ERR_ARG


def test_shift_ranges_used_by_the_tests_are_the_documented_ones():
    """bad_scales() probes just outside these ranges."""
    assert shift_range("double", 32) == (-31, 31)
    assert shift_range("single", 32) == (-31, 30)
    assert shift_range("single", 8) == (-55, 6)
    assert shift_range("shift_only", 32) == (-31, 31)
