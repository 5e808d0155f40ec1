"""Declarative files (board files, farm files): TOML read and checked against a JSON
schema, every fault reported as one line naming the file and the field.

Each caller passes its own exception class, so a board file's fault stays a
BoardFileError and a farm file's a FarmFileError.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["check_against_schema", "read_toml", "schema_validator"]


def read_toml(path: Path, what: str, error: type[Exception]) -> dict[str, Any]:
    """The TOML table in ``path`` (a ``what``, e.g. "board file"), or ``error`` with one line."""
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start} is 0x{exc.object[exc.start]:02x})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror}") from None


@lru_cache(maxsize=None)
def schema_validator(schema_file: Path) -> jsonschema.protocols.Validator:
    """The validator of a schema file (checked once per process)."""
    schema = json.loads(schema_file.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _dotted(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check_against_schema(path: Path, data: dict[str, Any], schema_file: Path, error: type[Exception]) -> None:
    """Raise ``error`` with the schema's best-matching fault as one line naming the field."""
    fault = jsonschema.exceptions.best_match(schema_validator(schema_file).iter_errors(data))
    if fault is None:
        return
    where = _dotted(fault.absolute_path)
    prefix = f"{where}." if where else ""
    if fault.validator == "required":
        missing = [k for k in fault.validator_value if k not in fault.instance]
        raise error(f"{path}: field '{prefix}{missing[0]}' is required")
    if fault.validator == "additionalProperties":
        extra = sorted(set(fault.instance) - set(fault.schema.get("properties", {})))
        raise error(f"{path}: unknown field '{prefix}{extra[0]}'")
    raise error(f"{path}: field '{where or '<top>'}': {fault.message}")
