"""A Fixpoint CTable read as encodings (``fixpoint calibrate --encodings ctable.json``).

Every tensor gives its signed scale and zero point. A mixed-width plan's table names its requantized
copies by rule ``requantized:<source>`` (docs/ctable.md): ``<value>@int16`` is a copy of ``value`` at the
other width, and a graph output its producer made at the other width is ``<value>@int16`` (rule
``calibrated``) with the plan output ``value`` its copy. Both become what a QDQ model's second Q/DQ pair
gives: the value's own quantization and its copy (``Encodings.conversions``), so the per-layer widths
follow as for a QDQ import (interop/given_job.py). Tensors the plan derives from another (``same_as_*``,
fixed LUT/softmax outputs) that are no model values (a layout copy such as ``scaled.rows``) are the
plan's own; a ``same_as_*`` entry must agree with the tensor it names. Inconsistent tables are one error.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from fixpoint.interop.qdq_import import QdqError, _check_scale

log = logging.getLogger(__name__)

__all__ = ["read_ctable_encodings"]

_COPY_NAME = re.compile(r"^(?P<value>.+)@int(?P<bits>8|16)$")
# rules of tensors whose quantization the plan derives from another tensor or fixes by the op
_DERIVED = ("same_as_input:", "same_as_output:", "softmax_output", "fixed_output:")


def _fail(path: Path, name: str, what: str) -> QdqError:
    return QdqError(f"{path}: tensor '{name}': {what}")


def _entry(t: Any, path: Path):
    """The ``Encoding`` of one CTable tensor entry (signed, one scale), checked."""
    from fixpoint.interop.encodings import Encoding  # noqa: PLC0415 - encodings imports this module

    if not isinstance(t, dict) or "name" not in t:
        raise QdqError(f"{path}: a CTable tensor entry without a name: {str(t)[:60]}")
    name = str(t["name"])
    try:
        scale = _check_scale(np.array([float(t["scale"])], np.float64), name)
        zp, bits = int(t["zero_point"]), int(t["bits"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(path, name, f"bad CTable entry ({type(exc).__name__}: {exc})") from None
    if bits not in (8, 16) or t.get("dtype", f"int{bits}") != f"int{bits}":
        raise _fail(path, name, f"bits {bits} / dtype {t.get('dtype')!r}: a plan tensor is int8 or int16")
    if bits == 16 and zp != 0:
        raise _fail(path, name, f"16-bit activations need zero point 0 (the 16-bit kernels take no offset), got {zp}")
    return Encoding(name, scale, np.array([zp], np.int64), bits, True)


def _copy_value(name: str, source: str, entries: dict, path: Path) -> str:
    """The model value a ``requantized:<source>`` entry ``name`` is a copy of (checked against its source)."""
    if source not in entries:
        raise _fail(path, name, f"rule requantized:{source} names no tensor of the CTable")
    bits, source_bits = entries[name].bits, entries[source].bits
    if bits == source_bits:
        raise _fail(path, name, f"a requantized copy of '{source}' at its own width int{bits} (a copy changes width)")
    if name == f"{source}@int{bits}":
        return source
    if source == f"{name}@int{source_bits}":  # a graph output made at the other width: the copy is the output
        return name
    raise _fail(
        path,
        name,
        f"rule requantized:{source}: a copy is named '{source}@int{bits}' (or its source '{name}@int{source_bits}')",
    )


def _check_derived(name: str, rule: str, entries: dict, path: Path) -> None:
    """A ``same_as_*`` tensor holds exactly its origin's quantization (the plan gives it no other); the origin
    read at the other width is its copy (``same_as_input:scaled`` of an int16 layer reads ``scaled@int16``)."""
    if not rule.startswith(("same_as_input:", "same_as_output:")):
        return
    e, origin_name = entries[name], rule.split(":", 1)[1]
    candidates = (entries.get(origin_name), entries.get(f"{origin_name}@int{e.bits}"))
    origin = next((o for o in candidates if o is not None and o.bits == e.bits), None)
    if origin is not None and (origin.scale[0] != e.scale[0] or origin.zero_point[0] != e.zero_point[0]):
        raise _fail(path, name, f"rule {rule}, but its scale or zero point differ from '{origin.name}'")


def read_ctable_encodings(data: dict[str, Any], path: Path):
    """``Encodings`` of a CTable: activations by model value, copies of the other width by value in
    ``conversions``, derived tensors in ``derived`` (used only where they are model values)."""
    from fixpoint.interop.encodings import Encodings  # noqa: PLC0415 - encodings imports this module

    tensors = data.get("tensors", [])
    if not isinstance(tensors, list):
        raise QdqError(f"{path}: CTable 'tensors' is not a list")
    entries = {e.name: e for e in (_entry(t, path) for t in tensors)}
    if len(entries) != len(tensors):
        names = [str(t["name"]) for t in tensors]
        raise _fail(path, next(n for n in names if names.count(n) > 1), "listed twice in the CTable")
    rules = {str(t["name"]): str(t.get("rule", "calibrated")) for t in tensors}
    result = Encodings()
    renamed: dict[str, str] = {}  # '<value>@int16' made by the value's producer -> value
    for name, rule in rules.items():
        if not rule.startswith("requantized:"):
            continue
        source = rule.split(":", 1)[1]
        value = _copy_value(name, source, entries, path)
        if value in result.conversions:
            raise _fail(path, name, f"a second requantized copy of '{value}' ('{result.conversions[value].name}')")
        result.conversions[value] = entries[name]
        if value == name:
            renamed[source] = value
    for name, rule in rules.items():
        if rule.startswith("requantized:"):
            continue
        if rule.startswith(_DERIVED):
            _check_derived(name, rule, entries, path)
            result.derived[name] = entries[name]
        else:
            result.activations[renamed.get(name, name)] = entries[name]
    missing = [value for value in result.conversions if value not in result.activations | result.derived]
    if missing:
        copy = result.conversions[missing[0]].name
        raise _fail(path, copy, f"a requantized copy of '{missing[0]}', which has no entry of its own in the CTable")
    return result
