"""Shared helpers of the board tests: the fixture model and its Python twin."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODEL_SOURCE = FIXTURES / "test_model.c"
MODEL_HASH = hashlib.sha256(b"fixpoint board-test fixture model v1").hexdigest()
INPUT_SIZE = 1500  # > one frame: LOAD_INPUT must chunk
OUTPUT_SIZE = 2100  # > two frames: READ_OUTPUT must chunk

#: every board with an emulator or native process; one test run each
RUNNABLE_BOARDS = [
    "host",
    "mps2-an385",
    "mps2-an386",
    "mps2-an500",
    "mps2-an505",
    "mps3-an547",
    "riscv32-virt",
    "mps2-an386-npu",
]


def expected_output(data: bytes) -> bytes:
    """Python twin of fp_model_run() in fixtures/test_model.c."""
    acc = 2166136261
    out = bytearray(OUTPUT_SIZE)
    for j in range(OUTPUT_SIZE):
        acc = ((acc ^ data[j % INPUT_SIZE]) * 16777619) & 0xFFFFFFFF
        out[j] = ((acc >> 24) ^ j) & 0xFF
    return bytes(out)


def assert_same_bytes(got: bytes, want: bytes) -> None:
    """Exact comparison that names the differing indices."""
    assert len(got) == len(want), f"length {len(got)} != {len(want)}"
    bad = [i for i, (a, b) in enumerate(zip(got, want)) if a != b]
    assert not bad, f"{len(bad)} bytes differ, first at indices {bad[:10]}"


def assert_reaped(pid: int | None) -> None:
    """The process is gone and waited for (no zombie left either)."""
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
