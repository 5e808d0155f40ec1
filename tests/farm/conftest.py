"""Farm test fixtures (the helpers live in farm_harness.py: a module named conftest is shared by every test
folder, so tests import helpers from a module with a name of its own)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from farm_harness import plan_cache, postgres_url  # noqa: E402,F401  (fixtures)
