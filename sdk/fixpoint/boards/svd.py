"""Import an accelerator's per-layer register block from a CMSIS-SVD file.

A board file describes the block as ``[accelerator.registers]``: register ``i`` is one word at
byte offset ``i * word_bytes`` and carries one layer ``field`` in its low ``width`` bits
(``fixpoint.boards.registers``). An SVD peripheral maps onto that form when

* every register has the same ``size`` (the word), and their ``addressOffset`` values are
  ``0, word, 2 * word, ...`` with no gap (the block is dense);
* every register has exactly one ``<field>``, at bit offset 0; its name (case-insensitive) is a
  layer field of :data:`REGISTER_FIELDS`, its bit width the register's ``width``;
* ``resetValue`` (register, else peripheral default) gives ``reset``; ``dataType`` ``int*_t``
  marks a signed register (without a ``dataType``, the fields that can be negative are signed).

Anything else is refused with a :class:`SvdError` naming the SVD element, so the CLI prints one
``error:`` line and writes nothing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .board import Register, RegisterMap
from .registers import REGISTER_FIELDS, SIGNED_FIELDS

__all__ = ["SvdError", "import_svd", "registers_toml"]


class SvdError(ValueError):
    """The SVD cannot become a board register map; the message names the element."""


@dataclass(frozen=True)
class _Element:
    """An XML element with the SVD path that names it in errors."""

    node: ET.Element
    where: str

    def text(self, tag: str, default: str | None = None) -> str | None:
        child = self.node.find(tag)
        if child is None or child.text is None:
            return default
        return child.text.strip()

    def number(self, tag: str, default: int | None = None) -> int:
        raw = self.text(tag)
        if raw is None:
            if default is None:
                raise SvdError(f"{self.where}: <{tag}> is missing")
            return default
        try:
            return _parse_int(raw)
        except ValueError:
            raise SvdError(f"{self.where}/{tag}: '{raw}' is not an SVD number") from None


def _parse_int(raw: str) -> int:
    """SVD scaledNonNegativeInteger: decimal, 0x / 0X hex, or #binary."""
    text = raw.strip()
    if text.startswith("#"):
        return int(text[1:], 2)
    return int(text, 0) if text.lower().startswith("0x") else int(text, 10)


def _load(path: Path) -> ET.Element:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise SvdError(f"{path}: not well-formed XML ({exc})") from None
    except OSError as exc:
        raise SvdError(f"{path}: {exc.strerror or exc}") from None
    if root.tag != "device":
        raise SvdError(f"{path}: root element is <{root.tag}>, an SVD file has <device>")
    return root


def _peripheral(root: ET.Element, name: str | None) -> _Element:
    found = [p for p in root.findall("./peripherals/peripheral") if p.find("registers") is not None]
    names = [(p.findtext("name") or "").strip() for p in found]
    if name is not None:
        for p, n in zip(found, names):
            if n.lower() == name.lower():
                return _Element(p, f"device/peripherals/peripheral[{n}]")
        raise SvdError(
            f"device/peripherals: no peripheral named '{name}' with registers (found: {', '.join(names) or 'none'})"
        )
    if len(found) != 1:
        raise SvdError(
            f"device/peripherals: {len(found)} peripherals with registers "
            f"({', '.join(names) or 'none'}); choose one with --peripheral"
        )
    return _Element(found[0], f"device/peripherals/peripheral[{names[0]}]")


def _width(field: _Element) -> tuple[int, int]:
    """(bit offset, bit width) of a field in any of SVD's three notations."""
    if field.text("bitRange") is not None:
        raw = field.text("bitRange") or ""
        try:
            msb, lsb = (int(v) for v in raw.strip("[]").split(":"))
        except ValueError:
            raise SvdError(f"{field.where}/bitRange: '{raw}' is not [msb:lsb]") from None
        return lsb, msb - lsb + 1
    if field.text("lsb") is not None:
        lsb, msb = field.number("lsb"), field.number("msb")
        return lsb, msb - lsb + 1
    return field.number("bitOffset"), field.number("bitWidth")


def _register(reg: _Element, index: int, word_bytes: int, default_reset: int) -> Register:
    name = reg.text("name") or ""
    for tag in ("dim", "derivedFrom"):
        if reg.node.find(tag) is not None or reg.node.get(tag) is not None:
            raise SvdError(f"{reg.where}: <{tag}> is not supported (list every register of the block)")
    offset = reg.number("addressOffset")
    if offset != index * word_bytes:
        raise SvdError(
            f"{reg.where}/addressOffset: 0x{offset:X}, expected 0x{index * word_bytes:X} "
            f"(the block's registers are consecutive {word_bytes}-byte words)"
        )
    fields = reg.node.findall("./fields/field")
    if len(fields) != 1:
        raise SvdError(f"{reg.where}/fields: {len(fields)} fields; a block register carries exactly one")
    field = _Element(fields[0], f"{reg.where}/fields/field[{(fields[0].findtext('name') or '').strip()}]")
    layer_field = (field.text("name") or "").lower()
    if layer_field not in REGISTER_FIELDS:
        raise SvdError(
            f"{field.where}/name: '{layer_field}' is not a layer field ({', '.join(sorted(REGISTER_FIELDS))})"
        )
    bit_offset, width = _width(field)
    if bit_offset != 0 or not 1 <= width <= 8 * word_bytes:
        raise SvdError(
            f"{field.where}: bits {bit_offset}..{bit_offset + width - 1}; a block register's "
            f"field starts at bit 0 and fits the {8 * word_bytes}-bit word"
        )
    data_type = reg.text("dataType")
    signed = data_type.startswith("int") if data_type else layer_field in SIGNED_FIELDS
    reset = reg.number("resetValue", default_reset) & ((1 << width) - 1)
    return Register(name=name, width=width, field=layer_field, signed=signed, offset=offset, reset=reset)


def import_svd(path: str | Path, peripheral: str | None = None) -> RegisterMap:
    """The register map of ``peripheral`` (the only one with registers when None)."""
    per = _peripheral(_load(Path(path)), peripheral)
    nodes = per.node.findall("./registers/register")
    if not nodes:
        raise SvdError(f"{per.where}/registers: no <register>")
    regs = [_Element(n, f"{per.where}/registers/register[{(n.findtext('name') or '').strip()}]") for n in nodes]
    regs.sort(key=lambda r: r.number("addressOffset"))
    size_bits = per.number("size", 32)
    sizes = {r.number("size", size_bits) for r in regs}
    if len(sizes) != 1 or next(iter(sizes)) not in (8, 16, 32):
        raise SvdError(
            f"{per.where}/registers: register sizes {sorted(sizes)}; the block needs one word size of 8, 16 or 32 bits"
        )
    word_bytes = next(iter(sizes)) // 8
    default_reset = per.number("resetValue", 0)
    return RegisterMap(
        word_bytes=word_bytes, registers=tuple(_register(r, i, word_bytes, default_reset) for i, r in enumerate(regs))
    )


def registers_toml(reg_map: RegisterMap, source: str) -> str:
    """The ``[accelerator.registers]`` table of a board file (docs/boards.md)."""
    lines = [
        f"# imported from {source} by `fixpoint boards import-svd`",
        "[accelerator.registers]",
        f"word_bytes = {reg_map.word_bytes}",
        "layer = [",
    ]
    for reg in reg_map.registers:
        parts = [f'name = "{reg.name}"', f"width = {reg.width}", f'field = "{reg.field}"']
        if reg.signed:
            parts.append("signed = true")
        if reg.reset:
            parts.append(f"reset = 0x{reg.reset:X}")
        lines.append("    { " + ", ".join(parts) + " },")
    lines.append("]")
    return "\n".join(lines) + "\n"
