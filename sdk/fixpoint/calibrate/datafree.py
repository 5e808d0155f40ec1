"""Data-free calibration: activation ranges estimated from BatchNormalization statistics and weights.

No calibration sample is seen. As in data-free quantization (Nagel et al. 2019), a BatchNormalization
output is distributed per channel like ``N(beta, gamma^2)``: its running statistics normalise the
pre-BN values, so its parameters *are* the output distribution. Those statistics are read from the
ONNX model itself, before the normalizer folds BN into the convolution. Everything else is propagated
from the model input through the graph in the ONNX model's own order:

* each tensor is represented per channel by ``SAMPLES`` synthetic values (``[C, SAMPLES]``);
* a weighted layer's output channel is Gaussian (central limit) with mean ``W m + b`` and variance
  ``max(sum W^2 v, (sum_k W)^2 v)`` per input channel (independent taps, or taps as correlated as a
  smooth feature map's neighbours -- the larger, so ranges err wide rather than clip);
* BatchNormalization replaces its input's estimate by ``N(beta, gamma^2)``;
* element-wise ops (ReLU, Clip, sigmoid, ...) apply to the samples, so their shape is exact; binary
  ops combine independently shuffled samples; pooling combines a few independent draws;
* the model input is uniform in ``input_range`` when given, else standardized ``N(0, 1)``.

The histogram of each calibration target's samples then goes through the configured range policy as
if it had been observed. The result says so: ``CalibrationResult.estimated`` describes the estimate and
the report prints it. Ops outside ``PROPAGATE`` are refused with a one-line error naming the node.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict
from typing import Callable

import numpy as np
import onnx
from onnx import numpy_helper

from fixpoint.calibrate.api import calibration_targets, tensor_quant
from fixpoint.calibrate.collect import load_onnx
from fixpoint.calibrate.config import CalibrationConfig, resolve_policies
from fixpoint.calibrate.errors import CalibrationError
from fixpoint.calibrate.histogram import TensorObserver
from fixpoint.calibrate.result import CalibrationResult
from fixpoint.ir import Graph

log = logging.getLogger(__name__)

SAMPLES = 4096  # synthetic values per channel
POOL_DRAWS = 4  # independent draws an average pool combines (neighbours are correlated)


class _Walker:
    """Synthetic per-channel samples of every tensor of an ONNX graph."""

    def __init__(self, model: onnx.ModelProto, seed: int = 0) -> None:
        self.model = onnx.shape_inference.infer_shapes(model)
        self.rng = np.random.default_rng(seed)
        self.consts = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
        self.values: dict[str, np.ndarray] = {}
        self.shapes = {
            v.name: [d.dim_value if d.HasField("dim_value") else 0 for d in v.type.tensor_type.shape.dim]
            for v in [*self.model.graph.value_info, *self.model.graph.input, *self.model.graph.output]
        }

    def gaussian(self, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
        """Samples of the given per-channel mean and variance, Laplace-shaped: trained networks' pre-activations
        are heavier-tailed than normal (measured on the examples: the observed max is about twice the normal
        3-sigma point), and a range that clips the tail costs more than one a little too wide."""
        b = np.sqrt(np.maximum(var, 0.0) / 2.0)
        return mean[:, None] + b[:, None] * self.rng.laplace(size=(len(mean), SAMPLES))

    def shuffled(self, x: np.ndarray) -> np.ndarray:
        return self.rng.permuted(x, axis=1)

    def draws(self, x: np.ndarray, n: int, reduce: Callable) -> np.ndarray:
        return reduce(np.stack([self.shuffled(x) for _ in range(max(n, 1))]), axis=0)

    def arg(self, node: onnx.NodeProto, k: int) -> np.ndarray | None:
        if k >= len(node.input) or not node.input[k]:
            return None
        name = node.input[k]
        return self.consts[name] if name in self.consts else self.values.get(name)

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.values.update(inputs)
        for node in self.model.graph.node:
            if node.op_type == "Constant":
                self.consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t).astype(np.float64)
                continue
            rule = PROPAGATE.get(node.op_type)
            if rule is None:
                raise CalibrationError(
                    f"data-free calibration: no range estimate for {node.op_type} (node "
                    f"'{node.name or node.output[0]}'); calibrate with samples (--data)"
                )
            self.values[node.output[0]] = rule(self, node)
        return self.values


def _attr(node: onnx.NodeProto, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(axis=1), x.var(axis=1)


def _conv(w: _Walker, node: onnx.NodeProto) -> np.ndarray:
    x, weight, bias = w.arg(node, 0), w.arg(node, 1), w.arg(node, 2)
    groups = int(_attr(node, "group", 1))
    mean, var = _moments(x)
    out_ch, per_group = weight.shape[0], weight.shape[1]
    taps = weight.reshape(out_ch, per_group, -1)
    group_of = np.arange(out_ch) // (out_ch // groups)
    m = mean.reshape(groups, per_group)[group_of]
    v = var.reshape(groups, per_group)[group_of]
    out_mean = np.sum(taps.sum(axis=2) * m, axis=1)
    out_var = np.sum(np.maximum((taps**2).sum(axis=2), taps.sum(axis=2) ** 2) * v, axis=1)
    return w.gaussian(out_mean + (0.0 if bias is None else bias), out_var)


def _gemm(w: _Walker, node: onnx.NodeProto) -> np.ndarray:
    x, weight, bias = w.arg(node, 0), w.arg(node, 1), w.arg(node, 2)
    if node.op_type == "Gemm" and _attr(node, "transB", 0):
        weight = weight.T  # [in, out]
    mean, var = _moments(x)
    out_mean = mean @ weight * (_attr(node, "alpha", 1.0) if node.op_type == "Gemm" else 1.0)
    # features feeding a classifier head are correlated (a class lights up several): the fully correlated
    # bound (sum |W| sd)^2, where independent features would give sum W^2 v
    out_var = (np.sqrt(var) @ np.abs(weight)) ** 2
    if bias is not None:
        out_mean = out_mean + np.broadcast_to(bias * _attr(node, "beta", 1.0), out_mean.shape)
    return w.gaussian(out_mean, out_var)


def _batchnorm(w: _Walker, node: onnx.NodeProto) -> np.ndarray:
    gamma, beta = w.arg(node, 1), w.arg(node, 2)
    return w.gaussian(beta, gamma**2)


def _per_channel(c: np.ndarray | None, channels: int) -> np.ndarray | float:
    """A constant operand as a [C, 1] column (or a scalar) against [C, SAMPLES] samples."""
    if c is None:
        return 0.0
    flat = np.asarray(c, np.float64)
    if flat.size == 1:
        return float(flat.reshape(-1)[0])
    squeezed = flat.reshape(-1)
    if squeezed.size != channels:
        raise CalibrationError(
            f"data-free calibration: constant of shape {list(flat.shape)} does not broadcast "
            f"per channel over {channels} channels"
        )
    return squeezed[:, None]


def _binary(op: Callable) -> Callable:
    def rule(w: _Walker, node: onnx.NodeProto) -> np.ndarray:
        a_name, b_name = node.input[0], node.input[1]
        a, b = w.arg(node, 0), w.arg(node, 1)
        if a_name in w.values and b_name in w.values:
            return op(a, w.shuffled(b) if a_name != b_name else b)
        if a_name in w.values:
            return op(a, _per_channel(b, a.shape[0]))
        return op(_per_channel(a, b.shape[0]), b)

    return rule


def _clip(w: _Walker, node: onnx.NodeProto) -> np.ndarray:
    lo, hi = w.arg(node, 1), w.arg(node, 2)
    lo = float(lo) if lo is not None else _attr(node, "min", -math.inf)
    hi = float(hi) if hi is not None else _attr(node, "max", math.inf)
    return np.clip(w.arg(node, 0), lo, hi)


def _unary(f: Callable) -> Callable:
    return lambda w, node: f(w.arg(node, 0), node)


def _pool(reduce: Callable, draws: Callable) -> Callable:
    def rule(w: _Walker, node: onnx.NodeProto) -> np.ndarray:
        return w.draws(w.arg(node, 0), draws(w, node), reduce)

    return rule


def _kernel_area(w: _Walker, node: onnx.NodeProto) -> int:
    return int(np.prod(_attr(node, "kernel_shape", [1])))


def _spatial_area(w: _Walker, node: onnx.NodeProto) -> int:
    shape = w.shapes.get(node.input[0], [])
    return int(np.prod(shape[2:])) if len(shape) > 2 and all(shape[2:]) else POOL_DRAWS


def _flatten(w: _Walker, node: onnx.NodeProto) -> np.ndarray:
    """Channels-first features become C x (H*W) features, each channel's repeated (C-major order)."""
    x = w.arg(node, 0)
    out = w.shapes.get(node.output[0], [])
    features = int(np.prod(out[1:])) if len(out) > 1 and all(out[1:]) else x.shape[0]
    if features % x.shape[0]:
        raise CalibrationError(
            f"data-free calibration: cannot follow channels through '{node.name}' ({x.shape[0]} -> {features})"
        )
    return np.repeat(x, features // x.shape[0], axis=0)


def _concat(w: _Walker, node: onnx.NodeProto) -> np.ndarray:
    return np.concatenate([w.values[n] for n in node.input], axis=0)


def _softmax(w: _Walker, node: onnx.NodeProto) -> np.ndarray:
    x = w.arg(node, 0)
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


#: ONNX op -> how a tensor's synthetic samples follow through it (see the module docstring).
PROPAGATE: dict[str, Callable[[_Walker, onnx.NodeProto], np.ndarray]] = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": _gemm,
    "BatchNormalization": _batchnorm,
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Relu": _unary(lambda x, n: np.maximum(x, 0.0)),
    "Clip": _clip,
    "LeakyRelu": _unary(lambda x, n: np.where(x > 0, x, _attr(n, "alpha", 0.01) * x)),
    "Sigmoid": _unary(lambda x, n: _sigmoid(x)),
    "Tanh": _unary(lambda x, n: np.tanh(x)),
    "HardSigmoid": _unary(lambda x, n: np.clip(_attr(n, "alpha", 0.2) * x + _attr(n, "beta", 0.5), 0, 1)),
    "HardSwish": _unary(lambda x, n: x * np.clip(x / 6.0 + 0.5, 0.0, 1.0)),
    "Identity": _unary(lambda x, n: x),
    "Dropout": _unary(lambda x, n: x),
    "MaxPool": _pool(np.max, _kernel_area),
    "AveragePool": _pool(np.mean, lambda w, n: min(_kernel_area(w, n), POOL_DRAWS)),
    "GlobalAveragePool": _pool(np.mean, lambda w, n: min(_spatial_area(w, n), POOL_DRAWS)),
    "GlobalMaxPool": _pool(np.max, _spatial_area),
    "Flatten": _flatten,
    "Reshape": _flatten,
    "Concat": _concat,
    "Softmax": _softmax,
}


def _input_samples(
    w: _Walker, model: onnx.ModelProto, input_range: tuple[float, float] | None
) -> dict[str, np.ndarray]:
    result = {}
    consts = set(w.consts)
    for value in model.graph.input:
        if value.name in consts:
            continue
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        channels = dims[1] if len(dims) > 1 and dims[1] else 1
        if input_range is None:
            result[value.name] = np.clip(w.rng.standard_normal((channels, SAMPLES)), -4.0, 4.0)
        else:
            result[value.name] = w.rng.uniform(input_range[0], input_range[1], (channels, SAMPLES))
    return result


def describe(input_range: tuple[float, float] | None) -> str:
    where = (
        f"input uniform in [{input_range[0]:g}, {input_range[1]:g}]"
        if input_range
        else "input assumed standardized N(0, 1)"
    )
    return f"data-free: ranges estimated from BatchNormalization statistics and weights ({where}), no samples seen"


def calibrate_data_free(
    model_path: str | os.PathLike,
    graph: Graph | None,
    config: CalibrationConfig | None = None,
    input_range: tuple[float, float] | None = None,
) -> CalibrationResult:
    """Ranges for every activation of ``graph`` without calibration data (see the module docstring)."""
    config = config or CalibrationConfig()
    config.validate()
    if input_range is not None and not input_range[0] < input_range[1]:
        raise CalibrationError(f"data-free calibration: input range must be LO < HI, got {input_range}")
    model = load_onnx(model_path)
    names = calibration_targets(model_path, graph)
    specs = resolve_policies(names, graph, config)
    walker = _Walker(model)
    values = walker.run(_input_samples(walker, model, input_range))
    stats, quant = {}, {}
    for name in names:
        observer = TensorObserver(name)
        observer.update(values[name].astype(np.float32).reshape(-1))
        stats[name] = observer.result()
        quant[name] = tensor_quant(stats[name], *specs[name], config)
    how = describe(input_range)
    log.info("%s: %d tensors", how, len(quant))
    return CalibrationResult(
        quant=quant,
        stats=stats,
        requested={n: specs[n][0] for n in names},
        config=asdict(config),
        model_path=str(model_path),
        num_samples=0,
        estimated=how,
    )
