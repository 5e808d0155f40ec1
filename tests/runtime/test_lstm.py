"""fp_lstm_s8 (op "lstm": ONNX LSTM, TFLite's integer LSTM) against fixpoint.reference.lstm.

Random cases: sequence length, sizes, weights, biases, offsets, per-gate scales, rounding mode,
register width, cell scale and clip, direction and output form, random tables (so the table
interpolation is exercised over its whole range); plus long sequences (>= 100 steps) and cases
built to saturate the cell state. ``make test`` runs a quick subset; ``make test-all``
(``FIXPOINT_KERNEL_CASES=all``) runs 10,000 random cases.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from fixpoint.reference.lstm import LstmParams, lstm_s8 as lstm_ref
from fixpoint.reference.requant import shift_range
from fixpoint.sim import kernels
from fixpoint.sim.kernel_args import KernelArgumentError

ALL = os.environ.get("FIXPOINT_KERNEL_CASES") == "all"
CASES = 10_000 if ALL else 300
LONG_CASES = 200 if ALL else 6
ROUNDINGS = ("double", "single", "shift_only")
BITS = (32, 31, 16, 15, 8)


def _scale(rng, rounding: str, bits: int, lo: int, hi: int) -> tuple[int, int]:
    s_lo, s_hi = shift_range(rounding, bits, 32)
    shift = int(rng.integers(max(s_lo, lo), min(s_hi, hi) + 1))
    return int(rng.integers(1 << (bits - 2), 1 << (bits - 1))), shift


def _case(rng: np.random.Generator, steps: int, saturate: bool = False) -> tuple[tuple, dict]:
    n_in, hidden = int(rng.integers(1, 7)), int(rng.integers(1, 7))
    x = rng.integers(-128, 128, (steps, n_in)).astype(np.int8)
    w = rng.integers(-127, 128, (4 * hidden, n_in + hidden)).astype(np.int8)
    bias = rng.integers(-(1 << 14), 1 << 14, 8 * hidden).astype(np.int32)
    if rng.random() < 0.05:
        bias = rng.integers(-(1 << 31), (1 << 31) - 1, 8 * hidden, dtype=np.int64).astype(np.int32)
    rounding, bits = ROUNDINGS[rng.integers(3)], int(BITS[rng.integers(len(BITS))])
    gate_hi = 4 if saturate else 1
    kw = dict(
        input_offset=int(rng.integers(-128, 129)),
        hidden_offset=int(rng.integers(-128, 129)),
        output_offset=int(rng.integers(-128, 128)),
        input_scale=[_scale(rng, rounding, bits, -10, gate_hi) for _ in range(4)],
        recurrent_scale=[_scale(rng, rounding, bits, -10, gate_hi) for _ in range(4)],
        hidden_scale=_scale(rng, rounding, bits, -26, -16),
        cell_frac_bits=15 if saturate else int(rng.integers(0, 16)),
        cell_clip=0 if saturate or rng.random() < 0.7 else int(rng.integers(1, 32768)),
        output_sequence=int(rng.random() < 0.7),
        reverse=int(rng.random() < 0.3),
        rounding=rounding,
        multiplier_bits=bits,
        sigmoid_lut=rng.integers(-32768, 32768, 513).astype(np.int16),
        tanh_lut=rng.integers(-32768, 32768, 513).astype(np.int16),
        cell_tanh_lut=rng.integers(-32768, 32768, 513).astype(np.int16),
    )
    if saturate:  # gates near full scale in both signs: i * g and f * c drive the cell to its limits
        kw["sigmoid_lut"] = np.full(513, 32767, np.int16)
        kw["tanh_lut"] = np.where(np.arange(513) < 256, -32768, 32767).astype(np.int16)
    return (x, w, bias), kw


def _reference(args: tuple, kw: dict) -> np.ndarray:
    tables = {k: kw[k] for k in ("sigmoid_lut", "tanh_lut", "cell_tanh_lut")}
    scalars = {k: v for k, v in kw.items() if k not in tables}
    p = LstmParams(
        **{
            **scalars,
            "input_scale": tuple(scalars["input_scale"]),
            "recurrent_scale": tuple(scalars["recurrent_scale"]),
        }
    )
    return lstm_ref(*args, tables["sigmoid_lut"], tables["tanh_lut"], tables["cell_tanh_lut"], p)


def _check(args: tuple, kw: dict, label: str) -> None:
    got = kernels.lstm_s8(*args, **kw)
    want = _reference(args, kw)
    diff = np.argwhere(got != want)
    assert diff.size == 0, f"{label}: C and reference differ at {diff[:5].tolist()} ({got.shape})"


def test_lstm_random_cases_match_reference():
    rng = np.random.default_rng(1414)
    for case in range(CASES):
        args, kw = _case(rng, int(rng.integers(1, 9)))
        _check(args, kw, f"case {case}")


def test_lstm_long_sequences_match_reference():
    rng = np.random.default_rng(100)
    for case in range(LONG_CASES):
        args, kw = _case(rng, int(rng.integers(100, 161)))
        _check(args, kw, f"long case {case}")


def test_lstm_cell_saturation_matches_reference():
    """Full-scale gates saturate the int16 cell (cell_frac_bits 15: |c| reaches 32767 in a step)."""
    rng = np.random.default_rng(7)
    for case in range(20 if not ALL else 500):
        args, kw = _case(rng, int(rng.integers(2, 30)), saturate=True)
        p = {k: v for k, v in kw.items() if k not in ("sigmoid_lut", "tanh_lut", "cell_tanh_lut")}
        # the cell after one step with i = f = 1 and g = +-1: 32767 * 32767 >> 15 saturates int16
        from fixpoint.reference.lstm import lstm_cell

        c = lstm_cell(
            LstmParams(**{**p, "input_scale": tuple(p["input_scale"]), "recurrent_scale": tuple(p["recurrent_scale"])}),
            32767,
            32767,
            32767,
            np.array([32767]),
        )
        assert int(c[0]) == 32767
        _check(args, kw, f"saturation case {case}")


def test_lstm_hand_case():
    """One unit, one input, one step: every stage by hand."""
    tables = {
        "sigmoid_lut": np.arange(513, dtype=np.int16) * 0 + 16384,  # sigmoid = 1/2 everywhere
        "tanh_lut": np.arange(513, dtype=np.int16) * 0 + 8192,  # tanh = 1/4
        "cell_tanh_lut": np.arange(513, dtype=np.int16) * 0 + 32767,
    }  # tanh(c) ~ 1
    x, w, b = np.array([[5]], np.int8), np.ones((4, 2), np.int8), np.zeros(8, np.int32)
    one = (1 << 30, 1)  # factor 1 (double rounding: m = 2^30 with shift 1)
    kw = dict(
        input_offset=0,
        hidden_offset=0,
        output_offset=0,
        input_scale=[one] * 4,
        recurrent_scale=[one] * 4,
        hidden_scale=(1 << 30, -22),
        cell_frac_bits=12,
        **tables,
    )
    # c = 1/2 * 0 + (1/2 * 1/4) at scale 2^-12 = 512; h = round(1/2 * 32767 * 32767 / 2^30 * 2^7) ... = 64
    out = kernels.lstm_s8(x, w, b, **kw)
    assert out.tolist() == [[64]]
    assert _reference((x, w, b), kw).tolist() == [[64]]


def test_lstm_rejects_bad_arguments():
    rng = np.random.default_rng(3)
    args, kw = _case(rng, 3)
    with pytest.raises(KernelArgumentError, match="cell_tanh_lut"):
        kernels.lstm_s8(*args, **{k: v for k, v in kw.items() if k != "cell_tanh_lut"})
    with pytest.raises(KernelArgumentError, match="input_scale"):
        kernels.lstm_s8(*args, **{**kw, "input_scale": kw["input_scale"][:3]})
    with pytest.raises(KernelArgumentError, match="FP_ERR_ARG|outside"):
        kernels.lstm_s8(*args, **{**kw, "cell_frac_bits": 16})
    with pytest.raises(KernelArgumentError, match="weights"):
        kernels.lstm_s8(args[0], args[1][:, :-1], args[2], **kw)
