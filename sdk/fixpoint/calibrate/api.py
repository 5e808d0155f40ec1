"""``calibrate``: float model + samples -> a TensorQuant for every activation.

Which tensors: every activation of the *normalized* graph (graph inputs and
node outputs, ``graph.activation_names()``) that exists under the same name in
the ONNX model -- the normalizer keeps ONNX names, so statistics gathered by
running the original model in onnxruntime apply unchanged. Tensors whose
parameters lowering fixes itself (pool outputs reuse the input's, softmax
output is fixed) still get a range here; lowering decides what to use.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict

from fixpoint.calibrate.collect import collect_statistics, load_onnx, observable_names
from fixpoint.calibrate.config import CalibrationConfig, resolve_policies
from fixpoint.calibrate.data import CalibrationData
from fixpoint.calibrate.errors import CalibrationError
from fixpoint.calibrate.histogram import TensorStats
from fixpoint.calibrate.policies import choose_range
from fixpoint.calibrate.qparams import quant_from_range
from fixpoint.calibrate.result import CalibrationResult
from fixpoint.ir import Graph
from fixpoint.quant import TensorQuant

log = logging.getLogger(__name__)


def _keeps_input_range(graph: Graph, name: str) -> bool:
    """Whether ``name`` is made by an op whose output shares its input's quantization or has a fixed
    one (its row's output_rule), so a tensor the normalizer added there (e.g. the transposes of a
    reordering reshape, the softmax over rows of a row-major tensor) needs no range of its own."""
    from fixpoint.ops.runtime_ops import RUNTIME_OPS

    producer = graph.producer(name)
    row = RUNTIME_OPS.get(producer.op) if producer is not None else None
    return bool(row and row.output_rule and row.output_rule.endswith((":output_same_as_input", ":output_softmax")))


def calibration_targets(model_path: str | os.PathLike, graph: Graph | None) -> list[str]:
    """Value names to calibrate: the graph's activations present in the ONNX model.

    ``graph`` None calibrates every ONNX activation (inputs and node outputs).
    """
    available = observable_names(load_onnx(model_path))
    if graph is None:
        return available
    present = set(available)
    wanted = graph.activation_names()
    missing = [n for n in wanted if n not in present and not _keeps_input_range(graph, n)]
    if missing:
        log.warning(
            "%d normalized tensor(s) have no ONNX counterpart and get no range: %s",
            len(missing),
            ", ".join(missing[:5]),
        )
    names = [n for n in wanted if n in present]
    if not names:
        raise CalibrationError(f"{model_path}: none of the graph's activations exist in the ONNX model")
    return names


def calibrate(
    model_path: str | os.PathLike, graph: Graph | None, data: CalibrationData, config: CalibrationConfig | None = None
) -> CalibrationResult:
    """Stream ``data`` through the model once and choose every activation's range."""
    config = config or CalibrationConfig()
    config.validate()
    names = calibration_targets(model_path, graph)
    specs = resolve_policies(names, graph, config)
    stats = collect_statistics(model_path, names, data, batch_size=config.batch_size, progress=config.progress)
    quant = {
        name: (
            pinned_quant(stats[name], config)
            if name in config.pinned
            else tensor_quant(stats[name], *specs[name], config)
        )
        for name in names
    }
    _log_summary(quant)
    return CalibrationResult(
        quant=quant,
        stats=stats,
        requested={n: "fixed" if n in config.pinned else specs[n][0] for n in names},
        config=asdict(config),
        model_path=str(model_path),
        num_samples=len(data),
    )


def tensor_quant(stats: TensorStats, policy: str, options: dict, config: CalibrationConfig) -> TensorQuant:
    """Apply one policy to one tensor's statistics and derive its parameters."""
    scheme = config.resolved_scheme
    choice = choose_range(policy, stats, config.bits, scheme, **options)
    return quant_from_range(
        stats.name, choice.lo, choice.hi, config.bits, scheme, choice.policy, (stats.min, stats.max)
    )


def pinned_quant(stats: TensorStats, config: CalibrationConfig) -> TensorQuant:
    """The given (scale, zero point) of a pinned tensor, kept exactly; its range is what they represent."""
    scale, zero_point = float(config.pinned[stats.name][0]), int(config.pinned[stats.name][1])
    qmin, qmax = -(1 << (config.bits - 1)), (1 << (config.bits - 1)) - 1
    return TensorQuant(
        name=stats.name,
        scale=scale,
        zero_point=zero_point,
        bits=config.bits,
        scheme="symmetric" if zero_point == 0 else "asymmetric",
        policy="fixed",
        lo=scale * (qmin - zero_point),
        hi=scale * (qmax - zero_point),
        observed_min=float(stats.min),
        observed_max=float(stats.max),
    )


def _log_summary(quant: dict[str, TensorQuant]) -> None:
    winners: dict[str, int] = {}
    for q in quant.values():
        winners[q.policy] = winners.get(q.policy, 0) + 1
    log.info(
        "calibrated %d tensors (ranges chosen by: %s)",
        len(quant),
        ", ".join(f"{k} {v}" for k, v in sorted(winners.items())),
    )
