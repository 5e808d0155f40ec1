"""The farm's exception base: every farm error is one ``error:`` line (exit 2)."""

from __future__ import annotations

from ..ir import ModelError


class FarmError(ModelError):
    """A farm file, run id, database or option the farm cannot use."""


class FarmFileError(FarmError):
    """The farm file is missing, malformed or names something that does not exist."""


class HistoryError(FarmError):
    """The history database cannot be opened, migrated or queried."""
