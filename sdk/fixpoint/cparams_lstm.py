"""C field values of the recurrent layers: ``lstm`` (``fp_lstm_params_t``) and ``gru``
(``fp_gru_params_t``); see :mod:`fixpoint.cparams`.

Plan layer: ``params`` holds the offsets, the per-gate scales ``input_scale`` / ``recurrent_scale``
(lists of one ``{"multiplier", "shift"}`` per gate: lstm i, o, f, c; gru z, r, h), ``hidden_scale``,
``output_sequence``, ``reverse`` and, for lstm, ``cell_frac_bits`` and ``cell_clip``; ``arrays``
the ``weights`` [G * H, input_size + H], ``bias`` [2 * G * H] and the int16 tables.
``seq_len``, ``input_size`` and ``hidden_size`` come from the shapes. ``stateful`` (1 in a streaming
step plan, :mod:`fixpoint.streaming`) points ``state`` at the array ``state``; absent or 0 it is NULL.
"""

from __future__ import annotations

from typing import Any

from .cparams import ArrayRef, CParamsError, OpContext, _count

TABLES = ("sigmoid_lut", "tanh_lut", "cell_tanh_lut")
# op -> (gates, tables)
RECURRENT = {"lstm": (4, TABLES), "gru": (3, TABLES[:2])}
TABLE_ENTRIES = 513


def _gate_scales(c: OpContext, name: str, gates: int) -> list[dict[str, int]]:
    c._used.add(name)
    values = c.scalars.get(name)
    if not isinstance(values, (list, tuple)) or len(values) != gates:
        raise CParamsError(f"params field '{name}' must be a list of {gates} scales (one per gate), got {values!r}")
    return [c.scale(f"{name}[{g}]", v) for g, v in enumerate(values)]


def _geometry(c: OpContext, gates: int) -> tuple[int, int, int]:
    rows, width = c.array("weights", ndim=2).shape
    hidden = rows // gates
    input_size = width - hidden
    if rows % gates or hidden < 1 or input_size < 1:
        raise CParamsError(f"weights {[rows, width]} are not [{gates} * hidden, input_size + hidden]")
    if c.array("bias", ndim=1).shape[0] != 2 * rows:
        raise CParamsError(f"bias has {c.array('bias').shape[0]} entries, expected {2 * gates} * hidden = {2 * rows}")
    count = _count(c.in_shapes[0])
    if count % input_size:
        raise CParamsError(f"input of {count} elements is not a whole number of steps of {input_size}")
    return count // input_size, input_size, hidden


def _common(c: OpContext, op: str) -> dict[str, Any]:
    gates, tables = RECURRENT[op]
    seq_len, input_size, hidden = _geometry(c, gates)
    output_sequence = c.scalar("output_sequence", 1)
    expected = (seq_len if output_sequence else 1) * hidden
    if _count(c.out_shape) != expected:
        raise CParamsError(f"{op} output of {_count(c.out_shape)} elements, expected {expected}")
    for name in tables:
        if c.array(name, ndim=1).shape[0] != TABLE_ENTRIES:
            raise CParamsError(f"array '{name}' must have {TABLE_ENTRIES} entries")
    fields: dict[str, Any] = {
        "seq_len": seq_len,
        "input_size": input_size,
        "hidden_size": hidden,
        "input_offset": c.scalar("input_offset"),
        "hidden_offset": c.scalar("hidden_offset"),
        "output_offset": c.scalar("output_offset"),
        "input_scale": _gate_scales(c, "input_scale", gates),
        "recurrent_scale": _gate_scales(c, "recurrent_scale", gates),
        "hidden_scale": c.scale("hidden_scale"),
        "output_sequence": output_sequence,
        "reverse": c.scalar("reverse", 0),
    }
    fields.update({name: ArrayRef(name) for name in tables})
    fields["mode"] = dict(c.mode)
    # a streaming step plan's layer (fixpoint.streaming) keeps its state in the model's state buffer:
    # the consumer supplies the array "state" (the simulator a numpy slice, the generated C its buffer)
    fields["state"] = ArrayRef("state") if c.scalar("stateful", 0) else None
    return fields


def lstm(c: OpContext) -> dict[str, Any]:
    fields = _common(c, "lstm")
    fields.update(cell_frac_bits=c.scalar("cell_frac_bits"), cell_clip=c.scalar("cell_clip", 0))
    return fields


def gru(c: OpContext) -> dict[str, Any]:
    return _common(c, "gru")
