"""onnxruntime's static quantizer as the calibration benchmark runs it, and how its models are scored.

Scoring an ORT QDQ model two ways matters on this kind of machine. The CPU
execution provider fuses DequantizeLinear -> op -> QuantizeLinear into its int8
kernels; on x86 without VNNI (AVX2 only, like the bench machine) those multiply
u8 x s8 pairs with ``vpmaddubsw``, whose int16 pair sums saturate for 8-bit
weights. That is why onnxruntime recommends ``reduce_range`` there. Measured on
mlp: a mean |logit error| against float of 0.95 fused vs 0.105 with graph
optimizations off, and 0.18 for both once ``reduce_range=True``. So:

* ``as_run``: ORT's default session, i.e. what its int8 kernels compute here;
* ``exact``:  graph optimizations off, so every Q/DQ pair runs as written, which
  is the QDQ model's defined meaning and measures the calibration method itself.
"""

from __future__ import annotations

import numpy as np

ORT_METHODS = ("MinMax", "Entropy", "Percentile")
# 25 divides 100, 500 and 1000: onnxruntime's Entropy/Percentile collectors stack batches
# with np.asarray and fail on a short last batch, and every method gets the same batches.
BATCH = 25


class CalibrationReader:
    """onnxruntime CalibrationDataReader over our streaming loader (same batches as ours)."""

    def __init__(self, data) -> None:
        self.data = data
        self.rewind()

    def get_next(self):
        batch = next(self._it, None)
        return None if batch is None else {self.data.input_name: batch}

    def rewind(self) -> None:
        self._it = iter(self.data.batches(BATCH))


def ort_quantize(model: str, out: str, data, method: str, overrides: dict | None = None) -> dict:
    """quantize_static: QDQ, per-channel int8 weights, int8 activations, ``method`` ranges."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    extra = {"TensorQuantOverrides": overrides} if overrides else None
    quantize_static(
        model,
        out,
        CalibrationReader(data),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=getattr(CalibrationMethod, method),
        extra_options=extra,
    )
    return {}


def ort_logits(model_path: str, x: np.ndarray, exact: bool = False) -> np.ndarray:
    """Outputs of ``model_path`` on ``x`` (batch first); ``exact`` runs the graph unoptimized."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if exact:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    chunks = [session.run(None, {name: x[i : i + 256]})[0] for i in range(0, len(x), 256)]
    return np.concatenate([c.reshape(len(c), -1) for c in chunks])


def top1(model_path: str, x: np.ndarray, labels: np.ndarray, exact: bool = False) -> float:
    return float(np.mean(np.argmax(ort_logits(model_path, x, exact), axis=1) == labels))
