"""Shared helpers of the model-zoo tests: where the zoo is, its data module, sample counts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ZOO = Path(__file__).resolve().parents[2] / "examples" / "zoo"
sys.path.insert(0, str(ZOO))
import zoo_data  # noqa: E402,F401  (re-exported)


def zoo_samples(default: int) -> int | None:
    """FIXPOINT_ZOO_SAMPLES: samples per check ("all": the whole eval set, as `make test-all`)."""
    wanted = os.environ.get("FIXPOINT_ZOO_SAMPLES", "")
    if wanted == "all":
        return None
    return int(wanted) if wanted else default
