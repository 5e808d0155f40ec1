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
from .metrics import OutputMetrics, OutputTally, UserMetric, call_user_metric
from .plan import Plan

log = logging.getLogger(__name__)

METRICS = ("top1",)
# batches(size) -> (inputs: one array per plan input, labels), at most `size` samples each; labels:
# None, an array (the first output's) or {output name: array}
BatchSource = Callable[[int], Iterable[tuple[list[np.ndarray], "np.ndarray | dict | None"]]]


@dataclass
class LayerError:
    """Error of one layer's dequantized integer output against the float tensor of the same name."""

    name: str  # layer name
    tensor: str  # its output tensor (ONNX name)
    sqnr_db: float  # 10 log10(sum f^2 / sum (f - q)^2); inf when identical
    max_abs_err: float
    mean_abs_err: float


@dataclass
class EvalResult:
    """Float vs integer accuracy. The top-level figures are those of the *primary* output: the first
    labeled output, else the first output; ``outputs`` has every output's (plan order)."""

    float_metric: float | None  # top-1 of the float model (None without labels)
    int_metric: float | None  # top-1 of the integer plan
    drop: float | None  # float_metric - int_metric, in percentage points
    agreement: float  # fraction of samples whose int argmax == float argmax
    n_samples: int
    per_layer: list[LayerError] = field(default_factory=list)
    output_sqnr_db: float = math.inf  # of the primary output
    outputs: list[OutputMetrics] = field(default_factory=list)
    primary_output: str = ""
    user_metric: dict[str, float] | None = None  # --metric: the {name: value} the user function returned

    def summary(self) -> str:
        parts = [f"{self.n_samples} samples"]
        if self.float_metric is not None:
            parts.append(
                f"top-1 float {100 * self.float_metric:.2f}% int {100 * self.int_metric:.2f}% "
                f"(drop {self.drop:+.2f} pp)"
            )
        parts.append(f"agreement {100 * self.agreement:.2f}%")
        parts.append(f"output SQNR {self.output_sqnr_db:.1f} dB")
        return ", ".join(parts)


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
    disable = enabled is False or not sys.stderr.isatty()  # a bar only on a terminal, never in logs
    return tqdm(total=total, unit="sample", file=sys.stderr, disable=disable, desc="evaluate")


def _check_source(model_path: str | os.PathLike, graph: Graph, plan: Plan) -> None:
    try:
        digest = hashlib.sha256(Path(model_path).read_bytes()).hexdigest()
    except OSError as exc:
        raise ModelError(f"{model_path}: cannot read the model ({exc.strerror or exc})") from None
    for what, expected in (("graph", graph.source_sha256), ("plan", plan.source_model_sha256)):
        if expected and expected != digest:
            log.warning("%s was built from a different file than %s (sha256 mismatch)", what, model_path)


def evaluate(
    model_path: str | os.PathLike,
    graph: Graph,
    plan: Plan,
    x,
    labels=None,
    batch_size: int = 64,
    per_layer: bool = True,
    metric: str | UserMetric = "top1",
    progress: bool | None = None,
) -> EvalResult:
    """Compare ``plan`` (host simulation) with the float ONNX model on samples ``x``.

    ``x``: float array in the model's own input layout, batch first (or a list, one per plan input);
    ``labels``: int class indices of the first output, ``{output name: indices}``, or None (then
    agreement with float and errors are reported).
    """
    inputs = list(x) if isinstance(x, (list, tuple)) else [x]
    inputs = [np.asarray(a, dtype=np.float32) for a in inputs]
    n = len(inputs[0])
    label_map = _label_map(plan, labels)
    for name, values in label_map.items():
        if len(values) != n:
            raise ModelError(f"evaluate: {len(values)} labels for {n} samples (output '{name}')")

    def batches(size: int) -> Iterator[tuple[list[np.ndarray], dict[str, np.ndarray]]]:
        for start in range(0, n, size):
            part = slice(start, start + size)
            yield [a[part] for a in inputs], {k: v[part] for k, v in label_map.items()}

    return evaluate_batches(
        model_path,
        graph,
        plan,
        batches,
        n,
        bool(label_map),
        batch_size=batch_size,
        per_layer=per_layer,
        metric=metric,
        progress=progress,
    )


def _label_map(plan: Plan, labels) -> dict[str, np.ndarray]:
    """Labels by output name: None -> {}, an array -> the first output's, a dict as given."""
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        labels = {plan.tensors[plan.outputs[0]].name: labels}
    names = [plan.tensors[i].name for i in plan.outputs]
    unknown = [k for k in labels if k not in names]
    if unknown:
        raise ModelError(f"evaluate: labels for '{unknown[0]}', which is not a plan output ({', '.join(names)})")
    return {k: np.asarray(v).reshape(-1) for k, v in labels.items()}


def evaluate_batches(
    model_path: str | os.PathLike,
    graph: Graph,
    plan: Plan,
    batches: BatchSource,
    n: int,
    labeled: bool,
    batch_size: int = 64,
    per_layer: bool = True,
    metric: str | UserMetric = "top1",
    progress: bool | None = None,
) -> EvalResult:
    """:func:`evaluate` on samples that arrive in batches (streamed from a file: flat memory).

    ``batches(size)`` yields ``(inputs, labels)`` of at most ``size`` samples (``inputs`` one
    array per plan input; ``labels`` see :data:`BatchSource`); ``n`` samples in all. ``metric``:
    ``"top1"`` or a user metric (:mod:`fixpoint.metrics`), which sees every output whole.
    ``labeled`` is informational: the labels each batch carries decide which outputs get top-1.
    """
    from .sim.executor import dequantize, quantize_input, run_plan

    user = _check_metric(metric)
    _check_source(model_path, graph, plan)
    tensor_index = {t.name: i for i, t in enumerate(plan.tensors)}
    layer_tensors = [(layer.name, plan.tensors[layer.output].name) for layer in plan.layers] if per_layer else []
    out_names = [plan.tensors[i].name for i in plan.outputs]
    session, available = float_session(model_path, [t for _, t in layer_tensors])
    missing = [name for name in out_names if name not in available]
    if missing:
        raise ModelError(f"evaluate: plan output '{missing[0]}' is not a tensor of {model_path}")
    order = _session_order(session, plan)
    errors = {t: _ErrorAccumulator() for _, t in layer_tensors if t in available}
    factors = plan.meta.get("lowering", {}).get("activation_scales", {})
    tallies = {name: OutputTally(name) for name in out_names}
    kept: tuple[dict, dict, dict] | None = ({}, {}, {}) if user else None
    bar = _progress(n, progress)
    for inputs, labels in batches(_stream_batch(session, batch_size)):
        labels = _label_map(plan, labels)
        for part, floats in iterate_float(session, [inputs[k] for k in order], batch_size):
            ints = [quantize_input(plan, a[part], k) for k, a in enumerate(inputs)]
            sim = run_plan(plan, ints, capture=bool(errors))
            for k, name in enumerate(out_names):
                q_out = dequantize(plan, plan.outputs[k], sim.outputs[k])
                part_labels = labels[name][part] if name in labels else None
                tallies[name].add(floats[name], q_out, part_labels)
                if kept is not None:
                    _keep(kept, name, floats[name], q_out, part_labels)
            for tensor, acc in errors.items():
                got = dequantize(plan, tensor_index[tensor], sim.intermediates[tensor])
                acc.add(floats[tensor], _undo_equalization(plan, tensor_index[tensor], got, factors))
            if bar is not None:
                bar.update(part.stop - part.start)
    if bar is not None:
        bar.close()
    result = _result(
        tallies[out_names[0]].count,
        [tallies[name].result() for name in out_names],
        [errors[t].result(name, t) for name, t in layer_tensors if t in errors],
    )
    if user is not None and kept is not None:
        whole = [{k: np.concatenate(v) for k, v in side.items()} for side in kept]
        result.user_metric = call_user_metric(user, *whole)
    return result


def _session_order(session, plan: Plan) -> list[int]:
    """For each onnxruntime input (model order), the index of the plan input of the same name."""
    names = [plan.tensors[i].name for i in plan.inputs]
    order = []
    for model_input in session.get_inputs():
        if model_input.name not in names:
            raise ModelError(f"evaluate: model input '{model_input.name}' is not a plan input ({', '.join(names)})")
        order.append(names.index(model_input.name))
    return order


def _keep(
    kept: tuple[dict, dict, dict], name: str, ref: np.ndarray, got: np.ndarray, labels: np.ndarray | None
) -> None:
    """Outputs (and labels) a user metric will see whole."""
    floats, ints, label_parts = kept
    floats.setdefault(name, []).append(np.asarray(ref))
    ints.setdefault(name, []).append(np.asarray(got))
    if labels is not None:
        label_parts.setdefault(name, []).append(np.asarray(labels))


def _check_metric(metric: str | UserMetric) -> UserMetric | None:
    if callable(metric):
        return metric
    if metric not in METRICS:
        raise ModelError(f"evaluate: metric must be one of {METRICS} or a function, got '{metric}'")
    return None


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
    shape = {"NCHW": (1, -1, 1, 1), "NC": (1, -1), "NCL": (1, -1, 1)}.get(t.source_layout, (1, 1, 1, -1))
    return values / f.reshape(shape)


def _result(n: int, outputs: list[OutputMetrics], per_layer: list[LayerError]) -> EvalResult:
    primary = next((o for o in outputs if o.labeled), outputs[0])
    return EvalResult(
        primary.float_top1,
        primary.int_top1,
        primary.drop,
        primary.agreement,
        n,
        per_layer,
        primary.sqnr_db,
        outputs,
        primary.name,
    )
