"""C field values of an ``lstm`` layer (``fp_lstm_params_t``); see :mod:`fixpoint.cparams`.

Plan layer: ``params`` holds the offsets, the per-gate scales ``input_scale`` / ``recurrent_scale``
(lists of four ``{"multiplier", "shift"}``, gate order i, o, f, c), ``hidden_scale``,
``cell_frac_bits``, ``cell_clip``, ``output_sequence`` and ``reverse``; ``arrays`` the ``weights``
[4H, input_size + H], ``bias`` [8H] and the three int16 tables. ``seq_len``, ``input_size`` and
``hidden_size`` come from the shapes.
"""
from __future__ import annotations

from typing import Any

from .cparams import ArrayRef, CParamsError, OpContext, _count

GATES = 4
TABLES = ("sigmoid_lut", "tanh_lut", "cell_tanh_lut")
TABLE_ENTRIES = 513


def _gate_scales(c: OpContext, name: str) -> list[dict[str, int]]:
    c._used.add(name)
    values = c.scalars.get(name)
    if not isinstance(values, (list, tuple)) or len(values) != GATES:
        raise CParamsError(f"params field '{name}' must be a list of {GATES} scales (gates i, o, f, c), got {values!r}")
    return [c.scale(f"{name}[{g}]", v) for g, v in enumerate(values)]


def _geometry(c: OpContext) -> tuple[int, int, int]:
    rows, width = c.array("weights", ndim=2).shape
    hidden = rows // GATES
    input_size = width - hidden
    if rows % GATES or hidden < 1 or input_size < 1:
        raise CParamsError(f"lstm weights {[rows, width]} are not [4 * hidden, input_size + hidden]")
    if c.array("bias", ndim=1).shape[0] != 2 * rows:
        raise CParamsError(f"lstm bias has {c.array('bias').shape[0]} entries, expected 8 * hidden = {2 * rows}")
    count = _count(c.in_shapes[0])
    if count % input_size:
        raise CParamsError(f"lstm input of {count} elements is not a whole number of steps of {input_size}")
    return count // input_size, input_size, hidden


def lstm(c: OpContext) -> dict[str, Any]:
    seq_len, input_size, hidden = _geometry(c)
    output_sequence = c.scalar("output_sequence", 1)
    expected = (seq_len if output_sequence else 1) * hidden
    if _count(c.out_shape) != expected:
        raise CParamsError(f"lstm output of {_count(c.out_shape)} elements, expected {expected}")
    for name in TABLES:
        if c.array(name, ndim=1).shape[0] != TABLE_ENTRIES:
            raise CParamsError(f"array '{name}' must have {TABLE_ENTRIES} entries")
    fields: dict[str, Any] = {
        "seq_len": seq_len, "input_size": input_size, "hidden_size": hidden,
        "input_offset": c.scalar("input_offset"), "hidden_offset": c.scalar("hidden_offset"),
        "output_offset": c.scalar("output_offset"),
        "input_scale": _gate_scales(c, "input_scale"), "recurrent_scale": _gate_scales(c, "recurrent_scale"),
        "hidden_scale": c.scale("hidden_scale"), "cell_frac_bits": c.scalar("cell_frac_bits"),
        "cell_clip": c.scalar("cell_clip", 0), "output_sequence": output_sequence, "reverse": c.scalar("reverse", 0),
    }
    fields.update({name: ArrayRef(name) for name in TABLES})
    fields["mode"] = dict(c.mode)
    return fields
