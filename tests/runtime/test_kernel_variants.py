"""The optimized kernel variants (fp_<op>_<dp>_opt, runtime/src/kernels_opt/)
are bit-identical to their reference kernels: same status and same output
bytes on random legal cases that reach every internal path (1x1 / 1xN read in
place, gathered columns, the direct window walk for columns over 512 bytes or
offsets whose negation is no int8, the 3x3 depthwise path, channel blocks
and tails, depth multipliers, extreme offsets and requant parameters), on
illegal parameters (FP_ERR_ARG, nothing written), and, through the C fuzz
driver, >= 10,000 random cases per kernel including hostile ones."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kernel_harness import as_ptr, dims, ffi, lib, make_params, random_output_stage, requant_of

ROOT = Path(__file__).resolve().parents[2]
CASES = 700  # per kernel and seed here; the fuzz driver below adds 10,000 per kernel
OFFSETS = (-128, -127, 0, 1, 127, 128, 129, -129, 5000, -70000, 16777088, -16777087)


def _offset(rng: np.random.Generator) -> int:
    return int(rng.choice(OFFSETS)) if rng.random() < 0.3 else int(rng.integers(-127, 129))


def _bias(rng: np.random.Generator, c_out: int):
    """Random biases; a few cases near the int32 limits (accumulator + bias saturates)."""
    if rng.random() < 0.1:
        return None
    if rng.random() < 0.05:
        return rng.choice(
            np.array([-(1 << 31), -(1 << 31) + 1, (1 << 31) - 1, (1 << 31) - 2, 0], np.int64), c_out
        ).astype(np.int32)
    return rng.integers(-(1 << 20), 1 << 20, c_out, dtype=np.int32)


def _call_both(name: str, params, x, w, bias, out_shape):
    """(status, output) of fp_<name> and fp_<name>_opt from the same pre-filled output buffer."""
    results = []
    for fn in (name, name + "_opt"):
        out = np.full(out_shape, 77, np.int8)
        status = getattr(lib, "fp_" + fn)(
            params.ptr, as_ptr(ffi, x), as_ptr(ffi, w), as_ptr(ffi, bias), as_ptr(ffi, out), ffi.NULL
        )
        results.append((int(status), out))
    return results


def _assert_same(results, case):
    (st_ref, out_ref), (st_opt, out_opt) = results
    assert st_opt == st_ref, case
    assert np.array_equal(out_opt, out_ref), case


def _stage(rng, c_out, acc):
    return random_output_stage(rng, "s8", c_out, acc)


def _conv_case(rng: np.random.Generator):
    groups = int(rng.choice([1, 1, 1, 2, 3]))
    cg = int(rng.choice([1, 3, 7, 16, 33, 64])) if rng.random() < 0.7 else int(rng.integers(1, 80))
    # output channels under, at and over the host path's 16-lane vectors (and several of them)
    ocg = int(rng.choice([1, 15, 16, 17, 31, 32, 33, 48, 65])) if rng.random() < 0.5 else int(rng.integers(1, 14))
    kh, kw = (1, 1) if rng.random() < 0.25 else (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    h, w = int(rng.integers(1, 11)), int(rng.integers(1, 11))
    sh, sw, dh, dw = (int(v) for v in rng.integers(1, 4, 4))
    pt, pl = (int(v) for v in rng.integers(0, 3, 2))
    pb, pr = (int(v) for v in rng.integers(0, 3, 2))
    oh = max(1, (h + pt + pb - dh * (kh - 1) - 1) // sh + 1)
    ow = max(1, (w + pl + pr - dw * (kw - 1) - 1) // sw + 1)
    c_in, c_out = groups * cg, groups * ocg
    n = int(rng.integers(1, 3))
    x = rng.integers(-128, 128, (n, h, w, c_in), dtype=np.int8)
    wt = rng.integers(-128, 128, (c_out, kh, kw, cg), dtype=np.int8)
    if rng.random() < 0.1:
        wt[:] = rng.choice([-128, 127])
        x[:] = rng.choice([-128, 127])
    bias = _bias(rng, c_out)
    stage = _stage(rng, c_out, 64.0 * np.sqrt(kh * kw * cg))
    params = make_params(
        "fp_conv2d_params_t",
        input=dims(n, h, w, c_in),
        filter=dims(c_out, kh, kw, cg),
        output=dims(n, oh, ow, c_out),
        stride_h=sh,
        stride_w=sw,
        dilation_h=dh,
        dilation_w=dw,
        pad_top=pt,
        pad_left=pl,
        groups=groups,
        input_offset=_offset(rng),
        output_offset=stage["output_offset"],
        act_min=stage["act_min"],
        act_max=stage["act_max"],
        requant=requant_of(stage),
    )
    return params, x, wt, bias, (n, oh, ow, c_out)


def _dw_case(rng: np.random.Generator):
    c_in = int(rng.choice([1, 5, 16, 63, 64, 65, 130])) if rng.random() < 0.6 else int(rng.integers(1, 100))
    mult = 1 if rng.random() < 0.7 else int(rng.integers(2, 4))
    c_out = c_in * mult
    kh, kw = (3, 3) if rng.random() < 0.5 else (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    h, w = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    sh, sw = (int(v) for v in rng.integers(1, 3, 2))
    dh, dw = (1, 1) if rng.random() < 0.6 else (int(v) for v in rng.integers(1, 3, 2))
    pt, pl = (int(v) for v in rng.integers(0, 3, 2))
    oh = max(1, (h + 2 * pt - dh * (kh - 1) - 1) // sh + 1)
    ow = max(1, (w + 2 * pl - dw * (kw - 1) - 1) // sw + 1)
    n = int(rng.integers(1, 3))
    x = rng.integers(-128, 128, (n, h, w, c_in), dtype=np.int8)
    wt = rng.integers(-128, 128, (1, kh, kw, c_out), dtype=np.int8)
    bias = _bias(rng, c_out)
    stage = _stage(rng, c_out, 64.0 * np.sqrt(kh * kw))
    params = make_params(
        "fp_depthwise_conv2d_params_t",
        input=dims(n, h, w, c_in),
        filter=dims(1, kh, kw, c_out),
        output=dims(n, oh, ow, c_out),
        stride_h=sh,
        stride_w=sw,
        dilation_h=dh,
        dilation_w=dw,
        pad_top=pt,
        pad_left=pl,
        depth_multiplier=mult,
        input_offset=_offset(rng),
        output_offset=stage["output_offset"],
        act_min=stage["act_min"],
        act_max=stage["act_max"],
        requant=requant_of(stage),
    )
    return params, x, wt, bias, (n, oh, ow, c_out)


def _fc_case(rng: np.random.Generator):
    depth = int(rng.choice([1, 3, 16, 31, 64, 257])) if rng.random() < 0.5 else int(rng.integers(1, 400))
    c_out = int(rng.integers(1, 14))
    batches = int(rng.integers(1, 4))
    x = rng.integers(-128, 128, (batches, depth), dtype=np.int8)
    wt = rng.integers(-128, 128, (c_out, depth), dtype=np.int8)
    bias = rng.integers(-(1 << 20), 1 << 20, c_out, dtype=np.int32) if rng.random() < 0.9 else None
    f_off = 0 if rng.random() < 0.6 else int(rng.choice([-128, -1, 1, 127, 128, 3000]))
    in_off = _offset(rng)
    if abs(in_off) > 1 << 14 and f_off:
        f_off = 1
    stage = _stage(rng, c_out, 64.0 * np.sqrt(depth))
    params = make_params(
        "fp_fully_connected_params_t",
        batches=batches,
        depth=depth,
        out_channels=c_out,
        input_offset=in_off,
        filter_offset=f_off,
        output_offset=stage["output_offset"],
        act_min=stage["act_min"],
        act_max=stage["act_max"],
        requant=requant_of(stage),
    )
    return params, x, wt, bias, (batches, c_out)


CASE_MAKERS = {"conv2d_s8": _conv_case, "depthwise_conv2d_s8": _dw_case, "fully_connected_s8": _fc_case}


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name", sorted(CASE_MAKERS))
def test_opt_variant_matches_reference_on_random_cases(name, seed):
    rng = np.random.default_rng(seed * 1000 + len(name))
    ok = 0
    for i in range(CASES):
        params, x, w, bias, out_shape = CASE_MAKERS[name](rng)
        results = _call_both(name, params, x, w, bias, out_shape)
        _assert_same(results, f"{name} case {i}")
        ok += results[0][0] == int(lib.FP_OK)
    assert ok > CASES * 0.9  # the cases are legal: the comparison is on computed outputs


@pytest.mark.parametrize("name", sorted(CASE_MAKERS))
def test_opt_variant_rejects_what_the_reference_rejects(name):
    rng = np.random.default_rng(7)
    params, x, w, bias, out_shape = CASE_MAKERS[name](rng)
    bad = {
        "conv2d_s8": ("groups", 0),
        "depthwise_conv2d_s8": ("depth_multiplier", 0),
        "fully_connected_s8": ("depth", -1),
    }[name]
    setattr(params.ptr, *bad)
    results = _call_both(name, params, x, w, bias, out_shape)
    _assert_same(results, name)
    assert results[0][0] == int(lib.FP_ERR_ARG)
    assert np.all(results[1][1] == 77), "the variant wrote although it rejected the call"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("paths", ["host", "mcu"])
def test_fuzz_driver_differential_10000_cases_per_kernel(paths, tmp_path):
    """tests/sanitize/fuzz_runtime.c runs each _opt variant next to its reference on every case
    (sane and hostile); 10,000 cases per kernel, no difference allowed. "mcu" builds the
    variants' MCU code paths (FP_OPT_NO_HOST_SIMD: what RV32 / Cortex-M compile) on the host."""
    exe = tmp_path / "fuzz_runtime"
    sources = sorted(str(p) for p in (ROOT / "runtime" / "src").rglob("*.c"))
    flags = ["-DFP_OPT_NO_HOST_SIMD"] if paths == "mcu" else []
    subprocess.run(
        [
            "gcc",
            "-std=c99",
            "-O1",
            *flags,
            "-Wall",
            "-Wextra",
            "-Werror",
            f"-I{ROOT / 'runtime' / 'include'}",
            str(ROOT / "tests/sanitize/fuzz_runtime.c"),
            str(ROOT / "tests/sanitize/fuzz_case.c"),
            *sources,
            "-o",
            str(exe),
        ],
        check=True,
    )
    run = subprocess.run([str(exe), "10000", "11"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    line = next(s for s in run.stdout.splitlines() if "optimized variants vs reference" in s)
    assert int(line.split(":")[1].split()[0]) >= 4 * 10000, line


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_add_opt_matches_reference_on_random_cases(seed):
    """fp_add_s8_opt == fp_add_s8 (add and subtract, broadcasting, every rounding mode, random
    scales and offsets: the generator of tests/runtime/test_elementwise.py)."""
    from test_elementwise import CASES as CHUNK, add_params, random_add_chunk

    rng = np.random.default_rng(seed)
    ok = 0
    for _ in range(max(1, 800 // CHUNK)):
        c = random_add_chunk(rng, "s8")
        for k in range(CHUNK):
            x1, x2 = np.ascontiguousarray(c["x1"][k]), np.ascontiguousarray(c["x2"][k])
            outs = []
            for fn in (lib.fp_add_s8, lib.fp_add_s8_opt):
                out = np.full(c["do"], 77, np.int8)
                outs.append((int(fn(add_params(c, k), as_ptr(ffi, x1), as_ptr(ffi, x2), as_ptr(ffi, out))), out))
            assert outs[0][0] == outs[1][0], k
            assert np.array_equal(outs[0][1], outs[1][1]), k
            ok += outs[0][0] == int(lib.FP_OK)
    assert ok > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_leaky_relu_opt_matches_reference_on_random_cases(seed):
    """fp_leaky_relu_s8_opt == fp_leaky_relu_s8 on tensors under and over the size from which the
    variant uses its 256-entry table (every rounding mode, random scales and offsets: the generator of
    tests/runtime/test_elementwise.py, each case's values tiled to a size from 1 to 1500)."""
    from test_elementwise import CASES as CHUNK, leaky_params, random_leaky_chunk

    rng = np.random.default_rng(seed)
    ok = 0
    for _ in range(max(1, 800 // CHUNK)):
        c = random_leaky_chunk(rng, "s8")
        for k in range(CHUNK):
            size = int(rng.choice([1, 255, 511, 512, 513, 1500])) if rng.random() < 0.5 else int(rng.integers(1, 1500))
            x = np.resize(np.concatenate([c["x"][k], rng.integers(-128, 128, 256, dtype=np.int8)]), size)
            outs = []
            for fn in (lib.fp_leaky_relu_s8, lib.fp_leaky_relu_s8_opt):
                out = np.full(size, 77, np.int8)
                outs.append((int(fn(leaky_params(c, k, size=size), as_ptr(ffi, x), as_ptr(ffi, out))), out))
            assert outs[0][0] == outs[1][0], k
            assert np.array_equal(outs[0][1], outs[1][1]), k
            ok += outs[0][0] == int(lib.FP_OK)
    assert ok > 0
