"""Make the in-tree SDK and the simulator's plan builders importable."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for folder in (TESTS.parent / "sdk", TESTS / "sim"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
