"""fp_gru_s8 (op "gru": ONNX GRU with linear_before_reset 1) against fixpoint.reference.gru.

Random cases: sequence length, sizes, weights, biases, offsets, per-gate scales, rounding mode,
register width, direction and output form, random tables (the table interpolation over its whole
range, and negative "sigmoid" values that stress the (1 - z) product); long sequences (>= 100
steps); a hand-computed step. ``make test`` runs a quick subset; ``make test-all``
(``FIXPOINT_KERNEL_CASES=all``) runs 10,000 random cases.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from fixpoint.reference.gru import GruParams, gru_s8 as gru_ref
from fixpoint.reference.requant import shift_range
from fixpoint.sim import kernels
from fixpoint.sim.kernel_args import KernelArgumentError

ALL = os.environ.get("FIXPOINT_KERNEL_CASES") == "all"
CASES = 10_000 if ALL else 300
LONG_CASES = 200 if ALL else 6
ROUNDINGS = ("double", "single", "shift_only")
BITS = (32, 31, 16, 15, 8)
TABLES = ("sigmoid_lut", "tanh_lut")


def _scale(rng, rounding: str, bits: int, lo: int, hi: int) -> tuple[int, int]:
    s_lo, s_hi = shift_range(rounding, bits, 32)
    shift = int(rng.integers(max(s_lo, lo), min(s_hi, hi) + 1))
    return int(rng.integers(1 << (bits - 2), 1 << (bits - 1))), shift


def _case(rng: np.random.Generator, steps: int) -> tuple[tuple, dict]:
    n_in, hidden = int(rng.integers(1, 7)), int(rng.integers(1, 7))
    x = rng.integers(-128, 128, (steps, n_in)).astype(np.int8)
    w = rng.integers(-127, 128, (3 * hidden, n_in + hidden)).astype(np.int8)
    bias = rng.integers(-(1 << 14), 1 << 14, 6 * hidden).astype(np.int32)
    if rng.random() < 0.05:
        bias = rng.integers(-(1 << 31), (1 << 31) - 1, 6 * hidden, dtype=np.int64).astype(np.int32)
    rounding, bits = ROUNDINGS[rng.integers(3)], int(BITS[rng.integers(len(BITS))])
    kw = dict(
        input_offset=int(rng.integers(-128, 129)),
        hidden_offset=int(rng.integers(-128, 129)),
        output_offset=int(rng.integers(-128, 128)),
        input_scale=[_scale(rng, rounding, bits, -10, 2) for _ in range(3)],
        recurrent_scale=[_scale(rng, rounding, bits, -10, 2) for _ in range(3)],
        hidden_scale=_scale(rng, rounding, bits, -26, -16),
        output_sequence=int(rng.random() < 0.7),
        reverse=int(rng.random() < 0.3),
        rounding=rounding,
        multiplier_bits=bits,
        **{name: rng.integers(-32768, 32768, 513).astype(np.int16) for name in TABLES},
    )
    return (x, w, bias), kw


def _reference(args: tuple, kw: dict) -> np.ndarray:
    scalars = {k: v for k, v in kw.items() if k not in TABLES}
    p = GruParams(
        **{
            **scalars,
            "input_scale": tuple(scalars["input_scale"]),
            "recurrent_scale": tuple(scalars["recurrent_scale"]),
        }
    )
    return gru_ref(*args, kw["sigmoid_lut"], kw["tanh_lut"], p)


def _check(args: tuple, kw: dict, label: str) -> None:
    got = kernels.gru_s8(*args, **kw)
    want = _reference(args, kw)
    diff = np.argwhere(got != want)
    assert diff.size == 0, f"{label}: C and reference differ at {diff[:5].tolist()} ({got.shape})"


def test_gru_random_cases_match_reference():
    rng = np.random.default_rng(2323)
    for case in range(CASES):
        args, kw = _case(rng, int(rng.integers(1, 9)))
        _check(args, kw, f"case {case}")


def test_gru_long_sequences_match_reference():
    rng = np.random.default_rng(101)
    for case in range(LONG_CASES):
        args, kw = _case(rng, int(rng.integers(100, 161)))
        _check(args, kw, f"long case {case}")


def test_gru_hand_step():
    """One unit, one input, one step: z = 1/2, n = 1/4 everywhere, h_prev = 0 -> h = 1/8."""
    x, w, b = np.array([[3]], np.int8), np.ones((3, 2), np.int8), np.zeros(6, np.int32)
    one = (1 << 30, 1)
    kw = dict(
        input_offset=0,
        hidden_offset=0,
        output_offset=0,
        input_scale=[one] * 3,
        recurrent_scale=[one] * 3,
        hidden_scale=(1 << 30, -22),  # 2^-30 / s_h with s_h = 2^-7
        sigmoid_lut=np.full(513, 16384, np.int16),
        tanh_lut=np.full(513, 8192, np.int16),
    )
    # (1 - z) n = 1/2 * 1/4 = 1/8 -> 16 at s_h = 2^-7; z * (h - zp) = 0
    assert kernels.gru_s8(x, w, b, **kw).tolist() == [[16]]
    assert _reference((x, w, b), kw).tolist() == [[16]]


def test_gru_rejects_bad_arguments():
    rng = np.random.default_rng(4)
    args, kw = _case(rng, 3)
    with pytest.raises(KernelArgumentError, match="tanh_lut"):
        kernels.gru_s8(*args, **{k: v for k, v in kw.items() if k != "tanh_lut"})
    with pytest.raises(KernelArgumentError, match="recurrent_scale"):
        kernels.gru_s8(*args, **{**kw, "recurrent_scale": kw["recurrent_scale"] * 2})
    with pytest.raises(KernelArgumentError, match="weights"):
        kernels.gru_s8(args[0], args[1][:-1], args[2], **kw)
