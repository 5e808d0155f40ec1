"""Accuracy of the board's outputs: per output, against its labels and against the float model.

Each output gets an :class:`~fixpoint.hil.results.OutputCheck`: how many samples had every byte
of that output equal to the simulation, and -- over the samples the board completed -- the board's
top-1 against the output's labels (``label/<output>``, or ``label`` for the first output), the
float model's, the drop, and the board's top-1 agreement with float. The top-level figures of
:class:`~fixpoint.hil.results.HilResult` are those of the primary output (the first labeled one,
else the first); the accuracy budget applies to every labeled output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..metrics import top1
from .results import HilResult


def output_accuracy(
    result: HilResult,
    names: list[str],
    board_out: list[np.ndarray],
    labels: dict[str, np.ndarray],
    model_path: Path | None,
    x: list[np.ndarray],
    input_names: list[str],
) -> None:
    """Fill ``result.outputs[k]``'s accuracy fields and the top-level (primary output) figures."""
    done = np.asarray(result.completed, dtype=np.int64)
    if done.size == 0:
        return
    floats = _float_outputs(model_path, x, input_names, names) if model_path else None
    for k, name in enumerate(names):
        check = result.outputs[k]
        board_pred = top1(board_out[k])[done]
        float_pred = top1(floats[name])[done] if floats is not None else None
        if name in labels:
            truth = np.asarray(labels[name]).reshape(-1)[done]
            check.board_top1 = float(np.mean(board_pred == truth))
            if float_pred is not None:
                check.float_top1 = float(np.mean(float_pred == truth))
                check.drop_pp = (check.float_top1 - check.board_top1) * 100.0
        if float_pred is not None:
            check.agreement = float(np.mean(board_pred == float_pred))
    primary = next((c for c in result.outputs if c.board_top1 is not None), result.outputs[0])
    result.board_top1, result.float_top1 = primary.board_top1, primary.float_top1
    result.drop_pp, result.agreement = primary.drop_pp, primary.agreement


def _float_outputs(
    model_path: Path, x: list[np.ndarray], input_names: list[str], names: list[str]
) -> dict[str, np.ndarray]:
    """Every model output of the float model on all samples, by name."""
    import onnxruntime as ort

    from ..frontend.ort_options import quiet_session_options  # onnxruntime's log lines stay off stderr

    session = ort.InferenceSession(str(model_path), quiet_session_options(), providers=["CPUExecutionProvider"])
    by_name = dict(zip(input_names, x))
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    dim = session.get_inputs()[0].shape[0] if session.get_inputs()[0].shape else None
    step = dim if isinstance(dim, int) and dim > 0 else 256  # a model exported at batch 1 takes 1 at a time
    for start in range(0, len(x[0]), step):
        feed = {
            i.name: np.asarray(by_name[i.name][start : start + step], dtype=np.float32) for i in session.get_inputs()
        }
        for name, value in zip(names, session.run(names, feed)):
            parts[name].append(np.asarray(value))
    return {name: np.concatenate(values) for name, values in parts.items()}
