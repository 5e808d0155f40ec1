"""The Helium kernel variants (fp_*_s8_mve) equal the reference kernels on the
emulated Cortex-M55 (mps3-an547, always part of the default run):
runtime/firmware/kernel_check/kc_check.c built with KC_VARIANT=mve runs
10,000 randomized cases per weighted kernel (odd channel counts, widths and
channels not a multiple of 16 or 4, padding on every side, strides,
dilations, groups, depth multipliers, extreme offsets / multipliers / shifts
/ biases, every rounding mode, invalid parameters, an output guard zone), and
kc_check_elem.c 10,000 per add / max pool / average pool kernel
(broadcasting, subtract, offsets to the int32 extremes, left shifts, padded
and global windows); both report mismatches through semihosting. A missing
toolchain or QEMU fails the test.

Boards without MVE named in FIXPOINT_TEST_BOARDS (mps2-an386, M4) run the
same check on the forwarding build (the _mve functions are the reference
there), so the variant links and behaves everywhere.
"""

from __future__ import annotations

import os
import re

import pytest

from fixpoint.boards import list_boards, load_board
from fixpoint.boards.kernel_fw import (
    ELEM_KERNELS,
    KERNELS,
    build_kernel_firmware,
    elem_kernel_sources,
    run_kernel_firmware,
)
from fixpoint.ops.variants import choose_kernel

CASES = 10000
MVE_BOARD = "mps3-an547"


def _boards() -> list[str]:
    wanted = os.environ.get("FIXPOINT_TEST_BOARDS", "")
    names = list_boards() if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    extra = [
        n
        for n in names
        if n in list_boards()
        and load_board(n).launch.method == "qemu"
        and load_board(n).cpu.core.startswith("cortex-m")
    ]
    return [MVE_BOARD, *sorted(set(extra) - {MVE_BOARD})]


def _check(board: str, tmp_path, main: str, kernels: tuple[str, ...], **build) -> None:
    defines = {"KC_CASES": CASES, "KC_VARIANT": "mve", "KC_DSP_EXTRAS": 0}
    image = build_kernel_firmware(board, main, tmp_path, defines=defines, **build)
    run = run_kernel_firmware(board, image, icount=False, timeout=900)
    lines = re.findall(r"^check (\w+) cases=(\d+) invalid=(\d+) mismatches=(\d+)$", run.stdout, re.M)
    assert run.returncode == 0, run.stdout
    assert {name for name, *_ in lines} == set(kernels), run.stdout
    for name, cases, invalid, mismatches in lines:
        assert int(cases) == CASES, name
        assert 0 < int(invalid) < CASES // 10, name
        assert int(mismatches) == 0, run.stdout


@pytest.mark.parametrize("board", _boards())
def test_mve_variants_match_reference(board, tmp_path):
    _check(board, tmp_path, "kc_check.c", KERNELS, variants=("mve",))


@pytest.mark.parametrize("board", _boards())
def test_mve_elementwise_variants_match_reference(board, tmp_path):
    _check(board, tmp_path, "kc_check_elem.c", ELEM_KERNELS, variants=(), extra_sources=elem_kernel_sources(("mve",)))


def test_m55_boards_choose_the_mve_kernels():
    core = load_board(MVE_BOARD).cpu.core
    for op in ("conv2d", "depthwise_conv2d", "fully_connected", "add", "max_pool", "avg_pool"):
        assert choose_kernel(op, "s8", core) == f"{op}_s8_mve"
