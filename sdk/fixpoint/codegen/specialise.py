"""Generation-time specialisation of the op resolver's entries.

``choose_kernel`` picks a variant per (op, datapath) and CPU core. Some
variants have a *specialised entry* (``fixpoint.ops.variants.SPECIALISED_VARIANTS``)
that is the variant's fast path alone: e.g. ``fp_conv2d_s8_dsp_fast`` is
``fp_conv2d_s8_dsp`` without its call of the reference (for input offsets
outside [-127, 128] or windows too long for int32 sums) and without the
run-time rounding-mode test of its epilogue. It is exact only inside its
precondition (elsewhere it returns ``FP_ERR_UNSUPPORTED``), which the plan
decides: the generator names the entry when *every* layer of the pair meets
it, and the firmware then links neither the reference kernel nor the
generic requantization (docs/kernels.md, "Specialised entries").

The preconditions read the values the C kernel receives (``cparams.layer_struct``)
and mirror the C checks in ``runtime/src/kernels_opt/fp_*_dsp_fast.c``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..cparams import layer_struct
from ..ops.variants import KERNEL_VARIANTS, SPECIALISED_VARIANTS
from ..plan import Plan

__all__ = ["PRECONDITIONS", "specialise_adapter"]

# fp_dsp.h: FP_DSP_OFFSET_MIN / _MAX and fp_dsp_terms_ok
DSP_OFFSET_MIN, DSP_OFFSET_MAX = -127, 128
INT32_MAX = 2**31 - 1


def _terms_ok(input_offset: int, k: int) -> bool:
    return DSP_OFFSET_MIN <= input_offset <= DSP_OFFSET_MAX and k * 255 * 128 <= INT32_MAX


def _rq_fast_ok(plan: Plan, index: int) -> bool:
    """fp_dsp_rq_fast_ok: DOUBLE rounding on the plain int32 accumulator (the layer's engine)
    and no left shift in the table."""
    profile = plan.layer_profile(index)
    shift = plan.layers[index].arrays["shift"]
    return profile.rounding == "double" and profile.accumulator_bits == 32 and bool(np.all(np.asarray(shift) <= 0))


def _conv2d_dsp_fast(plan: Plan, index: int, fields: dict[str, Any]) -> bool:
    f = fields["filter"]
    k = f["h"] * f["w"] * f["c"]
    return k > 0 and _terms_ok(fields["input_offset"], k) and _rq_fast_ok(plan, index)


def _depthwise_conv2d_dsp_fast(plan: Plan, index: int, fields: dict[str, Any]) -> bool:
    f = fields["filter"]
    return _terms_ok(fields["input_offset"], f["h"] * f["w"]) and _rq_fast_ok(plan, index)


def _fully_connected_dsp_fast(plan: Plan, index: int, fields: dict[str, Any]) -> bool:
    return (
        fields["filter_offset"] == 0 and _terms_ok(fields["input_offset"], fields["depth"]) and _rq_fast_ok(plan, index)
    )


# (op, datapath, specialised variant) -> precondition(plan, layer index, C params fields)
PRECONDITIONS: dict[tuple[str, str, str], Callable[[Plan, int, dict[str, Any]], bool]] = {
    ("conv2d", "s8", "dsp_fast"): _conv2d_dsp_fast,
    ("depthwise_conv2d", "s8", "dsp_fast"): _depthwise_conv2d_dsp_fast,
    ("fully_connected", "s8", "dsp_fast"): _fully_connected_dsp_fast,
}


def specialise_adapter(plan: Plan, op: str, datapath: str, adapter: str) -> str:
    """``adapter`` (the chosen variant's name), or its specialised entry's when every layer of
    the plan with this (op, datapath) meets the entry's precondition."""
    variants = KERNEL_VARIANTS.get((op, datapath), {})
    chosen = next((v for v, name in variants.items() if name == adapter), None)
    special = SPECIALISED_VARIANTS.get((op, datapath), {}).get(chosen or "")
    if special is None or special not in variants:
        return adapter
    ok = PRECONDITIONS[(op, datapath, special)]
    for i, layer in enumerate(plan.layers):
        if (layer.op, layer.datapath) == (op, datapath):
            (fields,) = layer_struct(plan, i)["params"].values()
            if not ok(plan, i, fields):
                return adapter
    return variants[special]
