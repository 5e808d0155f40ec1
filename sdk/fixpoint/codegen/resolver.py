"""The model's op resolver: the (op, datapath) kernel entries its layers need.

The generated ``p_model.c`` hands ``fp_graph_run`` a kernel table
(``fp_kernel_table_t``) listing exactly the pairs the plan's layers use, so
the firmware links those kernels and no others (the linker drops every
unreferenced function: ``-ffunction-sections`` + ``--gc-sections``). Each
row names the adapters ``fp_run_<op>_<datapath>`` / ``fp_need_<op>_<datapath>``
of ``runtime/include/fp_resolver.h`` and the op's describe function
``fp_describe_<union member>`` (the bytes its layers read and write, for the
executor's bounds checks: linked, like the kernel, only when the table names
the op); which pairs have a kernel, and whether
it takes scratch, comes from ``fixpoint.ops.runtime_ops.RUNTIME_OPS`` (the
same table lists every kernel of ``fp_kernels_all()``). Copy layers are not
kernels: the executor moves their bytes itself.

Each pair gets the kernel variant the board's CPU core runs
(``fixpoint.ops.variants.choose_kernel``: e.g. ``fp_run_conv2d_s8_opt``), or
the reference with ``kernels="ref"``; where every layer of the pair meets the
precondition of the variant's specialised entry (``fixpoint.codegen.specialise``,
e.g. ``fp_run_conv2d_s8_dsp_fast``), that entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..cparams import DATAPATH_ENUM
from ..ops.runtime_ops import RUNTIME_OPS
from ..ops.variants import choose_kernel, reference_name
from ..plan import Plan
from .regvalues import CodegenError
from .specialise import specialise_adapter

__all__ = ["KernelEntry", "kernel_entries", "all_kernel_entries"]


@dataclass(frozen=True)
class KernelEntry:
    op: str  # RUNTIME_OPS key
    datapath: str  # "s8" | "s4" | "s16" | "s2" | "s1"
    kernel: str  # the C kernel the adapter calls (RUNTIME_OPS kernels[datapath], or the variant's)
    scratch: bool  # the kernel takes scratch: the entry has a scratch-size function
    adapter: str = ""  # fp_run_<adapter>: the chosen variant's name, "" = the reference <op>_<datapath>

    @property
    def name(self) -> str:
        return f"{self.op}_{self.datapath}"

    @property
    def run_name(self) -> str:
        """The adapter suffix the table names (fp_run_ / fp_need_)."""
        return self.adapter or self.name

    @property
    def describe(self) -> str:
        """The describe function of the entry: one per params union member."""
        return f"fp_describe_{RUNTIME_OPS[self.op].union_member}"

    @property
    def initializer(self) -> str:
        """The ``fp_kernel_entry_t`` row."""
        need = f"fp_need_{self.run_name}" if self.scratch else "NULL"
        return (
            f"{{ {RUNTIME_OPS[self.op].enum}, {DATAPATH_ENUM[self.datapath]}, "
            f"fp_run_{self.run_name}, {need}, {self.describe} }}"
        )


def _entry(
    op: str, datapath: str, core: str | None = None, kernels: str | None = None, plan: Plan | None = None
) -> KernelEntry | None:
    rop = RUNTIME_OPS[op]
    if not rop.kernels:
        return None  # no kernel (copy): the executor does it
    if datapath not in rop.kernels:
        raise KeyError(datapath)
    adapter = choose_kernel(op, datapath, core or "", kernels) if core is not None else reference_name(op, datapath)
    if plan is not None and kernels in (None, "auto"):
        adapter = specialise_adapter(plan, op, datapath, adapter)
    if adapter == reference_name(op, datapath):
        return KernelEntry(op, datapath, rop.kernels[datapath], rop.has_weights)
    return KernelEntry(op, datapath, f"fp_{adapter}", rop.has_weights, adapter)


def all_kernel_entries() -> list[KernelEntry]:
    """Every (op, datapath) kernel of the runtime: what ``fp_kernels_all()`` holds."""
    entries = (_entry(op, dp) for op, rop in RUNTIME_OPS.items() for dp in rop.datapaths if dp in rop.kernels)
    return [e for e in entries if e is not None]


def kernel_entries(plan: Plan, core: str | None = None, kernels: str | None = None) -> list[KernelEntry]:
    """The kernel entries of the plan's layers, one per distinct pair, in order of first use.

    ``core`` (a board's ``[cpu] core``, "host" for the simulator) picks each pair's kernel variant
    (``kernels``: None / "auto" the core's preference, "ref" the reference); without a core the
    entries name the reference kernels. A chosen variant becomes its specialised entry when every
    layer of the pair meets the entry's precondition (``fixpoint.codegen.specialise``)."""
    entries: dict[tuple[str, str], KernelEntry] = {}
    for i, layer in enumerate(plan.layers):
        key = (layer.op, layer.datapath)
        if key in entries:
            continue
        if layer.op not in RUNTIME_OPS or layer.datapath not in DATAPATH_ENUM:
            raise CodegenError(
                f"plan '{plan.model_name}': layer {i} '{layer.name}' ({layer.op}, "
                f"{layer.datapath}) is not a runtime op and datapath"
            )
        try:
            entry = _entry(layer.op, layer.datapath, core, kernels, plan)
        except KeyError:
            raise CodegenError(
                f"plan '{plan.model_name}': layer {i} '{layer.name}': the runtime has no "
                f"{layer.datapath} kernel for {layer.op}"
            ) from None
        if entry is not None:
            entries[key] = entry
    return list(entries.values())
