"""A candidate plan's simulated outputs next to the float model's, on a few samples: what the label-free
searches (range search, per-tensor policy search, mixed precision under a budget) score candidates by.

    outputs = SimulatedOutputs(graph, x)          # runs the float model once
    for ref, got in outputs.pairs(plan): ...      # per plan output: float reference, dequantized simulation
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph
from ..lower.onnx_acts import float_session, iterate_float
from ..plan import Plan


class SimulatedOutputs:
    """The float model's outputs on ``x`` (one array per graph input, or one array), computed once; each
    :meth:`pairs` call simulates a plan bit-exactly on the same samples."""

    def __init__(self, graph: Graph, x: list[np.ndarray] | np.ndarray) -> None:
        x = list(x) if isinstance(x, (list, tuple)) else [x]
        self.x = dict(zip(graph.inputs, x))  # float samples by input name
        self.count = len(x[0])
        session, _ = float_session(graph.source_path)
        outputs: dict[str, list[np.ndarray]] = {}
        ordered = [self.x[i.name] for i in session.get_inputs()]
        for _, floats in iterate_float(session, ordered, batch_size=self.count):
            for name, value in floats.items():
                outputs.setdefault(name, []).append(np.asarray(value, np.float64))
        self.reference = {k: np.concatenate(v) for k, v in outputs.items()}
        self.evaluations = 0

    def pairs(self, plan: Plan) -> list[tuple[np.ndarray, np.ndarray]]:
        """(float reference, dequantized simulated output) per plan output, in the plan's output order."""
        from .executor import dequantize, quantize_input, run_plan

        sim = run_plan(plan, [quantize_input(plan, self.x[plan.tensors[t].name], k) for k, t in enumerate(plan.inputs)])
        self.evaluations += 1
        out = []
        for k, index in enumerate(plan.outputs):
            ref = self.reference[plan.tensors[index].name]
            out.append((ref, dequantize(plan, index, sim.outputs[k]).reshape(ref.shape)))
        return out


def relative_mse(ref: np.ndarray, got: np.ndarray) -> float:
    """Mean squared error relative to the reference's mean square (1/SQNR)."""
    return float(np.mean((got - ref) ** 2) / max(float(np.mean(ref**2)), 1e-30))


def relative_squared_errors(ref: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Per sample (first axis): squared error over the sample's values relative to the reference's mean square
    times the values per sample, so the mean over samples is :func:`relative_mse`."""
    err = ((got - ref) ** 2).reshape(len(ref), -1).sum(axis=1)
    values = max(int(np.prod(ref.shape[1:])), 1)
    return err / (max(float(np.mean(ref**2)), 1e-30) * values)
