"""Optimized kernel variants and which one each CPU core runs.

The reference kernels ``fp_<op>_<dp>`` define the arithmetic. A variant
``fp_<op>_<dp>_<variant>`` has the same signature, validation and
bit-identical output (proven by tests/kernels/test_kernel_variants.py), and
is one row of ``FP_KERNEL_VARIANT_LIST`` in ``runtime/include/fp_resolver.h``
(adapter ``fp_run_<op>_<dp>_<variant>``):

* ``opt``: portable C99, vectorised by gcc/clang on the host, fine on
  RV32 / Cortex-M3 (``runtime/src/kernels_opt/``);
* ``dsp``: the Arm DSP extension (Cortex-M4/M7/M33);
* ``mve``: Helium, the M-profile Vector Extension (Cortex-M55);
* ``dsp_fast``: the ``dsp`` kernel's fast path alone (no fallback to the
  reference, no run-time rounding-mode test); exact only inside its
  precondition, so never a core's preference: the code generator
  specialises a pair's ``dsp`` choice to it when every layer of the pair
  meets the precondition (``SPECIALISED_VARIANTS``,
  ``fixpoint.codegen.specialise``), and the firmware then links neither the
  reference nor the generic requantization.

:func:`choose_kernel` picks, for a (runtime op, datapath) and a board's
``[cpu] core``, the first variant of the core's preference that exists, else
the reference. The code generator emits that adapter in the model's resolver
table and the host simulator builds its table with the ``"host"`` choice.
``variant_override="ref"`` (``--kernels ref``) forces the reference.

This module has no imports from the package: the cffi build script loads it
by path.
"""

from __future__ import annotations

__all__ = [
    "KERNEL_VARIANTS",
    "ISA_VARIANTS",
    "SPECIALISED_VARIANTS",
    "VARIANT_CHOICES",
    "choose_kernel",
    "reference_name",
]

# (runtime op key, datapath) -> {variant name: adapter name}; the rows of FP_KERNEL_VARIANT_LIST.
KERNEL_VARIANTS: dict[tuple[str, str], dict[str, str]] = {
    ("conv2d", "s8"): {
        "opt": "conv2d_s8_opt",
        "dsp": "conv2d_s8_dsp",
        "dsp_fast": "conv2d_s8_dsp_fast",
        "mve": "conv2d_s8_mve",
    },
    ("depthwise_conv2d", "s8"): {
        "opt": "depthwise_conv2d_s8_opt",
        "dsp": "depthwise_conv2d_s8_dsp",
        "dsp_fast": "depthwise_conv2d_s8_dsp_fast",
        "mve": "depthwise_conv2d_s8_mve",
    },
    ("fully_connected", "s8"): {
        "opt": "fully_connected_s8_opt",
        "dsp": "fully_connected_s8_dsp",
        "dsp_fast": "fully_connected_s8_dsp_fast",
        "mve": "fully_connected_s8_mve",
    },
    ("add", "s8"): {"opt": "add_s8_opt", "dsp": "add_s8_dsp", "mve": "add_s8_mve"},
    ("add", "s4"): {"opt": "add_s4_opt", "dsp": "add_s4_dsp", "mve": "add_s4_mve"},
    ("max_pool", "s8"): {"mve": "max_pool_s8_mve"},
    ("max_pool", "s4"): {"mve": "max_pool_s4_mve"},
    ("avg_pool", "s8"): {"mve": "avg_pool_s8_mve"},
    ("avg_pool", "s4"): {"mve": "avg_pool_s4_mve"},
    ("leaky_relu", "s8"): {"opt": "leaky_relu_s8_opt"},
    ("leaky_relu", "s4"): {"opt": "leaky_relu_s4_opt"},
}

# cpu core (boards/<name>/board.toml [cpu] core) -> variants in order of preference.
# "host" is the simulator; "native" the host board's firmware (built for the build machine).
ISA_VARIANTS: dict[str, tuple[str, ...]] = {
    "host": ("opt",),
    "native": ("opt",),
    "cortex-m3": ("opt",),
    # Cores with the Arm DSP extension (SXTB16 / SMLAD) prefer "dsp".
    "cortex-m4": ("dsp", "opt"),
    "cortex-m7": ("dsp", "opt"),
    "cortex-m33": ("dsp", "opt"),
    # The M55 has Helium (MVE) and the DSP extension: "mve" first.
    "cortex-m55": ("mve", "dsp", "opt"),
    "rv32imac": ("opt",),
}

# Generation-time specialisation: a chosen variant -> the entry the code generator names instead
# when every layer of the (op, datapath) pair meets that entry's precondition
# (fixpoint.codegen.specialise.PRECONDITIONS); per pair.
SPECIALISED_VARIANTS: dict[tuple[str, str], dict[str, str]] = {
    ("conv2d", "s8"): {"dsp": "dsp_fast"},
    ("depthwise_conv2d", "s8"): {"dsp": "dsp_fast"},
    ("fully_connected", "s8"): {"dsp": "dsp_fast"},
}

# Values of the user-visible override (--kernels): "auto" = the core's preference.
VARIANT_CHOICES = ("auto", "ref")


def reference_name(op: str, datapath: str) -> str:
    """The reference adapter name ``<op>_<datapath>``."""
    return f"{op}_{datapath}"


def choose_kernel(op: str, datapath: str, core: str, variant_override: str | None = None) -> str:
    """The adapter name (``fp_run_<name>``) core ``core`` runs for (op, datapath).

    ``variant_override``: None or "auto" follow ``ISA_VARIANTS[core]``; "ref"
    forces the reference; another variant name forces that variant where it
    exists (the reference elsewhere). An unknown core gets the reference.
    """
    variants = KERNEL_VARIANTS.get((op, datapath), {})
    if variant_override not in (None, "auto"):
        order: tuple[str, ...] = () if variant_override == "ref" else (variant_override,)
    else:
        order = ISA_VARIANTS.get(core, ())
    for variant in order:
        if variant in variants:
            return variants[variant]
    return reference_name(op, datapath)
