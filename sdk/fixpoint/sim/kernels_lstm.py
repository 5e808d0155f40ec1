"""Argument preparation of the recurrent kernels ``fp_lstm_s8`` and ``fp_gru_s8``
(conventions: :mod:`fixpoint.sim.kernels`).

``lstm_s8(x, weights, bias, sigmoid_lut=, tanh_lut=, cell_tanh_lut=, input_offset=, hidden_offset=,
output_offset=, input_scale=[4 pairs], recurrent_scale=[4 pairs], hidden_scale=pair, cell_frac_bits=,
cell_clip=0, output_sequence=1, reverse=0, rounding=, multiplier_bits=)``: ``x`` int8
[seq_len, input_size], ``weights`` int8 [4H, input_size + H], ``bias`` int32 [8H], the tables int16
[513]; returns int8 [seq_len, H] or [H]. ``gru_s8`` alike with 3 gates and no cell arguments.
``state=`` (uint8 [3H] for lstm: cell int16 [H] then h int8 [H]; [H] h for gru) streams: the kernel
starts from it and leaves the final state in it, in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cparams_lstm import RECURRENT
from .kernel_args import array_arg, fail
from .kernel_prep import Call, mode_of, scale_pair


def prep_lstm(where: str, spec: Any, args: tuple, kw: dict) -> Any:
    gates, tables = RECURRENT[spec.op]
    if len(args) != 3:
        raise fail(where, "takes (x, weights, bias) positionally, the rest by keyword")
    x = array_arg(where, "x", args[0], np.int8, 2)
    w = array_arg(where, "weights", args[1], np.int8, 2)
    b = array_arg(where, "bias", args[2], np.int32, 1)
    hidden = w.shape[0] // gates
    if w.shape[0] % gates or w.shape[1] != x.shape[1] + hidden:
        raise fail(where, f"argument 'weights' {list(w.shape)} is not [{gates}H, {x.shape[1]} + H]")
    consts = {"weights": w, "bias": b}
    for name in tables:
        if kw.get(name) is None:
            raise fail(where, f"argument '{name}' is missing")
        consts[name] = array_arg(where, name, kw.pop(name), np.int16, 1)
    state = kw.pop("state", None)
    if state is not None:  # streaming: start from this state, leave the final one in it (in place)
        want = 3 * hidden if spec.op == "lstm" else hidden
        if (
            not isinstance(state, np.ndarray)
            or state.dtype != np.uint8
            or state.shape != (want,)
            or not state.flags.c_contiguous
            or not state.flags.writeable
            or state.ctypes.data % 2
        ):
            raise fail(
                where, f"argument 'state' must be a writable, contiguous, 2-byte aligned uint8 array of {want} bytes"
            )
        consts["state"] = state
        kw["stateful"] = 1
    rounding, bits = kw.pop("rounding", "double"), kw.pop("multiplier_bits", 32)
    mode = mode_of(where, rounding, bits)
    for name in ("input_scale", "recurrent_scale"):
        values = kw.get(name)
        if not isinstance(values, (list, tuple)) or len(values) != gates:
            raise fail(where, f"argument '{name}' must be {gates} (multiplier, shift) pairs")
        kw[name] = [scale_pair(where, f"{name}[{g}]", v, rounding, int(bits)) for g, v in enumerate(values)]
    kw["hidden_scale"] = scale_pair(where, "hidden_scale", kw.get("hidden_scale"), rounding, int(bits))
    out = (x.shape[0], hidden) if kw.get("output_sequence", 1) else (hidden,)
    return Call([x], consts, out, kw, mode)
