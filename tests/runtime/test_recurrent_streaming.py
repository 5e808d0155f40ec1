"""Streaming fp_lstm_s8 / fp_gru_s8 (params->state set): a sequence cut into random chunks, each
run from the state the previous one left, gives the whole-sequence outputs bit for bit, and the
C state after every chunk equals the Python reference's (fixpoint.reference.lstm / gru with
``state=``). Random parameters as tests/runtime/test_lstm.py / test_gru.py (cell saturation
included); ``make test`` runs a subset, FIXPOINT_KERNEL_CASES=all 10,000 cases per kernel."""

from __future__ import annotations

import os

import numpy as np
import pytest
from test_gru import _case as gru_case, _reference as gru_reference
from test_lstm import _case as lstm_case, _reference as lstm_reference

from fixpoint.reference.gru import GruParams, gru_initial_state, gru_s8 as gru_ref
from fixpoint.reference.lstm import LstmParams, lstm_initial_state, lstm_s8 as lstm_ref
from fixpoint.sim import kernels
from fixpoint.sim.kernel_args import KernelArgumentError

ALL = os.environ.get("FIXPOINT_KERNEL_CASES") == "all"
CASES = 10_000 if ALL else 80
TABLES = {"lstm": ("sigmoid_lut", "tanh_lut", "cell_tanh_lut"), "gru": ("sigmoid_lut", "tanh_lut")}


def _ref_params(op: str, kw: dict):
    scalars = {k: v for k, v in kw.items() if k not in TABLES[op]}
    scalars.update(input_scale=tuple(scalars["input_scale"]), recurrent_scale=tuple(scalars["recurrent_scale"]))
    return LstmParams(**scalars) if op == "lstm" else GruParams(**scalars)


def _chunks(rng: np.random.Generator, steps: int) -> list[tuple[int, int]]:
    cuts = sorted(set(int(c) for c in rng.integers(1, steps, int(rng.integers(0, steps)))) if steps > 1 else [])
    bounds = [0, *cuts, steps]
    return list(zip(bounds[:-1], bounds[1:]))


def _stream_case(op: str, args: tuple, kw: dict, rng: np.random.Generator, label: str) -> None:
    x, w, bias = args
    kw = {**kw, "reverse": 0}  # a stream runs forwards
    whole = (kernels.lstm_s8 if op == "lstm" else kernels.gru_s8)(x, w, bias, **kw)
    hidden = w.shape[0] // (4 if op == "lstm" else 3)
    init = lstm_initial_state if op == "lstm" else gru_initial_state
    c_state, ref_state = init(hidden, kw["hidden_offset"]), init(hidden, kw["hidden_offset"])
    p = _ref_params(op, kw)
    tables = [kw[t] for t in TABLES[op]]
    ref = lstm_ref if op == "lstm" else gru_ref
    parts = []
    for a, b in _chunks(rng, x.shape[0]):
        got = (kernels.lstm_s8 if op == "lstm" else kernels.gru_s8)(x[a:b], w, bias, **kw, state=c_state)
        want = ref(x[a:b], w, bias, *tables, p, state=ref_state)
        assert np.array_equal(got, want), f"{label}: chunk [{a}, {b}) outputs differ from the reference"
        assert c_state.tobytes() == ref_state.tobytes(), f"{label}: state after chunk [{a}, {b}) differs"
        parts.append(got)
    streamed = np.concatenate(parts) if kw["output_sequence"] else parts[-1]
    assert np.array_equal(streamed, whole), f"{label}: streamed outputs differ from the whole sequence"
    # the reference's whole-sequence final state is the streamed one
    final = init(hidden, kw["hidden_offset"])
    ref(x, w, bias, *tables, p, state=final)
    assert final.tobytes() == c_state.tobytes(), f"{label}: final state differs from the whole-sequence run"


@pytest.mark.parametrize("op", ["lstm", "gru"])
def test_streamed_chunks_equal_whole_sequence(op):
    rng = np.random.default_rng(1400 if op == "lstm" else 1401)
    for case in range(CASES):
        steps = int(rng.integers(1, 9)) if case % 50 else int(rng.integers(100, 130))  # some long ones
        if op == "lstm":
            args, kw = lstm_case(rng, steps, saturate=case % 7 == 0)
        else:
            args, kw = gru_case(rng, steps)
        _stream_case(op, args, kw, rng, f"{op} case {case}")


def test_state_checks_are_live():
    """A state that is not the reset one changes the outputs (so the comparisons above can fail),
    and a wrongly sized state is refused with a named argument."""
    rng = np.random.default_rng(7)
    args, kw = lstm_case(rng, 6)
    kw["reverse"] = 0
    fresh = lstm_initial_state(args[1].shape[0] // 4, kw["hidden_offset"])
    bumped = fresh.copy()
    bumped[-1] ^= 0x40
    a = kernels.lstm_s8(*args, **kw, state=fresh)
    b = kernels.lstm_s8(*args, **kw, state=bumped)
    assert not np.array_equal(a, b)
    assert np.array_equal(a, lstm_reference(args, kw)) and gru_reference is not None
    with pytest.raises(KernelArgumentError, match="state"):
        kernels.lstm_s8(*args, **kw, state=np.zeros(5, np.uint8))
