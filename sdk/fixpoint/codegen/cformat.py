"""Plain Python values -> C99 source text (initializers, literals, identifiers).

The one generic renderer of ``fixpoint.cparams`` field values: ``dict`` ->
designated initializer ``{.field = value, ...}``, ``list`` -> ``{a, b}``,
``str`` -> printed as-is (C enumerator or macro names), ``int`` -> a literal,
``None`` -> ``NULL`` and :class:`fixpoint.cparams.ArrayRef` -> whatever C
expression the caller's resolver names for that array. The generated tables
are rendered from exactly the values the simulator turns into cffi structs.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

from ..cparams import ArrayRef

ArrayResolver = Callable[[ArrayRef], str]

# Initializers whose one-line form is longer than this are broken into one
# field per line, so big layer structs stay reviewable in a diff.
LINE_LIMIT = 100
INDENT = "    "

_INT_MIN_LITERAL = {  # the positive magnitude of these minima overflows the signed type
    -(1 << 31): "(-2147483647 - 1)",
    -(1 << 63): "(-9223372036854775807LL - 1)",
}


class CFormatError(ValueError):
    """A value has no C rendering (e.g. a float in an integer table)."""


def c_int(value: int) -> str:
    """A C integer literal; the type minima are spelled so no literal overflows."""
    value = int(value)
    if value in _INT_MIN_LITERAL:
        return _INT_MIN_LITERAL[value]
    if value > (1 << 31) - 1 or value < -(1 << 31):
        return f"{value}LL"  # int64 tables (s16 bias): keep the literal type explicit
    return str(value)


def c_string(text: str) -> str:
    """A C string literal of ``text`` (printable ASCII kept, the rest escaped)."""
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F and ch != "?":  # '?' escaped: no trigraphs in C99
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def c_comment(text: str) -> str:
    """``text`` made safe inside a ``/* */`` comment."""
    return re.sub(r"[^\x20-\x7e]", "?", text).replace("*/", "* /").replace("/*", "/ *")


def c_identifier(name: str, fallback: str = "model") -> str:
    """``name`` as a lowercase C identifier: other characters -> '_', no leading digit."""
    ident = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_").lower()
    ident = re.sub(r"_+", "_", ident)
    if not ident:
        ident = fallback
    if ident[0].isdigit():
        ident = f"m_{ident}"
    return ident


def c_value(value: Any, resolve: ArrayResolver | None = None) -> str:
    """One-line C initializer of a cparams value tree."""
    if isinstance(value, dict):
        return "{" + ", ".join(f".{k} = {c_value(v, resolve)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(c_value(v, resolve) for v in value) + "}"
    return _scalar(value, resolve)


def c_initializer(value: Any, resolve: ArrayResolver | None = None, indent: int = 0) -> str:
    """C initializer of a cparams value tree, broken over lines when long.

    The first line carries no indentation (the caller places it); inner lines
    are indented from ``indent`` levels.
    """
    flat = c_value(value, resolve)
    if len(flat) + len(INDENT) * indent <= LINE_LIMIT or not _breakable(value):
        return flat
    inner = INDENT * (indent + 1)
    if isinstance(value, dict):
        items = [f"{inner}.{k} = {c_initializer(v, resolve, indent + 1)}" for k, v in value.items()]
    else:
        items = [f"{inner}{c_initializer(v, resolve, indent + 1)}" for v in value]
    return "{\n" + ",\n".join(items) + ",\n" + INDENT * indent + "}"


def _breakable(value: Any) -> bool:
    """Structs, and lists of structs or lists; a list of scalars stays on one line
    (one number per line would help nobody)."""
    if isinstance(value, dict):
        return True
    return isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in value)


def _scalar(value: Any, resolve: ArrayResolver | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, ArrayRef):
        if resolve is None:
            raise CFormatError(f"pointer field to array '{value.name}' but no array symbols given")
        return resolve(value)
    if isinstance(value, str):
        return value  # an enumerator or macro name, printed as-is
    if isinstance(value, (bool, np.bool_)):
        raise CFormatError(f"boolean {value!r} has no C field rendering here")
    if isinstance(value, (int, np.integer)):
        return c_int(int(value))
    raise CFormatError(f"value {value!r} of type {type(value).__name__} has no C rendering")


def c_array_lines(values: np.ndarray, per_line: int) -> list[str]:
    """The elements of an integer array as C literals, ``per_line`` per line."""
    flat = np.asarray(values).reshape(-1)
    if flat.dtype.kind not in "iu":
        raise CFormatError(f"constant tables must hold integers, got dtype {flat.dtype}")
    literals = [c_int(v) for v in flat.tolist()]
    return [", ".join(literals[i : i + per_line]) + "," for i in range(0, len(literals), per_line)]


def values_per_line(itemsize: int) -> int:
    """Narrow types get more values per line (16..24), so lines stay similar in width."""
    return 24 if itemsize <= 2 else 16
