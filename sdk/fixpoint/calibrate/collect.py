"""Run the float model on the calibration set and stream per-tensor statistics.

One onnxruntime session over a single copy of the model in which every
requested tensor is also a graph output. Each batch's outputs are folded into
constant-size :class:`~fixpoint.calibrate.histogram.TensorObserver` state and
dropped, so memory does not grow with the number of samples (onnxruntime's
own calibrators keep every intermediate output of every sample).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable

import numpy as np
import onnx
import onnxruntime as ort
from tqdm import tqdm

from fixpoint.calibrate.data import CalibrationData
from fixpoint.calibrate.errors import CalibrationError, one_line
from fixpoint.calibrate.histogram import TensorObserver, TensorStats
from fixpoint.frontend.ort_options import quiet_session_options

log = logging.getLogger(__name__)


def load_onnx(model_path: str | os.PathLike) -> onnx.ModelProto:
    try:
        return onnx.load(os.fspath(model_path))
    except Exception as exc:  # protobuf / IO errors have many types
        raise CalibrationError(f"{model_path}: cannot read ONNX model ({one_line(exc)})") from None


def _runtime_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    initializers = {init.name for init in model.graph.initializer}
    return [vi for vi in model.graph.input if vi.name not in initializers]


def model_input_spec(model_path: str | os.PathLike) -> tuple[str, list[int]]:
    """(name, shape without batch axis) of the model's single runtime input."""
    model = load_onnx(model_path)
    inputs = _runtime_inputs(model)
    if len(inputs) != 1:
        raise CalibrationError(
            f"{model_path}: calibration supports models with one input, got {[vi.name for vi in inputs]}"
        )
    dims = inputs[0].type.tensor_type.shape.dim
    shape = [d.dim_value if d.HasField("dim_value") else -1 for d in dims[1:]]
    return inputs[0].name, shape


def model_input_specs(model_path: str | os.PathLike) -> list[tuple[str, list[int]]]:
    """(name, shape without batch axis) of every runtime input of the model, in model order."""
    specs = []
    for vi in _runtime_inputs(load_onnx(model_path)):
        dims = vi.type.tensor_type.shape.dim
        specs.append((vi.name, [d.dim_value if d.HasField("dim_value") else -1 for d in dims[1:]]))
    return specs


def observable_names(model: onnx.ModelProto) -> list[str]:
    """Runtime graph inputs and every top-level node output, in graph order."""
    names = [vi.name for vi in _runtime_inputs(model)]
    seen = set(names)
    for node in model.graph.node:
        for out in node.output:
            if out and out not in seen:
                names.append(out)
                seen.add(out)
    return names


def _with_outputs(model: onnx.ModelProto, names: Iterable[str]) -> onnx.ModelProto:
    """The model with ``names`` appended as graph outputs.

    Untyped value infos: onnxruntime fills in type and shape itself, which
    spares a shape-inference pass over the whole model.
    """
    present = {o.name for o in model.graph.output}
    for name in names:
        if name not in present:
            model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
            present.add(name)
    return model


def make_session(model: onnx.ModelProto, origin: str) -> ort.InferenceSession:
    options = quiet_session_options()  # onnxruntime's log lines are not our user's business
    # Idle onnxruntime workers otherwise busy-wait after each run and take the core the
    # statistics need (kws, 2 vCPUs: 0.14 s vs 0.20 s per pass). Thread count: the default.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise CalibrationError(f"{origin}: onnxruntime cannot load the model ({one_line(exc)})") from None


def collect_statistics(
    model_path: str | os.PathLike,
    value_names: list[str],
    data: CalibrationData,
    batch_size: int = 32,
    progress: bool = True,
    histogram: bool = True,
) -> dict[str, TensorStats]:
    """Stream ``data`` through the model; min/max/count (+histogram) per requested tensor.

    ``histogram=False`` is the bare min/max pass (the benchmark's baseline).
    """
    model = load_onnx(model_path)
    origin = str(model_path)
    _check_input(model, data, origin)
    _check_names(model, value_names, origin)
    fetch = [n for n in value_names if n not in data.input_names]
    fixed = _fixed_batch(model)
    session = make_session(_with_outputs(model, fetch), origin)
    del model  # the session holds the only copy now
    observers = {name: TensorObserver(name, histogram) for name in value_names}
    _stream(session, data, fetch, observers, fixed or batch_size, progress, origin, fixed is not None)
    return {name: obs.result() for name, obs in observers.items()}


def _check_input(model: onnx.ModelProto, data: CalibrationData, origin: str) -> None:
    names = [vi.name for vi in _runtime_inputs(model)]
    if sorted(names) != sorted(data.input_names):
        raise CalibrationError(
            f"{origin}: model inputs are {names} but the calibration data is for input(s) {data.input_names}"
        )


def _fixed_batch(model: onnx.ModelProto) -> int | None:
    """The input's batch size when the model fixes it (then batches must have exactly that size)."""
    dims = _runtime_inputs(model)[0].type.tensor_type.shape.dim
    if dims and dims[0].HasField("dim_value") and dims[0].dim_value > 0:
        log.info("model input has a fixed batch size of %d; calibrating in batches of it", dims[0].dim_value)
        return int(dims[0].dim_value)
    return None


def _check_names(model: onnx.ModelProto, value_names: list[str], origin: str) -> None:
    known = set(observable_names(model))
    missing = [n for n in value_names if n not in known]
    if missing:
        shown = ", ".join(repr(n) for n in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise CalibrationError(
            f"{origin}: {len(missing)} requested tensor(s) are not activations of the model: {shown}"
        )


def _observe(
    observers: dict[str, TensorObserver],
    feed: dict[str, np.ndarray],
    fetch: list[str],
    outputs: list,
    where: str,
    origin: str,
) -> None:
    """Fold one batch's inputs and outputs into the observers."""
    try:
        for name, batch in feed.items():
            if name in observers:
                observers[name].update(batch)
        for name, value in zip(fetch, outputs):
            observers[name].update(np.asarray(value))
    except CalibrationError as exc:
        raise CalibrationError(f"{origin}: {exc} ({where})") from None


def _stream(
    session: ort.InferenceSession,
    data: CalibrationData,
    fetch: list[str],
    observers: dict[str, TensorObserver],
    batch_size: int,
    progress: bool,
    origin: str,
    fixed_batch: bool = False,
) -> None:
    """Run every batch and fold it into the observers before the next one.

    Folding on a helper thread while onnxruntime runs the next batch (the
    histogram kernel and numpy's reductions release the GIL) was measured:
    30 % less wall time on kws, but two batches of outputs alive at once and
    freed on another thread's malloc arena made the peak RSS drift up with
    the sample count (1000 vs 100 samples: 1.13x instead of 1.00x). Flat
    memory is the point of this module, so the fold stays in line.
    """
    show = progress and sys.stderr.isatty()
    done = 0
    with tqdm(
        total=len(data), unit="sample", desc="calibrating", file=sys.stderr, disable=not show, leave=False
    ) as bar:
        for feed in data.feeds(batch_size):
            count = len(next(iter(feed.values())))
            if fixed_batch and count < batch_size:
                log.warning("skipping the last %d sample(s): the model's batch size is fixed to %d", count, batch_size)
                break
            where = f"samples {done}..{done + count - 1}"
            outputs = _run_batch(session, fetch, feed, where, origin)
            _observe(observers, feed, fetch, outputs, where, origin)
            del outputs  # only one batch of outputs is ever alive
            done += count
            bar.update(count)
    log.info("observed %d tensors over %d samples", len(observers), done)


def _run_batch(
    session: ort.InferenceSession, fetch: list[str], feed: dict[str, np.ndarray], where: str, origin: str
) -> list:
    try:
        return session.run(fetch, feed)
    except Exception as exc:
        raise CalibrationError(f"{origin}: onnxruntime failed on {where} ({one_line(exc)})") from None
