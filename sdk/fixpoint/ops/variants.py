"""Optimized kernel variants and which one each CPU core gets (the shared
design of docs/kernels.md "Kernel variants").

``KERNEL_VARIANTS`` maps (runtime op key, datapath) to {variant: adapter
name}; the adapters are the ``fp_run_<name>`` / ``fp_need_<name>`` of
``FP_KERNEL_VARIANT_LIST`` in runtime/include/fp_resolver.h. Every variant is
bit-identical to the reference kernel ``fp_<op>_<dp>`` (tests/kernels_opt).
``ISA_VARIANTS`` is the preference per core (a board's ``[cpu] core``).
"""
from __future__ import annotations

KERNEL_VARIANTS: dict[tuple[str, str], dict[str, str]] = {
    ("conv2d", "s8"): {"dsp": "conv2d_s8_dsp"},
    ("depthwise_conv2d", "s8"): {"dsp": "depthwise_conv2d_s8_dsp"},
    ("fully_connected", "s8"): {"dsp": "fully_connected_s8_dsp"},
}

# Cores with the Arm DSP extension (SXTB16 / SMLAD) prefer "dsp". The M55 has
# it too, so it runs the DSP code until a Helium variant exists.
ISA_VARIANTS: dict[str, tuple[str, ...]] = {
    "cortex-m4": ("dsp", "opt"),
    "cortex-m7": ("dsp", "opt"),
    "cortex-m33": ("dsp", "opt"),
    "cortex-m55": ("dsp", "opt"),
    "cortex-m3": ("opt",),
    "rv32imac": ("opt",),
    "host": ("opt",),
    "native": ("opt",),  # the host board's [cpu] core
}


def choose_kernel(op: str, datapath: str, core: str, variant_override: str | None = None) -> str:
    """The adapter name to run (op, datapath) with on ``core``: the first
    variant of the core's preference that exists, else the reference
    ``<op>_<datapath>``; ``variant_override`` "ref" forces the reference, any
    other name forces that variant where it exists."""
    reference = f"{op}_{datapath}"
    if variant_override == "ref":
        return reference
    variants = KERNEL_VARIANTS.get((op, datapath), {})
    order = (variant_override,) if variant_override else ISA_VARIANTS.get(core, ())
    for name in order:
        if name in variants:
            return variants[name]
    return reference
