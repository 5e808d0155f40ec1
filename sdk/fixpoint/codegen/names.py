"""Every C name the generated files use, derived from one symbol prefix.

The prefix is ``plan.model_name`` sanitised to a lowercase C identifier
(``"MobileNet v2"`` -> ``mobilenet_v2``); functions and objects use it as is,
macros upper-cased. Only the ``fp_model_*`` API of ``fp_model_api.h`` and the
``FP_MODEL_*`` macros are unprefixed: a firmware links exactly one model.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cformat import c_identifier

FILE_ROLES = ("model_h", "layout_h", "accel_regs_h", "weights_c", "model_c")
TEMPLATES = {
    "model_h": "model.h.j2",
    "layout_h": "model_layout.h.j2",
    "accel_regs_h": "accel_regs.h.j2",
    "weights_c": "model_weights.c.j2",
    "model_c": "model.c.j2",
}
_SUFFIX = {
    "model_h": "_model.h",
    "layout_h": "_layout.h",
    "accel_regs_h": "_accel_regs.h",
    "weights_c": "_model_weights.c",
    "model_c": "_model.c",
}


@dataclass(frozen=True)
class Names:
    prefix: str  # lowercase C identifier

    @classmethod
    def for_model(cls, model_name: str, prefix: str | None = None) -> "Names":
        return cls(c_identifier(prefix if prefix is not None else model_name))

    @property
    def macro(self) -> str:
        return self.prefix.upper()

    def file(self, role: str) -> str:
        return self.prefix + _SUFFIX[role]

    def guard(self, role: str) -> str:
        return self.file(role).upper().replace(".", "_")

    def symbol(self, what: str) -> str:
        """An object or type: ``<prefix>_<what>``."""
        return f"{self.prefix}_{what}"

    def define(self, what: str) -> str:
        """A macro: ``<PREFIX>_<WHAT>``."""
        return f"{self.macro}_{what.upper()}"

    def tensor_offset(self, index: int) -> str:
        return self.define(f"t{index}_offset")

    def tensor_size(self, index: int) -> str:
        return self.define(f"t{index}_size")

    def const_offset(self, layer: int, array: str) -> str:
        return self.define(f"const_l{layer}_{array}_offset")

    def const_ref(self, member: str) -> str:
        """C expression of a blob table (an address constant once it decays)."""
        return f"{self.symbol('consts')}.{member}"

    def register(self, name: str, what: str) -> str:
        return self.define(f"reg_{name}_{what}")
