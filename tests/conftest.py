"""Fixtures every test folder may use."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from fixpoint_cli import run_fixpoint


@pytest.fixture(scope="session")
def fixpoint_cli() -> Callable[..., subprocess.CompletedProcess]:
    """The real `fixpoint` command: ``fixpoint_cli("calibrate", ...)`` -> CompletedProcess."""
    return run_fixpoint
