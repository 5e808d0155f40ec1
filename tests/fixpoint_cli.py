"""The real `fixpoint` command as a subprocess, as a user runs it (shared by the command-line tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SDK = Path(__file__).resolve().parents[1] / "sdk"


def run_fixpoint(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m fixpoint.cli ARGS` (a hang fails the test instead of blocking it)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SDK), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "fixpoint.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def assert_one_error_line(proc: subprocess.CompletedProcess, message: str) -> str:
    """Exit 2, no traceback, and exactly one `error:` line on stderr, containing ``message``; returns it."""
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(errors) == 1 and message in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return errors[0]
