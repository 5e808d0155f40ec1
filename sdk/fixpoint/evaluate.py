"""Accuracy of an integer plan against its float model, overall and per layer.

The float side is onnxruntime on the original ONNX model (intermediate
tensors added as outputs); the integer side is the bit-exact host simulation
(``fixpoint.sim.executor.run_plan``). Plan tensors keep the ONNX tensor names,
so each layer's dequantized output is compared with the float tensor of the
same name, in the ONNX layout.
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .ir import Graph, ModelError
from .lower.onnx_acts import float_session, iterate_float
from .plan import Plan

log = logging.getLogger(__name__)

METRICS = ("top1",)
# batches(size) -> (inputs: one array per model input, labels or None), at most `size` samples each
BatchSource = Callable[[int], Iterable[tuple[list[np.ndarray], "np.ndarray | None"]]]


@dataclass
class LayerError:
    """Error of one layer's dequantized integer output against the float tensor of the same name."""

    name: str                # layer name
    tensor: str              # its output tensor (ONNX name)
    sqnr_db: float           # 10 log10(sum f^2 / sum (f - q)^2); inf when identical
    max_abs_err: float
    mean_abs_err: float


@dataclass
class EvalResult:
    float_metric: float | None          # top-1 of the float model (None without labels)
    int_metric: float | None            # top-1 of the integer plan
    drop: float | None                  # float_metric - int_metric, in percentage points
    agreement: float                    # fraction of samples whose int argmax == float argmax
    n_samples: int
    per_layer: list[LayerError] = field(default_factory=list)
    output_sqnr_db: float = math.inf    # of the (first) output logits

    def summary(self) -> str:
        parts = [f"{self.n_samples} samples"]
        if self.float_metric is not None:
            parts.append(f"top-1 float {100 * self.float_metric:.2f}% int {100 * self.int_metric:.2f}% "
                         f"(drop {self.drop:+.2f} pp)")
        parts.append(f"agreement {100 * self.agreement:.2f}%")
        parts.append(f"output SQNR {self.output_sqnr_db:.1f} dB")
        return ", ".join(parts)


class _Tally:
    """Top-1 counts, batch by batch (no per-sample arrays: memory stays flat in the sample count)."""

    def __init__(self) -> None:
        self.count = self.agree = self.float_correct = self.int_correct = 0

    def add(self, float_out: np.ndarray, int_out: np.ndarray, labels: np.ndarray | None) -> None:
        float_pred = np.argmax(float_out.reshape(len(float_out), -1), axis=1)
        int_pred = np.argmax(int_out.reshape(len(int_out), -1), axis=1)
        self.count += len(float_pred)
        self.agree += int(np.count_nonzero(float_pred == int_pred))
        if labels is not None:
            self.float_correct += int(np.count_nonzero(float_pred == labels))
            self.int_correct += int(np.count_nonzero(int_pred == labels))


class _ErrorAccumulator:
    def __init__(self) -> None:
        self.signal = self.noise = self.abs_sum = 0.0
        self.max_abs = 0.0
        self.count = 0

    def add(self, ref: np.ndarray, got: np.ndarray) -> None:
        ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
        if ref.shape != got.shape:
            raise ModelError(f"float tensor shape {list(ref.shape)} differs from the plan's {list(got.shape)}")
        diff = np.abs(ref - got)
        self.signal += float(np.sum(ref * ref))
        self.noise += float(np.sum(diff * diff))
        self.abs_sum += float(np.sum(diff))
        self.max_abs = max(self.max_abs, float(diff.max()) if diff.size else 0.0)
        self.count += diff.size

    def sqnr_db(self) -> float:
        if self.noise == 0.0:
            return math.inf
        if self.signal == 0.0:
            return -math.inf
        return 10.0 * math.log10(self.signal / self.noise)

    def result(self, name: str, tensor: str) -> LayerError:
        return LayerError(name, tensor, self.sqnr_db(), self.max_abs, self.abs_sum / max(self.count, 1))


def _progress(total: int, enabled: bool | None):
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    disable = enabled is False or not sys.stderr.isatty()   # a bar only on a terminal, never in logs
    return tqdm(total=total, unit="sample", file=sys.stderr, disable=disable, desc="evaluate")


def _check_source(model_path: str | os.PathLike, graph: Graph, plan: Plan) -> None:
    try:
        digest = hashlib.sha256(Path(model_path).read_bytes()).hexdigest()
    except OSError as exc:
        raise ModelError(f"{model_path}: cannot read the model ({exc.strerror or exc})") from None
    for what, expected in (("graph", graph.source_sha256), ("plan", plan.source_model_sha256)):
        if expected and expected != digest:
            log.warning("%s was built from a different file than %s (sha256 mismatch)", what, model_path)


def evaluate(model_path: str | os.PathLike, graph: Graph, plan: Plan, x, labels=None, batch_size: int = 64,
             per_layer: bool = True, metric: str = "top1", progress: bool | None = None) -> EvalResult:
    """Compare ``plan`` (host simulation) with the float ONNX model on samples ``x``.

    ``x``: float array in the model's own input layout, batch first (or a list, one per input);
    ``labels``: int class indices, or None (then only agreement and errors are reported).
    """
    _check_metric(metric)
    inputs = list(x) if isinstance(x, (list, tuple)) else [x]
    inputs = [np.asarray(a, dtype=np.float32) for a in inputs]
    n = len(inputs[0])
    if labels is not None and len(labels) != n:
        raise ModelError(f"evaluate: {len(labels)} labels for {n} samples")
    flat_labels = None if labels is None else np.asarray(labels).reshape(-1)

    def batches(size: int) -> Iterator[tuple[list[np.ndarray], np.ndarray | None]]:
        for start in range(0, n, size):
            part = slice(start, start + size)
            yield [a[part] for a in inputs], (None if flat_labels is None else flat_labels[part])

    return evaluate_batches(model_path, graph, plan, batches, n, labels is not None, batch_size=batch_size,
                            per_layer=per_layer, metric=metric, progress=progress)


def evaluate_batches(model_path: str | os.PathLike, graph: Graph, plan: Plan, batches: BatchSource, n: int,
                     labeled: bool, batch_size: int = 64, per_layer: bool = True, metric: str = "top1",
                     progress: bool | None = None) -> EvalResult:
    """:func:`evaluate` on samples that arrive in batches (streamed from a file: flat memory).

    ``batches(size)`` yields ``(inputs, labels)`` of at most ``size`` samples (``inputs`` one
    array per model input, ``labels`` None when ``labeled`` is False); ``n`` samples in all.
    """
    from .sim.executor import dequantize, quantize_input, run_plan

    _check_metric(metric)
    _check_source(model_path, graph, plan)
    tensor_index = {t.name: i for i, t in enumerate(plan.tensors)}
    layer_tensors = [(layer.name, plan.tensors[layer.output].name) for layer in plan.layers] if per_layer else []
    out_names = [plan.tensors[i].name for i in plan.outputs]
    session, available = float_session(model_path, [t for _, t in layer_tensors])
    missing = [name for name in out_names if name not in available]
    if missing:
        raise ModelError(f"evaluate: plan output '{missing[0]}' is not a tensor of {model_path}")
    errors = {t: _ErrorAccumulator() for _, t in layer_tensors if t in available}
    factors = plan.meta.get("lowering", {}).get("activation_scales", {})
    out_error, tally = _ErrorAccumulator(), _Tally()
    bar = _progress(n, progress)
    for inputs, labels in batches(_stream_batch(session, batch_size)):
        for part, floats in iterate_float(session, inputs, batch_size):
            ints = [quantize_input(plan, a[part], k) for k, a in enumerate(inputs)]
            sim = run_plan(plan, ints, capture=bool(errors))
            f_out = floats[out_names[0]]
            q_out = dequantize(plan, plan.outputs[0], sim.outputs[0])
            out_error.add(f_out, q_out)
            tally.add(f_out, q_out, None if labels is None else labels[part])
            for tensor, acc in errors.items():
                got = dequantize(plan, tensor_index[tensor], sim.intermediates[tensor])
                acc.add(floats[tensor], _undo_equalization(plan, tensor_index[tensor], got, factors))
            if bar is not None:
                bar.update(part.stop - part.start)
    if bar is not None:
        bar.close()
    return _result(tally, labeled, [errors[t].result(name, t) for name, t in layer_tensors if t in errors],
                   out_error)


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ModelError(f"evaluate: metric must be one of {METRICS}, got '{metric}'")


def _stream_batch(session, batch_size: int) -> int:
    """Samples per streamed batch: a multiple of a batch dimension the model fixes."""
    dim = session.get_inputs()[0].shape[0] if session.get_inputs()[0].shape else None
    fixed = dim if isinstance(dim, int) and dim > 0 else 1
    return max(fixed, batch_size // fixed * fixed)


def _undo_equalization(plan: Plan, index: int, values: np.ndarray, factors: dict) -> np.ndarray:
    """Cross-layer equalization scaled some activations per channel: compare in float-model units."""
    t = plan.tensors[index]
    if t.name not in factors:
        return values
    f = np.asarray(factors[t.name], dtype=np.float64)
    shape = {"NCHW": (1, -1, 1, 1), "NC": (1, -1)}.get(t.source_layout, (1, 1, 1, -1))
    return values / f.reshape(shape)


def _result(tally: _Tally, labeled: bool, per_layer: list[LayerError], out_error: _ErrorAccumulator) -> EvalResult:
    n = tally.count
    agreement = tally.agree / n if n else 0.0
    float_metric = int_metric = drop = None
    if labeled and n:
        float_metric, int_metric = tally.float_correct / n, tally.int_correct / n
        drop = 100.0 * (float_metric - int_metric)
    return EvalResult(float_metric, int_metric, drop, agreement, n, per_layer, out_error.sqnr_db())
