"""Per-layer accelerator register values, taken from the cparams field values.

``fixpoint.boards.registers`` defines what each register ``field`` means
(:data:`REGISTER_FIELDS`) and how a value becomes a stored word
(:func:`encode_register`). What it does not have is the step in between --
which number of a lowered layer a field holds -- so that lives here:
:data:`FIELD_VALUES` reads every value from ``cparams.layer_struct`` /
``tensor_struct`` and the constant blob, never from a recomputation.
Boards without ``[accelerator.registers]`` get :data:`DEFAULT_REGISTER_MAP`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..boards.board import Register, RegisterMap
from ..boards.registers import REGISTER_FIELDS, SIGNED_FIELDS, encode_register
from ..cparams import ArrayRef, tensor_struct
from ..ir import ModelError
from ..plan import Plan
from ..sim import native
from ..target import UNASSIGNED_ENGINE, default_engine
from .constblob import ConstBlob


class CodegenError(ModelError):
    """The plan cannot become C for this board; the message names the culprit."""


def _default_map() -> RegisterMap:
    """One 32-bit register per known field, in REGISTER_FIELDS order ('reserved' left out)."""
    fields = [f for f in REGISTER_FIELDS if f != "reserved"]
    return RegisterMap(
        word_bytes=4,
        registers=tuple(
            Register(name=f.upper(), width=32, field=f, signed=f in SIGNED_FIELDS, offset=4 * i)
            for i, f in enumerate(fields)
        ),
    )


DEFAULT_REGISTER_MAP = _default_map()


@dataclass(frozen=True)
class Source:
    """Where an address register's value lives, so C can name it symbolically."""

    kind: str  # "tensor" (arena offset of tensor `index`) | "const" (blob offset)
    index: int  # tensor index, or layer index for "const"
    array: str = ""  # blob array name for "const"


@dataclass(frozen=True)
class RegisterCell:
    register: Register
    value: int  # the field's value
    word: int  # the stored word (encode_register)
    source: Source | None = None


class LayerFields:
    """What the field readers see for one layer: its cparams dicts and the blob."""

    def __init__(self, plan: Plan, index: int, struct: dict[str, Any], blob: ConstBlob, engines: list[str]):
        self.plan, self.index, self.blob, self.engines = plan, index, blob, engines
        self.layer = plan.layers[index]
        self.struct = struct  # cparams.layer_struct(plan, index)
        self.params: dict[str, Any] = next(iter(self.struct["params"].values()))

    def enum(self, name: str) -> int:
        # The C compiler's value of the enumerator (the runtime module is built from fp_types.h).
        return int(getattr(native.lib(), name))

    def tensor(self, k: int) -> tuple[int, dict[str, Any]] | None:
        """(tensor index, tensor_struct) of input k, or of the output for k = -1."""
        if k >= self.struct["n_inputs"]:
            return None
        t = self.struct["output"] if k < 0 else self.struct["inputs"][k]
        return t, tensor_struct(self.plan, t)

    def const(self, ref: Any) -> tuple[int, Source | None]:
        if not isinstance(ref, ArrayRef):
            return 0, None
        return self.blob.member(self.index, ref.name).offset, Source("const", self.index, ref.name)

    def param(self, *names: str) -> int:
        """First of ``names`` present in the params struct (a list: its first entry), else 0."""
        for name in names:
            value = self.params.get(name)
            if isinstance(value, list):
                value = value[0]
            if isinstance(value, int):
                return value
        return 0

    def requant_entries(self) -> int:
        requant = self.params.get("requant")
        return int(requant["n"]) if requant else 0


Reader = Callable[[LayerFields], "tuple[int, Source | None] | int"]


def _addr(k: int) -> Reader:
    def read(f: LayerFields):
        found = f.tensor(k)
        if found is None:
            return 0
        index, ts = found
        return ts["offset"], Source("tensor", index)

    return read


def _dim(k: int, axis: str) -> Reader:
    def read(f: LayerFields) -> int:
        found = f.tensor(k)
        return found[1]["dims"][axis] if found else 0

    return read


def _kernel(axis: str) -> Reader:
    def read(f: LayerFields) -> int:
        if isinstance(f.params.get("filter"), dict):
            return f.params["filter"][axis]
        return f.param(f"filter_{axis}")

    return read


def _per_tensor(key: str) -> Reader:
    """mult / shift: the single requant table entry, or the op's output fp_scale_t."""

    def read(f: LayerFields) -> int:
        n = f.requant_entries()
        if n == 1:
            return int(f.blob.member(f.index, "multiplier" if key == "multiplier" else "shift").values[0])
        if n > 1:
            return 0  # per-channel: only valid with mult_addr / shift_addr (checked by the caller)
        for name in ("output_scale", "scale"):
            if isinstance(f.params.get(name), dict):
                return f.params[name][key]
        return 0

    return read


def _engine(f: LayerFields) -> int:
    if f.layer.engine in f.engines:
        return f.engines.index(f.layer.engine)
    if f.layer.engine == UNASSIGNED_ENGINE:
        return default_engine(list(f.engines))
    raise CodegenError(
        f"layer {f.index} '{f.layer.name}': engine '{f.layer.engine}' is not an engine "
        f"of the board (engines: {', '.join(f.engines) or 'none'})"
    )


FIELD_VALUES: dict[str, Reader] = {
    "op": lambda f: f.enum(f.struct["op"]),
    "datapath": lambda f: f.enum(f.struct["datapath"]),
    "engine": _engine,
    "in_addr": _addr(0),
    "in2_addr": _addr(1),
    "out_addr": _addr(-1),
    "w_addr": lambda f: f.const(f.struct["weights"]),
    "bias_addr": lambda f: f.const(f.struct["bias"]),
    "mult_addr": lambda f: f.const(f.params.get("requant", {}).get("multiplier")),
    "shift_addr": lambda f: f.const(f.params.get("requant", {}).get("shift")),
    "mult": _per_tensor("multiplier"),
    "shift": _per_tensor("shift"),
    "in_h": _dim(0, "h"),
    "in_w": _dim(0, "w"),
    "in_c": _dim(0, "c"),
    "out_h": _dim(-1, "h"),
    "out_w": _dim(-1, "w"),
    "out_c": _dim(-1, "c"),
    "k_h": _kernel("h"),
    "k_w": _kernel("w"),
    "stride_h": lambda f: f.param("stride_h"),
    "stride_w": lambda f: f.param("stride_w"),
    "dilation_h": lambda f: f.param("dilation_h"),
    "dilation_w": lambda f: f.param("dilation_w"),
    "pad_top": lambda f: f.param("pad_top"),
    "pad_left": lambda f: f.param("pad_left"),
    "in_zp": lambda f: -f.param("input_offset", "input1_offset"),
    "in2_zp": lambda f: -f.param("input2_offset"),
    "out_zp": lambda f: f.param("output_offset"),
    "w_zp": lambda f: -f.param("filter_offset"),
    "act_min": lambda f: f.param("act_min"),
    "act_max": lambda f: f.param("act_max"),
    "reserved": lambda f: 0,
}


def layer_registers(fields: LayerFields, reg_map: RegisterMap, where: str) -> list[RegisterCell]:
    """The layer's register block; a value that does not fit raises a one-line CodegenError."""
    layer = fields.layer
    _check_per_channel(fields, reg_map, where)
    cells = []
    for reg in reg_map.registers:
        if reg.field not in FIELD_VALUES:
            raise CodegenError(f"{where}: register {reg.name} carries unknown field '{reg.field}'")
        read = FIELD_VALUES[reg.field](fields)
        value, source = read if isinstance(read, tuple) else (read, None)
        try:
            word = encode_register(reg, int(value))
        except ValueError as exc:
            raise CodegenError(f"layer {fields.index} '{layer.name}' ({layer.op}) on {where}: {exc}") from None
        cells.append(RegisterCell(reg, int(value), word, source))
    return cells


def _check_per_channel(fields: LayerFields, reg_map: RegisterMap, where: str) -> None:
    n = fields.requant_entries()
    for scalar, table in (("mult", "mult_addr"), ("shift", "shift_addr")):
        reg = reg_map.by_field(scalar)
        if n > 1 and reg is not None and reg_map.by_field(table) is None:
            layer = fields.layer
            raise CodegenError(
                f"layer {fields.index} '{layer.name}' ({layer.op}) on {where}: register "
                f"{reg.name}: {n} per-channel values do not fit a per-tensor register"
            )
