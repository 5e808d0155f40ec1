"""Exact comparison helpers that report where integer arrays differ."""

from __future__ import annotations

import numpy as np


def assert_exact(got: np.ndarray, want: np.ndarray, what: str) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != expected {want.shape}"
    diff = np.argwhere(got.astype(np.int64) != want.astype(np.int64))
    if diff.size:
        shown = ", ".join(
            f"{tuple(int(i) for i in idx)}: got {got[tuple(idx)]} want {want[tuple(idx)]}" for idx in diff[:8]
        )
        raise AssertionError(f"{what}: {len(diff)} of {got.size} values differ; first: {shown}")


def assert_informative(arrays: dict[str, np.ndarray], min_fraction: float = 0.7) -> None:
    """Most tensors must hold more than two distinct values, so a comparison can fail."""
    rich = [name for name, a in arrays.items() if len(np.unique(a)) > 2]
    assert len(rich) >= min_fraction * len(arrays), (
        f"only {len(rich)} of {len(arrays)} tensors vary: {sorted(set(arrays) - set(rich))}"
    )
