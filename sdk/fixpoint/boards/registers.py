"""Per-layer accelerator register maps: vocabulary, checks, value encoding.

A board's ``[accelerator.registers]`` lists, in order, the registers of the
block an engine reads for each layer. Register ``i`` occupies one word at byte
offset ``i * word_bytes``; its ``width`` low bits are significant. The code
generator fills one block per layer from the lowered plan, using
:data:`REGISTER_FIELDS` to know what each ``field`` means and
:func:`encode_register` to turn the value into the stored word.
"""

from __future__ import annotations

from .board import Accelerator, Register

#: field -> what the register holds (the plan's layer/tensor quantity).
REGISTER_FIELDS: dict[str, str] = {
    "op": "runtime op code (fp_op_t in runtime/include/fp_types.h)",
    "datapath": "fp_datapath_t: 0 = s8, 1 = s4, 2 = s16, 3 = s2, 4 = s1",
    "engine": "index of the layer's engine in [[accelerator.engines]]",
    "in_addr": "arena byte offset of input 0",
    "in2_addr": "arena byte offset of input 1 (add, mul)",
    "out_addr": "arena byte offset of the output",
    "w_addr": "byte offset of the layer's weights in the model's constant blob",
    "bias_addr": "byte offset of the layer's bias in the constant blob",
    "mult_addr": "byte offset of the per-channel int32 multiplier table",
    "shift_addr": "byte offset of the per-channel int32 shift table",
    "mult": "per-tensor multiplier, Q(multiplier_bits - 1)",
    "shift": "per-tensor shift (> 0: left)",
    "in_h": "input height",
    "in_w": "input width",
    "in_c": "input channels",
    "out_h": "output height",
    "out_w": "output width",
    "out_c": "output channels",
    "k_h": "kernel (filter / pool window) height",
    "k_w": "kernel width",
    "stride_h": "vertical stride",
    "stride_w": "horizontal stride",
    "dilation_h": "vertical dilation",
    "dilation_w": "horizontal dilation",
    "pad_top": "top padding (bottom is implied by the output size)",
    "pad_left": "left padding (right is implied by the output size)",
    "in_zp": "input zero point (= -input_offset)",
    "in2_zp": "zero point of input 1 (= -input2_offset)",
    "out_zp": "output zero point (= output_offset)",
    "w_zp": "weight zero point (= -filter_offset)",
    "act_min": "activation clamp minimum, output domain",
    "act_max": "activation clamp maximum, output domain",
    "reserved": "always 0 (padding / future use)",
}

#: fields whose values can be negative: their registers must be signed.
SIGNED_FIELDS = frozenset({"shift", "in_zp", "in2_zp", "out_zp", "w_zp", "act_min", "act_max"})


def register_range(reg: Register) -> tuple[int, int]:
    """Smallest and largest value the register can hold."""
    if reg.signed:
        return -(1 << (reg.width - 1)), (1 << (reg.width - 1)) - 1
    return 0, (1 << reg.width) - 1


def encode_register(reg: Register, value: int) -> int:
    """The stored word: ``value`` in ``width``-bit two's complement, zero-extended.

    Raises ValueError naming the register when the value does not fit.
    """
    lo, hi = register_range(reg)
    if not lo <= value <= hi:
        raise ValueError(f"register {reg.name}: value {value} outside [{lo}, {hi}]")
    return value & ((1 << reg.width) - 1)


def check_register_map(acc: Accelerator) -> str | None:
    """First inconsistency between the register map and the profile, or None."""
    regs = acc.registers
    assert regs is not None
    for check in (_check_names, _check_widths, _check_scale_fields, _check_scale_widths):
        problem = check(acc)
        if problem:
            return problem
    return None


def _where(acc: Accelerator, reg: Register) -> str:
    assert acc.registers is not None
    return f"field 'accelerator.registers.layer[{acc.registers.registers.index(reg)}]'"


def _check_names(acc: Accelerator) -> str | None:
    seen_names: set[str] = set()
    seen_fields: set[str] = set()
    for reg in acc.registers.registers:  # type: ignore[union-attr]
        if reg.name in seen_names:
            return f"{_where(acc, reg)}: register name '{reg.name}' is used twice"
        if reg.field in seen_fields and reg.field != "reserved":
            return f"{_where(acc, reg)}: field '{reg.field}' is carried by two registers"
        seen_names.add(reg.name)
        seen_fields.add(reg.field)
    return None


def _check_widths(acc: Accelerator) -> str | None:
    word_bits = 8 * acc.registers.word_bytes  # type: ignore[union-attr]
    for reg in acc.registers.registers:  # type: ignore[union-attr]
        if reg.width > word_bits:
            return f"{_where(acc, reg)}: width {reg.width} exceeds the {word_bits}-bit word"
        if reg.field in SIGNED_FIELDS and not reg.signed:
            return f"{_where(acc, reg)}: '{reg.field}' can be negative, set signed = true"
        if reg.reset >> reg.width:
            return f"{_where(acc, reg)}: reset value 0x{reg.reset:X} does not fit {reg.width} bits"
    return None


def _check_scale_fields(acc: Accelerator) -> str | None:
    """Per-channel profiles address scale tables, per-tensor ones carry the
    values; shift_only hardware has no multiplier at all."""
    fields = set(acc.registers.fields())  # type: ignore[union-attr]
    scale = {"mult", "shift"} if acc.rounding != "shift_only" else {"shift"}
    tables = {f"{name}_addr" for name in scale}
    wanted, banned = (tables, {"mult", "shift"}) if acc.per_channel else (scale, {"mult_addr", "shift_addr"})
    mode = "per-channel" if acc.per_channel else "per-tensor"
    misplaced = sorted(banned & fields)
    if misplaced:
        return (
            f"field 'accelerator.registers': '{misplaced[0]}' does not fit a {mode} profile "
            f"(per_channel = {str(acc.per_channel).lower()})"
        )
    missing = sorted(wanted - fields)
    if missing:
        return (
            f"field 'accelerator.registers': a {mode} '{acc.rounding}' profile needs a register carrying '{missing[0]}'"
        )
    return None


def _check_scale_widths(acc: Accelerator) -> str | None:
    regs = acc.registers
    mult = regs.by_field("mult")  # type: ignore[union-attr]
    if mult is not None and register_range(mult)[1] < (1 << (acc.multiplier_bits - 1)) - 1:
        return f"{_where(acc, mult)}: {mult.width} bits cannot hold a {acc.multiplier_bits}-bit multiplier"
    shift = regs.by_field("shift")  # type: ignore[union-attr]
    if shift is not None:
        lo, hi = register_range(shift)
        if acc.shift_min < lo or acc.shift_max > hi:
            return f"{_where(acc, shift)}: {shift.width} bits cannot hold shifts [{acc.shift_min}, {acc.shift_max}]"
    return _check_engine_widths(acc)


def _check_engine_widths(acc: Accelerator) -> str | None:
    """Every engine's own multiplier and shift range must fit the block's registers too."""
    regs = acc.registers
    mult, shift = regs.by_field("mult"), regs.by_field("shift")  # type: ignore[union-attr]
    for i, engine in enumerate(acc.engines):
        where = f"field 'accelerator.engines[{i}]"
        if (
            mult is not None
            and engine.rounding != "shift_only"
            and register_range(mult)[1] < (1 << (engine.multiplier_bits - 1)) - 1
        ):
            return f"{where}.multiplier_bits': {engine.multiplier_bits} bits do not fit register {mult.name}"
        if shift is not None:
            lo, hi = register_range(shift)
            if engine.shift_min < lo or engine.shift_max > hi:
                return (
                    f"{where}.shift_max': shift range [{engine.shift_min}, {engine.shift_max}] is wider "
                    f"than register {shift.name} ({shift.width} bits)"
                )
    return None
