"""Write a CMSIS-SVD description of a board's per-layer register block (test input for
``fixpoint boards import-svd``; generated here, never taken from a vendor file)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from fixpoint.boards.board import RegisterMap


def _add(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = text
    return child


def svd_tree(
    reg_map: RegisterMap, peripheral: str = "NPU", base: int = 0x50000000, decoys: tuple[str, ...] = ()
) -> ET.ElementTree:
    """An SVD <device> whose peripheral ``peripheral`` holds ``reg_map`` (one field per register, at bit
    0, named after the layer field); ``decoys``: further peripherals with one unrelated register."""
    device = ET.Element("device", {"schemaVersion": "1.3"})
    for tag, text in (
        ("vendor", "Fixpoint tests"),
        ("name", "FPNPU"),
        ("version", "1.0"),
        ("description", "reference heterogeneous accelerator"),
        ("addressUnitBits", "8"),
        ("width", "32"),
        ("size", "32"),
        ("resetValue", "0x0"),
        ("resetMask", "0xFFFFFFFF"),
    ):
        _add(device, tag, text)
    peripherals = ET.SubElement(device, "peripherals")
    per = ET.SubElement(peripherals, "peripheral")
    _add(per, "name", peripheral)
    _add(per, "baseAddress", f"0x{base:08X}")
    regs = ET.SubElement(per, "registers")
    for reg in reg_map.registers:
        r = ET.SubElement(regs, "register")
        _add(r, "name", reg.name)
        _add(r, "description", f"layer field {reg.field}")
        _add(r, "addressOffset", f"0x{reg.offset:X}")
        _add(r, "size", str(8 * reg_map.word_bytes))
        if reg.signed:
            _add(r, "dataType", f"int{8 * reg_map.word_bytes}_t")
        _add(r, "resetValue", f"0x{reg.reset:X}")
        field = ET.SubElement(ET.SubElement(r, "fields"), "field")
        _add(field, "name", reg.field.upper())
        _add(field, "bitOffset", "0")
        _add(field, "bitWidth", str(reg.width))
    for k, name in enumerate(decoys):
        other = ET.SubElement(peripherals, "peripheral")
        _add(other, "name", name)
        _add(other, "baseAddress", f"0x{base + 0x1000 * (k + 1):08X}")
        r = ET.SubElement(ET.SubElement(other, "registers"), "register")
        _add(r, "name", "CTRL")
        _add(r, "addressOffset", "0x0")
    return ET.ElementTree(device)


def write_svd(reg_map: RegisterMap, path: Path, **kwargs) -> Path:
    tree = svd_tree(reg_map, **kwargs)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
