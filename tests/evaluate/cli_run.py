"""The mlp example the command-line tests of this folder calibrate (the command: tests/fixpoint_cli.py)."""

from __future__ import annotations

from pathlib import Path

from fixpoint_cli import run_fixpoint

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "examples" / "models" / "mlp"

__all__ = ["MLP", "ROOT", "run_fixpoint"]
