"""sdk/fixpoint/ops/variants.py agrees with FP_KERNEL_VARIANT_LIST in
runtime/include/fp_resolver.h, and choose_kernel picks as documented."""

from __future__ import annotations

import re

from fixpoint.boards.paths import runtime_dir
from fixpoint.ops.variants import ISA_VARIANTS, KERNEL_VARIANTS, choose_kernel


def _variant_rows() -> set[str]:
    text = (runtime_dir() / "include" / "fp_resolver.h").read_text()
    block = text[text.index("#define FP_KERNEL_VARIANT_LIST") :]
    block = block[: block.index("clang-format on")]
    return set(re.findall(r"X\(\w+,\s*\w+,\s*\w+,\s*(\w+),", block))


def test_python_table_matches_resolver():
    names = {name for v in KERNEL_VARIANTS.values() for name in v.values()}
    assert names <= _variant_rows()
    for (op, dp), variants in KERNEL_VARIANTS.items():
        for variant, name in variants.items():
            assert name == f"{op}_{dp}_{variant}"


def test_choose_kernel():
    assert choose_kernel("conv2d", "s8", "cortex-m4") == "conv2d_s8_dsp"
    assert choose_kernel("conv2d", "s8", "cortex-m4", "ref") == "conv2d_s8"
    assert choose_kernel("conv2d", "s16", "cortex-m4") == "conv2d_s16"
    assert choose_kernel("conv2d", "s8", "cortex-m3") == "conv2d_s8_opt"
    assert choose_kernel("depthwise_conv2d", "s8", "cortex-m55") == "depthwise_conv2d_s8_mve"
    assert choose_kernel("conv2d", "s8", "cortex-m55", "dsp") == "conv2d_s8_dsp"
    assert choose_kernel("conv2d", "s8", "unknown-core") == "conv2d_s8"
    assert all(isinstance(v, tuple) for v in ISA_VARIANTS.values())
