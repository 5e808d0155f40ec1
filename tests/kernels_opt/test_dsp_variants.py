"""The Arm DSP kernel variants (fp_*_s8_dsp) equal the reference kernels on
the emulated boards: runtime/firmware/kernel_check/kc_check.c runs 10,000
randomized cases per kernel (shapes with tails, padding on every side,
strides, dilations, groups, depth multipliers, extreme offsets, multipliers
and shifts, invalid parameters) and reports mismatches through semihosting;
the specialised entries (fp_*_s8_dsp_fast) get 10,000 cases inside their
precondition each and must refuse (FP_ERR_UNSUPPORTED, nothing written) the
cases outside it.

mps2-an386 (Cortex-M4) always runs; the other QEMU Cortex-M boards named in
FIXPOINT_TEST_BOARDS ("all": every one) run too: mps2-an500 (M7), mps2-an505
(M33) and mps3-an547 (M55) take the DSP path, mps2-an385 (M3) checks that
the variants forward to the reference on a core without the extension.
"""

from __future__ import annotations

import os
import re

import pytest

from fixpoint.boards import list_boards, load_board
from fixpoint.boards.kernel_fw import ELEMENTWISE, FAST_ENTRIES, KERNELS, build_kernel_firmware, run_kernel_firmware

CASES = 10000


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
    return ["mps2-an386", *sorted(set(extra) - {"mps2-an386"})]


def _check(board: str, tmp_path, defines: dict[str, int]) -> None:
    image = build_kernel_firmware(board, "kc_check.c", tmp_path, defines={"KC_CASES": CASES, **defines})
    run = run_kernel_firmware(board, image, icount=False, timeout=900)
    lines = re.findall(r"^check (\w+) cases=(\d+) invalid=(\d+) mismatches=(\d+)$", run.stdout, re.M)
    assert run.returncode == 0, run.stdout
    assert {name for name, *_ in lines} == set(KERNELS) | set(FAST_ENTRIES) | set(ELEMENTWISE), run.stdout
    for name, cases, invalid, mismatches in lines:
        assert int(cases) == CASES, name
        assert 0 < int(invalid) < CASES // 10, name  # invalid parameters are exercised, not dominant
        assert int(mismatches) == 0, run.stdout
    # the _dsp_fast entries also refused the cases outside their precondition (DSP cores)
    refused = int(re.search(r"^refused (\d+)$", run.stdout, re.M).group(1))
    assert refused > 0 or load_board(board).cpu.core == "cortex-m3", run.stdout


@pytest.mark.parametrize("board", _boards())
def test_dsp_variants_match_reference(board, tmp_path):
    _check(board, tmp_path, {})


def test_dsp_c_loops_match_reference(tmp_path):
    """The C versions of the assembly loops (unoptimised builds, FP_DSP_NO_ASM)."""
    _check("mps2-an386", tmp_path, {"FP_DSP_NO_ASM": 1})
