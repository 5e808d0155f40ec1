"""Where board files and firmware sources live: the one place that knows.

From a repository checkout both are beside ``sdk/``: ``<repo>/boards`` and
``<repo>/runtime``; an installed wheel carries them as package data
(``fixpoint._paths.data_dir``). ``FIXPOINT_BOARDS_DIR`` / ``FIXPOINT_RUNTIME_DIR``
point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._paths import data_dir


def boards_dir() -> Path:
    """Directory holding one sub-folder per board plus ``schema.json``."""
    override = os.environ.get("FIXPOINT_BOARDS_DIR")
    return Path(override) if override else data_dir("boards")


def runtime_dir() -> Path:
    """The C runtime tree (``include/``, ``src/``, ``firmware/``)."""
    override = os.environ.get("FIXPOINT_RUNTIME_DIR")
    return Path(override) if override else data_dir("runtime")


def firmware_dir() -> Path:
    """Firmware sources: command loop, startup code, UART drivers, counters."""
    return runtime_dir() / "firmware"


def schema_path() -> Path:
    return boards_dir() / "schema.json"
