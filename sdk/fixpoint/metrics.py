"""Accuracy figures of one model output, batch by batch, and user metrics.

Every output of a plan gets an :class:`OutputMetrics`: agreement of the integer
top-1 with the float top-1, SQNR, MSE and the largest error against the float
model -- whether or not the data file has labels -- and, when its labels are given
(``label/<output>``, or ``label`` for the first output), float and integer top-1
and the drop. A classifier output is read by its top-1, a regressor by SQNR/MSE;
the numbers for both are always there, the reader picks.

A user metric (``fixpoint eval --metric module:function``) is a function
``fn(float_outputs, int_outputs, labels) -> float | dict[str, float]``: the first
two are ``{output name: array [N, ...]}`` in the ONNX layout (the integer side
dequantized), ``labels`` ``{output name: int64 [N]}`` for the labeled outputs.
``module`` is an importable module or a path to a ``.py`` file.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .ir import ModelError

UserMetric = Callable[[dict, dict, dict], "float | dict[str, float]"]

__all__ = ["OutputMetrics", "OutputTally", "UserMetric", "call_user_metric", "load_user_metric", "top1"]


@dataclass
class OutputMetrics:
    """How well the integer plan reproduces one model output."""

    name: str
    labeled: bool
    agreement: float  # integer top-1 == float top-1, fraction of samples
    sqnr_db: float  # of the dequantized output against float; inf when identical
    mse: float
    max_abs_err: float
    float_top1: float | None = None  # with labels only
    int_top1: float | None = None
    drop: float | None = None  # float_top1 - int_top1, percentage points


def top1(values: np.ndarray) -> np.ndarray:
    """Index of the largest value of each sample (the whole sample flattened)."""
    return np.argmax(values.reshape(len(values), -1), axis=1)


class OutputTally:
    """Running sums for one output (no per-sample arrays: memory flat in the sample count)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = self.agree = self.float_correct = self.int_correct = self.labeled = 0
        self.signal = self.noise = self.max_abs = 0.0
        self.values = 0

    def add(self, ref: np.ndarray, got: np.ndarray, labels: np.ndarray | None) -> None:
        ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
        if ref.shape != got.shape:
            raise ModelError(
                f"output '{self.name}': float shape {list(ref.shape)} differs from the plan's {list(got.shape)}"
            )
        float_pred, int_pred = top1(ref), top1(got)
        self.count += len(ref)
        self.agree += int(np.count_nonzero(float_pred == int_pred))
        if labels is not None:
            self.labeled += len(labels)
            self.float_correct += int(np.count_nonzero(float_pred == labels))
            self.int_correct += int(np.count_nonzero(int_pred == labels))
        diff = ref - got
        self.signal += float(np.sum(ref * ref))
        self.noise += float(np.sum(diff * diff))
        self.max_abs = max(self.max_abs, float(np.max(np.abs(diff))) if diff.size else 0.0)
        self.values += diff.size

    def sqnr_db(self) -> float:
        if self.noise == 0.0:
            return math.inf
        if self.signal == 0.0:
            return -math.inf
        return 10.0 * math.log10(self.signal / self.noise)

    def result(self) -> OutputMetrics:
        n = max(self.count, 1)
        metrics = OutputMetrics(
            self.name,
            self.labeled > 0,
            self.agree / n if self.count else 0.0,
            self.sqnr_db(),
            self.noise / max(self.values, 1),
            self.max_abs,
        )
        if self.labeled:
            metrics.float_top1 = self.float_correct / self.labeled
            metrics.int_top1 = self.int_correct / self.labeled
            metrics.drop = 100.0 * (metrics.float_top1 - metrics.int_top1)
        return metrics


def load_user_metric(spec: str) -> UserMetric:
    """``module:function`` (a module name or a ``.py`` path) -> the function; one-line errors."""
    module_name, sep, function = spec.rpartition(":")
    if not sep or not module_name or not function:
        raise ModelError(f"--metric {spec}: expected MODULE:FUNCTION (e.g. my_metrics:f1 or ./metrics.py:f1)")
    try:
        module = _import(module_name)
    except ModelError:
        raise
    except Exception as exc:  # the user's module may raise anything at import time
        raise ModelError(
            f"--metric {spec}: cannot import '{module_name}' ({type(exc).__name__}: {' '.join(str(exc).split())})"
        ) from None
    fn = getattr(module, function, None)
    if not callable(fn):
        raise ModelError(f"--metric {spec}: '{module_name}' has no function '{function}'")
    return fn


def _import(module_name: str):
    path = Path(module_name)
    if path.suffix != ".py":
        return importlib.import_module(module_name)
    if not path.is_file():
        raise ModelError(f"--metric: {path}: no such file")
    spec = importlib.util.spec_from_file_location(f"fixpoint_user_metric_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ModelError(f"--metric: {path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def call_user_metric(
    fn: UserMetric, floats: dict[str, np.ndarray], ints: dict[str, np.ndarray], labels: dict[str, np.ndarray]
) -> dict[str, float]:
    """Run the user metric; its value(s) as ``{name: float}`` (a plain number is keyed by the function's name)."""
    name = getattr(fn, "__name__", "metric")
    try:
        value = fn(floats, ints, labels)
    except Exception as exc:  # the user's code may raise anything
        raise ModelError(f"--metric {name}: raised {type(exc).__name__}: {' '.join(str(exc).split())}") from None
    items = value.items() if isinstance(value, dict) else [(name, value)]
    try:
        return {str(k): float(v) for k, v in items}
    except (TypeError, ValueError):
        raise ModelError(
            f"--metric {name}: must return a number or a dict of numbers, got {type(value).__name__}"
        ) from None
