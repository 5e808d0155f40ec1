"""fixpoint.sim.kernels: every wrapper against the reference, and every kind of bad argument."""

from __future__ import annotations

import re

import numpy as np
import pytest

from fixpoint.reference import data_movement, elementwise, lut, movement, pooling, reduce, softmax
from fixpoint.reference.conv import conv2d
from fixpoint.reference.depthwise import depthwise_conv2d
from fixpoint.reference.fully_connected import fully_connected
from fixpoint.reference.transpose_conv import transpose_conv2d
from fixpoint.reference.requant import requant32, requant64
from fixpoint.reference.softmax_params import softmax_s8_params, softmax_s16_params
from fixpoint.sim import kernels as K
from fixpoint.sim.kernels import KERNEL_SPECS as ALL_SPECS, KERNELS, KernelArgumentError
from fixpoint.reference.lowbit import WEIGHT_RANGE

from sim_asserts import assert_exact

CASES_PER_KERNEL = 25
# lstm_s8 / gru_s8 take (x, weights, bias) and a sequence, batch_matmul_* two operands with strides
# and layer_norm_* gamma/beta vectors: none of the families below. Their wrappers, bad arguments
# included, are tested in tests/runtime/test_lstm.py, test_gru.py, test_batch_matmul.py, test_layer_norm.py.
OWN_TESTS = ("lstm", "gru", "batch_matmul", "layer_norm")
KERNEL_SPECS = {name: spec for name, spec in ALL_SPECS.items() if spec.op not in OWN_TESTS}
RANGE = {np.dtype(np.int8): (-128, 127), np.dtype(np.int16): (-32768, 32767)}


def ints(rng, shape, dtype, lo=None, hi=None):
    dlo, dhi = RANGE[np.dtype(dtype)]
    return rng.integers(dlo if lo is None else lo, (dhi if hi is None else hi) + 1, shape).astype(dtype)


def pair(rng, lo, hi, bits=32):
    return int(rng.integers(1 << (bits - 3), 1 << (bits - 1))), int(rng.integers(lo, hi + 1))


def make_case(spec, rng):
    """(args, kwargs, reference output) for one random legal call of ``spec``."""
    act, s16 = spec.in_dtype, spec.datapath.startswith("s16")
    zp = (lambda: 0) if s16 else (lambda: int(rng.integers(-10, 11)))
    rq = {"rounding": str(rng.choice(["double", "single", "shift_only"])), "multiplier_bits": int(rng.choice([32, 16]))}
    mbits = rq["multiplier_bits"]
    if spec.family == "weighted":
        c_in, c_out, k = int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 4))
        wlo, whi = WEIGHT_RANGE.get(spec.datapath, (-127, 127))
        if spec.op == "fully_connected":
            x, w = ints(rng, (2, c_in * 3), act), ints(rng, (c_out, c_in * 3), np.int8, wlo, whi)
        elif spec.op in ("conv2d", "transpose_conv2d"):
            x, w = ints(rng, (1, 5, 4, c_in), act), ints(rng, (c_out, k, k, c_in), np.int8, wlo, whi)
        else:
            mult = int(rng.integers(1, 3))
            c_out = c_in * mult
            x, w = ints(rng, (1, 5, 4, c_in), act), ints(rng, (1, k, k, c_out), np.int8, wlo, whi)
        if spec.datapath == "s1":  # binary weights have no 0
            w = np.where(w == 0, 1, w).astype(np.int8)
        bias = rng.integers(-3000, 3000, c_out).astype(np.int64 if spec.datapath == "s16" else np.int32)
        m = rng.integers(1 << (mbits - 2), 1 << (mbits - 1), c_out)
        if rq["rounding"] == "shift_only":
            m = np.full(c_out, (1 << (mbits - 1)) - 1)
        shift = rng.integers(-12 if s16 else -9, -4, c_out)
        kw = dict(multiplier=m, shift=shift, input_offset=zp(), output_offset=zp(), **rq)
        common = dict(kw, act_min=RANGE[np.dtype(act)][0], act_max=RANGE[np.dtype(act)][1], datapath=spec.datapath)
        if spec.op == "fully_connected":
            want = fully_connected(x, w, bias, **common)
        elif spec.op == "transpose_conv2d":
            stride = int(rng.integers(1, 3))
            kw.update(stride_h=stride, stride_w=stride)
            geo = dict(out_h=4 * stride + k, out_w=3 * stride + k, stride_h=stride, stride_w=stride)
            want = transpose_conv2d(x, w, bias, **geo, **common)
        else:
            pad, stride = int(rng.integers(0, 2)), int(rng.integers(1, 3))
            kw.update(pad_top=pad, pad_left=pad, stride_h=stride, stride_w=stride)
            oh, ow = (5 + 2 * pad - k) // stride + 1, (4 + 2 * pad - k) // stride + 1
            geo = dict(out_h=oh, out_w=ow, pad_top=pad, pad_left=pad, stride_h=stride, stride_w=stride)
            want = (
                conv2d(x, w, bias, **geo, **common)
                if spec.op == "conv2d"
                else depthwise_conv2d(x, w, bias, depth_multiplier=c_out // c_in, **geo, **common)
            )
        return (x, w, bias), kw, want
    lo, hi = RANGE[np.dtype(spec.out_dtype)]
    act_kw = {"act_min": lo, "act_max": hi}
    if spec.op in ("add", "mul"):
        x1, x2 = ints(rng, (1, 2, 3, 4), act), ints(rng, (1, 1, 3, 1), act)
        offs = dict(input1_offset=zp(), input2_offset=zp(), output_offset=zp())
        if spec.op == "add":
            kw = dict(
                offs,
                left_shift=15 if s16 else 20,
                input1_scale=pair(rng, -1, 0, mbits),
                input2_scale=pair(rng, -1, 0, mbits),
                output_scale=pair(rng, -21, -15, mbits),
                **act_kw,
                **rq,
            )
            return (x1, x2), kw, elementwise.add(x1, x2, **kw)
        kw = dict(offs, output_scale=pair(rng, -20 if s16 else -9, -6, mbits), **act_kw, **rq)
        return (x1, x2), kw, elementwise.mul(x1, x2, **kw)
    if spec.op in ("minimum", "maximum"):
        x1, x2 = ints(rng, (1, 2, 3, 4), act), ints(rng, (1, 1, 3, 1), act)
        kw = dict(
            input1_offset=zp(),
            input2_offset=zp(),
            output_offset=zp(),
            input1_scale=pair(rng, -1, 1, mbits),
            input2_scale=pair(rng, -1, 1, mbits),
            **act_kw,
            **rq,
        )
        return (x1, x2), kw, getattr(lut, spec.op)(x1, x2, **kw)
    if spec.op == "lut":
        x = ints(rng, (2, 3, 5), act)
        table = ints(rng, (513 if s16 else 256,), act)
        return (x,), dict(table=table), (lut.lut_s16 if s16 else lut.lut_s8)(x, table)
    if spec.op == "prelu":
        x, alpha = ints(rng, (2, 3, 4), act), ints(rng, (4,), np.int8)
        kw = dict(
            alpha=alpha,
            input_offset=zp(),
            alpha_offset=zp(),
            output_offset=zp(),
            identity_scale=pair(rng, -1, 1, mbits),
            alpha_scale=pair(rng, -8, -6, mbits),
            **act_kw,
            **rq,
        )
        return (x,), kw, lut.prelu(x, **kw)
    if spec.op in ("max_pool", "avg_pool"):
        x = ints(rng, (2, 5, 6, 3), act)
        geo = dict(
            filter_h=int(rng.integers(1, 4)),
            filter_w=int(rng.integers(1, 4)),
            stride_h=int(rng.integers(1, 3)),
            stride_w=int(rng.integers(1, 3)),
            pad_top=0,
            pad_left=0,
        )
        oh, ow = (5 - geo["filter_h"]) // geo["stride_h"] + 1, (6 - geo["filter_w"]) // geo["stride_w"] + 1
        fn = pooling.max_pool if spec.op == "max_pool" else pooling.avg_pool
        return (x,), dict(geo, **act_kw), fn(x, out_h=oh, out_w=ow, **geo, **act_kw)
    if spec.op == "softmax":
        x = ints(rng, (3, int(rng.integers(1, 9))), act)
        if s16:
            p = softmax_s16_params(float(rng.uniform(1e-4, 1e-3)))
            kw = dict(
                input_multiplier=p.input_multiplier,
                input_left_shift=p.input_left_shift,
                exp_lut=p.exp_lut,
                one_over_one_plus_x_lut=p.one_over_one_plus_x_lut,
            )
            return (x,), kw, softmax.softmax_s16(x, **kw)
        p = softmax_s8_params(float(rng.uniform(0.01, 0.2)))
        kw = dict(input_multiplier=p.input_multiplier, input_left_shift=p.input_left_shift, diff_min=p.diff_min)
        fn = softmax.softmax_s8_s16 if spec.out_dtype == np.int16 else softmax.softmax_s8
        return (x,), kw, fn(x, **kw)
    if spec.op == "concat":
        axis, n = int(rng.integers(0, 4)), int(rng.integers(1, 4))
        shapes = [[2, 2, 3, 2] for _ in range(n)]
        for s in shapes:
            s[axis] = int(rng.integers(1, 4))
        xs = [ints(rng, s, act) for s in shapes]
        kw = dict(
            axis=axis,
            input_offset=[zp() for _ in xs],
            input_scale=[pair(rng, -1, 1, mbits) for _ in xs],
            output_offset=zp(),
            **rq,
        )
        out_shape = list(shapes[0])
        out_shape[axis] = sum(s[axis] for s in shapes)
        flat = data_movement.concat(
            xs,
            outer=int(np.prod(out_shape[:axis])),
            inner=int(np.prod(out_shape[axis + 1 :])),
            input_offsets=kw["input_offset"],
            input_scales=kw["input_scale"],
            output_offset=kw["output_offset"],
            type_min=lo,
            type_max=hi,
            **rq,
        )
        return (xs,), kw, flat.reshape(out_shape)
    if spec.op == "pad":
        x = ints(rng, (1, 2, 3, 2), act)
        before, after = [int(v) for v in rng.integers(0, 3, 4)], [int(v) for v in rng.integers(0, 3, 4)]
        out_shape = [d + b + a for d, b, a in zip(x.shape, before, after)]
        kw = dict(pad_before=before, pad_after=after, pad_value=zp())
        return (x,), kw, data_movement.pad(x, pad_before=before, out_shape=out_shape, pad_value=kw["pad_value"])
    if spec.op == "transpose":
        x = ints(rng, (1, 2, 3, 4), act)
        perm = [int(p) for p in rng.permutation(4)]
        return (x,), dict(perm=perm), movement.transpose(x, perm=perm)
    if spec.op == "resize":
        x = ints(rng, (1, 3, 4, 2), act)
        kw = dict(size=(5, 3), method=int(rng.integers(2)), coord=1, nearest_mode=int(rng.integers(4)))
        want = movement.resize(
            x,
            out_hw=(5, 3),
            method=kw["method"],
            coord=1,
            nearest_mode=kw["nearest_mode"],
            ratio_num=[3, 4],
            ratio_den=[5, 3],
        )
        return (x,), kw, want
    if spec.op == "slice":
        x = ints(rng, (2, 4, 3, 5), act)
        begin, stride = [0, 3, 0, 4], [1, -2, 2, -1]
        out_shape = [2, 2, 2, 5]
        return (
            (x,),
            dict(begin=begin, stride=stride),
            movement.slice_(x, begin=begin, stride=stride, out_shape=out_shape),
        )
    if spec.op == "leaky_relu":
        x = ints(rng, (2, 7), act)
        kw = dict(
            input_offset=zp(),
            output_offset=zp(),
            identity_scale=pair(rng, 0, 1, mbits),
            alpha_scale=pair(rng, -3, -1, mbits),
            **act_kw,
            **rq,
        )
        return (x,), kw, elementwise.leaky_relu(x, **kw)
    if spec.op == "reduce":
        x = ints(rng, (2, 3, 4, 5), act)
        axes = [a for a in range(4) if rng.random() < 0.5]
        out_shape = tuple(1 if a in axes else d for a, d in enumerate(x.shape))
        kw = dict(
            axes=axes,
            kind="sum",
            input_offset=0 if s16 else zp(),
            output_offset=0 if s16 else zp(),
            scale=pair(rng, -5, -1, mbits),
            **act_kw,
            **rq,
        )
        args = {k: v for k, v in kw.items() if k != "axes"}
        return (x,), kw, reduce.reduce(x, out_shape=out_shape, **args)
    x = ints(rng, (11,), act)  # requantize
    in_s16, out_s16 = spec.in_dtype == np.int16, spec.out_dtype == np.int16
    shift = (6, 8) if out_s16 else (-8, -6) if in_s16 else (-1, 1)
    kw = dict(
        input_offset=0 if in_s16 else zp(),
        output_offset=0 if out_s16 else zp(),
        scale=pair(rng, *shift, mbits),
        **act_kw,
        **rq,
    )
    return (x,), kw, data_movement.requantize(x, **kw)


@pytest.mark.parametrize("name", sorted(KERNEL_SPECS))
def test_wrapper_matches_reference(name):
    spec, rng = KERNEL_SPECS[name], np.random.default_rng(sorted(KERNEL_SPECS).index(name))
    for case in range(CASES_PER_KERNEL):
        args, kw, want = make_case(spec, rng)
        got = KERNELS[name](*args, **kw)
        assert got.dtype == np.dtype(spec.out_dtype)
        assert_exact(got, want, f"{name} case {case}")


@pytest.mark.parametrize("name", sorted(n for n, s in KERNEL_SPECS.items() if s.family == "weighted"))
def test_scratch_size_wrappers(name):
    args, kw, _ = make_case(KERNEL_SPECS[name], np.random.default_rng(0))
    size = KERNELS[f"{name}_scratch_size"](*args, **kw)
    w = args[1]
    assert size == (int(np.prod(w.shape[1:])) if name == "conv2d_s4" else size) and size >= 0


def test_requantize_acc_wrappers_match_reference():
    rng = np.random.default_rng(5)
    for rounding in ("double", "single", "shift_only"):
        for bits in (32, 16, 8):
            acc = rng.integers(-(1 << 31), 1 << 31, 300)
            m = rng.integers(0, 1 << (bits - 1), 300)
            s = rng.integers(-20, 1, 300)
            assert_exact(K.requantize_acc32(acc, m, s, rounding, bits), requant32(acc, m, s, rounding, bits), "acc32")
            acc64 = rng.integers(-(1 << 50), 1 << 50, 300)
            assert_exact(
                K.requantize_acc64(acc64, m, s, rounding, bits), requant64(acc64, m, s, rounding, bits), "acc64"
            )


# ---- bad arguments ---------------------------------------------------------


def replace_first(spec, args, value):
    if spec.family == "concat":
        return ([value, *args[0][1:]],)
    return (value, *args[1:])


FIRST_NAME = {
    "weighted": "input",
    "binary": "input1",
    "unary": "input",
    "concat": re.escape("inputs[0]"),
    "table": "input",
}


def good(name, seed=0):
    spec = KERNEL_SPECS[name]
    args, kw, _ = make_case(spec, np.random.default_rng(seed))
    return spec, args, kw


def first(spec, args):
    return args[0][0] if spec.family == "concat" else args[0]


@pytest.mark.parametrize("name", sorted(KERNEL_SPECS))
def test_wrong_dtype_is_named(name):
    spec, args, kw = good(name)
    wrong = np.int16 if spec.in_dtype == np.int8 else np.int8
    with pytest.raises(KernelArgumentError, match=rf"{name}: argument '{FIRST_NAME[spec.family]}' must be"):
        KERNELS[name](*replace_first(spec, args, first(spec, args).astype(wrong)), **kw)


_ANY_RANK = ("softmax", "leaky_relu", "requantize", "lut", "prelu")


@pytest.mark.parametrize("name", sorted(n for n, s in KERNEL_SPECS.items() if s.op not in _ANY_RANK))
def test_wrong_rank_is_named(name):
    spec, args, kw = good(name)
    with pytest.raises(KernelArgumentError, match=rf"argument '{FIRST_NAME[spec.family]}' must have \d dims"):
        KERNELS[name](*replace_first(spec, args, first(spec, args)[None]), **kw)


@pytest.mark.parametrize("name", sorted(KERNEL_SPECS))
def test_non_contiguous_is_named(name):
    spec, args, kw = good(name)
    x = first(spec, args)
    strided = np.repeat(x, 2, axis=-1)[..., ::2]
    assert np.array_equal(strided, x) and not strided.flags.c_contiguous
    with pytest.raises(KernelArgumentError, match=rf"argument '{FIRST_NAME[spec.family]}' must be C-contiguous"):
        KERNELS[name](*replace_first(spec, args, strided), **kw)


@pytest.mark.parametrize("name", sorted(KERNEL_SPECS))
def test_not_an_array_and_empty_are_named(name):
    spec, args, kw = good(name)
    with pytest.raises(KernelArgumentError, match="must be a numpy array, got list"):
        KERNELS[name](*replace_first(spec, args, first(spec, args).tolist()), **kw)
    empty = np.zeros((0,) + first(spec, args).shape[1:], first(spec, args).dtype)
    with pytest.raises(KernelArgumentError, match="dims >= 1"):
        KERNELS[name](*replace_first(spec, args, empty), **kw)


SHIFT_FIELD = {
    "weighted": "shift",
    "add": "output_scale",
    "mul": "output_scale",
    "leaky_relu": "alpha_scale",
    "prelu": "alpha_scale",
    "minimum": "input1_scale",
    "maximum": "input2_scale",
    "requantize": "scale",
    "concat": "input_scale",
}


@pytest.mark.parametrize(
    "name", sorted(n for n, s in KERNEL_SPECS.items() if s.family == "weighted" or s.op in SHIFT_FIELD)
)
@pytest.mark.parametrize("rounding, bad", [("double", 32), ("double", -64), ("single", 31), ("shift_only", 40)])
def test_out_of_range_shift_is_named(name, rounding, bad):
    spec, args, kw = good(name)
    kw["rounding"] = rounding
    field = SHIFT_FIELD["weighted" if spec.family == "weighted" else spec.op]
    if spec.family == "weighted":
        kw["shift"] = np.full_like(kw["shift"], bad)
        kw["multiplier"] = np.full_like(kw["multiplier"], 1 << 10)
        needle = "argument 'shift' has values"
    elif field == "input_scale":
        kw[field] = [(1 << 10, bad)] * len(args[0])
        needle = r"argument 'input_scale\[0\].shift'"
    else:
        kw[field] = (1 << 10, bad)
        needle = rf"argument '{field}.shift'"
    with pytest.raises(KernelArgumentError, match=needle):
        KERNELS[name](*args, **kw)


def test_multiplier_out_of_range_for_width():
    spec, args, kw = good("conv2d_s8")
    kw.update(rounding="double", multiplier_bits=16, multiplier=np.full_like(kw["multiplier"], 1 << 15))
    with pytest.raises(KernelArgumentError, match=r"argument 'multiplier' has values in \[32768, 32768\]"):
        K.conv2d_s8(*args, **kw)
    kw["multiplier_bits"] = 40
    with pytest.raises(KernelArgumentError, match="argument 'multiplier_bits'"):
        K.conv2d_s8(*args, **kw)
    kw["rounding"] = "nearest"
    with pytest.raises(KernelArgumentError, match="argument 'rounding'"):
        K.conv2d_s8(*args, **kw)


@pytest.mark.parametrize(
    "name, mutate, needle",
    [
        (
            "conv2d_s8",
            lambda a, k: (a[0], a[1], a[2][:-1]) if a[2].size > 1 else (a[0], a[1], np.zeros(9, np.int32)),
            "argument 'bias' has",
        ),
        ("conv2d_s16", lambda a, k: (a[0], a[1], a[2].astype(np.int16)), "argument 'bias' must be int64"),
        ("conv2d_s16_acc32", lambda a, k: (a[0], a[1], a[2].astype(np.int64)), "argument 'bias' must be int32"),
        (
            "conv2d_s8",
            lambda a, k: (a[0], np.zeros((2, 1, 1, a[0].shape[3] + 1), np.int8), None),
            "argument 'filter' .* does not fit input channels",
        ),
        ("depthwise_conv2d_s8", lambda a, k: (a[0], np.zeros((2, 1, 1, 3), np.int8), None), "argument 'filter'"),
        (
            "fully_connected_s8",
            lambda a, k: (a[0], np.zeros((2, a[0].shape[1] + 1), np.int8), None),
            "argument 'filter' depth",
        ),
        ("conv2d_s4", lambda a, k: (a[0], np.full_like(a[1], 8), a[2]), "outside int4"),
        ("add_s8", lambda a, k: (a[0], np.zeros((1, 3, 3, 4), np.int8)), "do not broadcast"),
        (
            "concat_s8",
            lambda a, k: ([np.zeros((1, 1, 1, 1), np.int8), np.zeros((1, 2, 1, 1), np.int8)],),
            "differs from inputs",
        ),
        ("softmax_s16", lambda a, k: k.update(exp_lut=k["exp_lut"][:512]) or a, "'exp_lut' must have 513"),
    ],
)
def test_size_mismatch_is_named(name, mutate, needle):
    _, args, kw = good(name)
    args = mutate(args, kw)
    with pytest.raises(KernelArgumentError, match=needle):
        KERNELS[name](*args, **kw)


def test_per_channel_length_mismatch():
    spec, args, kw = good("conv2d_s8", seed=3)
    kw["multiplier"] = np.concatenate([kw["multiplier"], kw["multiplier"][:1]])
    with pytest.raises(KernelArgumentError, match="'multiplier' .* and 'shift' .* need 1 or C_out"):
        K.conv2d_s8(*args, **kw)


def test_other_bad_keywords():
    _, args, kw = good("add_s8")
    with pytest.raises(KernelArgumentError, match="argument 'stride_h' is not a field"):
        K.add_s8(*args, stride_h=2, **kw)
    with pytest.raises(KernelArgumentError, match="argument 'act_min' 10 exceeds 'act_max' 5"):
        K.add_s8(*args, **{**kw, "act_min": 10, "act_max": 5})
    with pytest.raises(KernelArgumentError, match=r"argument 'act_max' must be an integer in \[-128, 127\]"):
        K.add_s8(*args, **{**kw, "act_max": 300})
    with pytest.raises(KernelArgumentError, match="argument 'output_scale' must be a"):
        K.add_s8(*args, **{**kw, "output_scale": 5})
    with pytest.raises(KernelArgumentError, match="argument 'input1_offset' = 4294967296 does not fit int32"):
        K.add_s8(*args, **{**kw, "input1_offset": 1 << 32})
    _, args, kw = good("max_pool_s8")
    with pytest.raises(KernelArgumentError, match="argument 'stride_h' must be an integer"):
        K.max_pool_s8(*args, **{**kw, "stride_h": "2"})
    kw.pop("filter_h")
    with pytest.raises(KernelArgumentError, match="argument 'filter_h' is missing"):
        K.max_pool_s8(*args, **kw)


def test_kernel_status_becomes_an_error():
    _, args, kw = good("conv2d_s8")
    with pytest.raises(KernelArgumentError, match="conv2d_s8: the kernel returned FP_ERR_ARG"):
        K.conv2d_s8(*args, **kw, output_shape=(2, 3, 3, args[1].shape[0]))  # batch differs from the input
    _, args, kw = good("pad_s8")
    with pytest.raises(KernelArgumentError, match="pad_s8: the kernel returned FP_ERR_ARG"):
        K.pad_s8(*args, **kw, output_shape=(1, 1, 1, 1))  # smaller than the input


def test_requantize_acc_argument_checks():
    with pytest.raises(KernelArgumentError, match=r"requantize_acc32: argument 'acc' has values"):
        K.requantize_acc32(np.array([1 << 40]), 1 << 30, 0)
    with pytest.raises(KernelArgumentError, match="argument 'shift' has values"):
        K.requantize_acc64(np.array([5]), 1 << 30, 40)
    with pytest.raises(KernelArgumentError, match="do not broadcast"):
        K.requantize_acc32(np.array([1, 2, 3]), [1, 2], 0)
