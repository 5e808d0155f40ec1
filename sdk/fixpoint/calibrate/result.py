"""The calibration result and its on-disk form (``.npz``, written atomically).

The file holds one JSON header (``meta``: per-tensor stats scalars, the
TensorQuant of every tensor, the policy requested for it, the config) and one
int64 array ``hist`` [tensors, NUM_BINS], so a report can be drawn later
without re-running the model.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fixpoint.calibrate.errors import CalibrationError, one_line
from fixpoint.calibrate.histogram import NUM_BINS, TensorStats
from fixpoint.fileio import atomic_path
from fixpoint.quant import TensorQuant

STATS_FORMAT = "fixpoint-calibration-stats"
STATS_VERSION = 1


@dataclass
class CalibrationResult:
    """Ranges (``quant``) and the statistics they came from (``stats``), by value name.

    ``requested[name]`` is the policy asked for (e.g. "auto"); ``quant[name].policy``
    is the one whose range was taken.
    """

    quant: dict[str, TensorQuant]
    stats: dict[str, TensorStats]
    requested: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    model_path: str = ""
    num_samples: int = 0
    search: dict[str, Any] = field(default_factory=dict)  # policy search report (fixpoint.policy_search)
    estimated: str = ""  # data-free: how the ranges were estimated (no calibration samples were seen)

    def save_stats(self, path: str | os.PathLike) -> Path:
        """Write stats + ranges to ``path`` (.npz) atomically; returns the path."""
        path = Path(path)
        names = list(self.stats)
        hist = np.zeros((len(names), NUM_BINS), np.int64)
        for row, name in enumerate(names):
            if self.stats[name].hist is not None:
                hist[row] = self.stats[name].hist
        meta = {
            "format": STATS_FORMAT,
            "version": STATS_VERSION,
            "model_path": self.model_path,
            "num_samples": self.num_samples,
            "config": self.config,
            "tensors": [_stats_header(self.stats[n]) for n in names],
            "quant": [asdict(q) for q in self.quant.values()],
            "requested": self.requested,
            "search": self.search,
            "estimated": self.estimated,
        }
        _atomic_savez(path, meta=np.array(json.dumps(meta)), hist=hist)
        return path

    @classmethod
    def load_stats(cls, path: str | os.PathLike) -> "CalibrationResult":
        """Read a file written by :meth:`save_stats`."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as archive:
                meta = json.loads(str(archive["meta"]))
                hist = archive["hist"]
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise CalibrationError(f"{path}: not a readable calibration stats file ({one_line(exc)})") from None
        if meta.get("format") != STATS_FORMAT or meta.get("version") != STATS_VERSION:
            raise CalibrationError(
                f"{path}: not a Fixpoint calibration stats file "
                f"(format {meta.get('format')!r} version {meta.get('version')!r})"
            )
        try:
            stats = {t["name"]: _stats_from_header(t, hist[row]) for row, t in enumerate(meta["tensors"])}
            quant = {q["name"]: TensorQuant(**q) for q in meta["quant"]}
        except (KeyError, TypeError, IndexError) as exc:
            raise CalibrationError(f"{path}: malformed calibration stats file ({one_line(exc)})") from None
        return cls(
            quant=quant,
            stats=stats,
            requested=meta.get("requested", {}),
            config=meta.get("config", {}),
            model_path=meta.get("model_path", ""),
            num_samples=meta.get("num_samples", 0),
            search=meta.get("search", {}),
            estimated=meta.get("estimated", ""),
        )


def _stats_header(stats: TensorStats) -> dict[str, Any]:
    return {
        "name": stats.name,
        "min": stats.min,
        "max": stats.max,
        "count": stats.count,
        "range_exp": stats.range_exp,
        "zeros": stats.zeros,
        "has_hist": stats.hist is not None,
    }


def _stats_from_header(header: dict[str, Any], hist_row: np.ndarray) -> TensorStats:
    hist = np.array(hist_row, np.int64) if header["has_hist"] else None
    return TensorStats(
        header["name"],
        float(header["min"]),
        float(header["max"]),
        int(header["count"]),
        hist,
        int(header["range_exp"]),
        int(header.get("zeros", 0)),
    )


def _atomic_savez(path: Path, **arrays: np.ndarray) -> None:
    """np.savez into a temp file next to ``path``, then rename: never a half-written file."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fp:
        np.savez_compressed(fp, **arrays)
