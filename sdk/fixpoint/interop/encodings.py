"""Encodings in: AIMET encodings JSON (0.6.1, 1.0.0, 2.0.0) or a Fixpoint CTable -> given quantization.

Every format is read into the same two tables the QDQ import produces (``GivenActivation`` by tensor
name, ``GivenParam`` by the node that reads the parameter), so the rest of the flow is shared
(docs/interop.md). AIMET 0.6.1 and 1.0.0 store ``offset = -zero_point`` on an unsigned integer of
``bitwidth`` bits (``real = scale * (q + offset)``); 2.0.0 stores ``y_scale`` / ``y_zero_point`` with an
ONNX ``output_dtype``, like QuantizeLinear. A CTable gives its tensors' signed scale and zero point,
a mixed-width plan's requantized copies as ``conversions`` (interop/ctable_in.py).
Names that match no tensor or parameter of the model are an error listing them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from fixpoint.interop.ctable_in import read_ctable_encodings
from fixpoint.interop.qdq_import import GivenActivation, GivenParam, QdqError, _check_scale, _param, _quantize

DTYPES = {
    "int8": (8, True),
    "uint8": (8, False),
    "int16": (16, True),
    "uint16": (16, False),
    "int4": (4, True),
    "uint4": (4, False),
    "int32": (32, True),
}


@dataclass
class Encoding:
    """One tensor's encoding, on the integer type it names: real = scale[c] * (q - zero_point[c])."""

    name: str
    scale: np.ndarray
    zero_point: np.ndarray
    bits: int
    signed: bool
    axis: int | None = None


@dataclass
class Encodings:
    activations: dict[str, Encoding] = field(default_factory=dict)
    params: dict[str, Encoding] = field(default_factory=dict)
    tensors: dict[str, Encoding] = field(default_factory=dict)  # 2.0.0: either kind
    # CTable only: value -> its requantized copy of the other width; tensors the plan derives from others
    conversions: dict[str, Encoding] = field(default_factory=dict)
    derived: dict[str, Encoding] = field(default_factory=dict)


def _fail(path: Path, what: str) -> QdqError:
    return QdqError(f"{path}: {what}")


def _aimet_legacy(name: str, items: list[dict[str, Any]], path: Path) -> Encoding:
    """0.6.1 entries (one dict per channel): bitwidth, offset, scale, is_symmetric."""
    try:
        bits = int(items[0]["bitwidth"])
        scale = _check_scale(np.array([float(e["scale"]) for e in items]), name)
        zp = -np.array([int(e["offset"]) for e in items], np.int64)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise _fail(path, f"tensor '{name}': bad 0.6.1 encoding ({type(exc).__name__}: {exc})") from None
    return Encoding(name, scale, zp, bits, False)


def _aimet_v1(entry: dict[str, Any], path: Path) -> Encoding:
    """1.0.0 entry: name, bw, scale[], offset[], is_sym, enc_type."""
    name = str(entry.get("name", ""))
    try:
        bits = int(entry["bw"])
        scale = _check_scale(np.asarray(entry["scale"], np.float64), name)
        zp = -np.asarray(entry["offset"], np.int64).reshape(-1)
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(path, f"tensor '{name}': bad 1.0.0 encoding ({type(exc).__name__}: {exc})") from None
    return Encoding(name, scale, zp, bits, False)


def _aimet_v2(entry: dict[str, Any], path: Path) -> Encoding:
    """2.0.0 entry: name, output_dtype, y_scale, y_zero_point, axis."""
    name = str(entry.get("name", ""))
    dtype = str(entry.get("output_dtype", "uint8"))
    if dtype not in DTYPES:
        raise _fail(path, f"tensor '{name}': output_dtype '{dtype}' is not one of {', '.join(DTYPES)}")
    bits, signed = DTYPES[dtype]
    scale = _check_scale(np.asarray(entry.get("y_scale", []), np.float64), name)
    zp = np.asarray(entry.get("y_zero_point", 0), np.int64).reshape(-1)
    axis = entry.get("axis")
    return Encoding(name, scale, zp, bits, signed, None if axis is None else int(axis))


def read_encodings(path: str | Path) -> Encodings:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeError, json.JSONDecodeError) as exc:
        raise _fail(path, f"unreadable encodings file ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise _fail(path, "not an encodings file (a JSON object expected)")
    if data.get("format") == "fixpoint-ctable":
        return read_ctable_encodings(data, path)
    version = str(data.get("version", "0.6.1"))
    result = Encodings()
    if version.startswith("2."):
        for entry in data.get("encodings", []):
            enc = _aimet_v2(entry, path)
            result.tensors[enc.name] = enc
        return result
    for kind in ("activation_encodings", "param_encodings"):
        table = getattr(result, "activations" if kind.startswith("act") else "params")
        section = data.get(kind, {})
        if version.startswith("1."):
            for entry in section:
                enc = _aimet_v1(entry, path)
                table[enc.name] = enc
        elif version.startswith("0."):
            for name, items in section.items():
                table[name] = _aimet_legacy(name, items if isinstance(items, list) else [items], path)
        else:
            raise _fail(path, f"encodings version '{version}' is not supported (0.6.1, 1.0.0, 2.0.0)")
    return result


def _check_zero_point(enc: Encoding, path: Path) -> None:
    lo, hi = (-(1 << (enc.bits - 1)), (1 << (enc.bits - 1)) - 1) if enc.signed else (0, (1 << enc.bits) - 1)
    bad = (enc.zero_point < lo) | (enc.zero_point > hi)
    if bad.any():
        raise _fail(
            path,
            f"tensor '{enc.name}': zero point {int(enc.zero_point[bad][0])} is outside its type's range [{lo}, {hi}]",
        )


def _channel_axis(w: np.ndarray, channels: int, axis: int | None) -> int:
    if axis is not None or channels == 1:
        return axis or 0
    return 0 if w.shape[0] == channels else max(i for i, d in enumerate(w.shape) if d == channels)


def _unmatched(names: list[str], path: Path, model_path: str) -> None:
    if names:
        shown = ", ".join(names[:8]) + (f" (and {len(names) - 8} more)" if len(names) > 8 else "")
        raise _fail(path, f"{len(names)} encoding name(s) match no tensor or parameter of {model_path}: {shown}")


def _activation(name: str, e: Encoding, path: Path) -> GivenActivation:
    _check_zero_point(e, path)
    if e.scale.size != 1:
        raise _fail(path, f"tensor '{e.name}': per-channel activation encodings are not supported")
    return GivenActivation(name, float(e.scale[0]), int(e.zero_point[0]), e.bits, e.signed)


def given_from_encodings(
    enc: Encodings, model: onnx.ModelProto, path: str | Path, model_path: str
) -> tuple[dict[str, GivenActivation], dict[str, GivenParam], dict[str, GivenActivation]]:
    """Activations by tensor name, parameters by initializer name and (CTable) the requantized copies of the
    other width by the value they copy, checked against ``model``."""
    path = Path(path)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    values = {o for n in model.graph.node for o in n.output} | {i.name for i in model.graph.input}
    acts, params = dict(enc.activations), dict(enc.params)
    for name, e in enc.tensors.items():
        (params if name in inits else acts)[name] = e
    # a derived tensor that is no model value (a layout copy) is the plan's own: nothing to give
    acts.update({name: e for name, e in enc.derived.items() if name in values})
    lost = [e.name for v, e in enc.conversions.items() if v not in values]
    _unmatched([n for n in acts if n not in values] + lost + [n for n in params if n not in inits], path, model_path)
    activations = {name: _activation(name, e, path) for name, e in acts.items()}
    conversions = {value: _activation(value, e, path) for value, e in enc.conversions.items()}
    given = {}
    for name, e in params.items():
        _check_zero_point(e, path)
        w = np.asarray(inits[name])
        axis = _channel_axis(w, e.scale.size, e.axis)
        if e.scale.size > 1 and (w.ndim == 0 or w.shape[axis] != e.scale.size):
            raise _fail(path, f"tensor '{name}': {e.scale.size} per-channel scales do not match shape {list(w.shape)}")
        zp = np.broadcast_to(e.zero_point, e.scale.shape).astype(np.int64)
        q = _quantize(w, e.scale, zp, axis, e.bits, e.signed)
        given[name] = _param(name, q, e.scale, zp, axis, e.bits, e.signed)
    return activations, given, conversions
