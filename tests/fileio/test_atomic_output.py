"""Atomic outputs: all or nothing, and readable like any new file (0644 under umask 022)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fixpoint.fileio import atomic_path, atomic_write_text

MLP = Path(__file__).resolve().parents[2] / "examples" / "models" / "mlp"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_output_gets_the_mode_of_a_new_file(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        assert mode(tmp_path / "a.txt") == 0o640
    finally:
        os.umask(old)
    atomic_write_text(tmp_path / "b.txt", "y")
    assert mode(tmp_path / "b.txt") == 0o666 & ~old


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "out.bin") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_calibrate_outputs_are_readable_by_others(tmp_path: Path) -> None:
    """The real command under umask 022: every file it writes is 0644."""
    out = tmp_path / "plan"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "fixpoint.cli",
            "-q",
            "calibrate",
            str(MLP / "model.onnx"),
            "--data",
            str(MLP / "calib.npz"),
            "--board",
            "host",
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
        preexec_fn=lambda: os.umask(0o022),
    )
    files = sorted(p for p in out.iterdir() if p.is_file())
    assert files and {p.name: mode(p) for p in files} == {p.name: 0o644 for p in files}
