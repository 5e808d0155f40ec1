"""The real `fixpoint` command as a subprocess, for the command-line tests."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk"
MLP = ROOT / "examples" / "models" / "mlp"


def run_fixpoint(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m fixpoint.cli ARGS` as a user runs it (a hang fails the test instead of blocking it)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SDK), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "fixpoint.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout, check=False)
