"""Float activations of the original ONNX model by tensor name (onnxruntime).

Both the evaluation (float side of the per-layer comparison) and the
data-driven weight refinements read activations here, so the float reference
is always the user's model as onnxruntime runs it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence

import numpy as np

from fixpoint.ir import ModelError

log = logging.getLogger(__name__)


def float_session(model_path: str | os.PathLike, extra_outputs: Sequence[str] = ()):
    """An onnxruntime session whose outputs are the model's plus ``extra_outputs`` (existing names only).

    Returns (session, output names in session order).
    """
    import onnx
    import onnxruntime as ort

    from fixpoint.frontend.ort_options import quiet_session_options

    try:
        model = onnx.load(str(model_path))
    except Exception as exc:  # onnx raises several unrelated types for bad files
        raise ModelError(f"{model_path}: cannot load the ONNX model ({type(exc).__name__}: {exc})") from None
    produced = {o for node in model.graph.node for o in node.output}
    present = {o.name for o in model.graph.output}
    for name in dict.fromkeys(extra_outputs):
        if name in produced and name not in present:
            model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
            present.add(name)
    options = quiet_session_options()
    try:
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types; e.g. repeated node names
        message = " ".join(str(exc).split())[:300]
        raise ModelError(f"{model_path}: onnxruntime cannot load the model ({message})") from None
    return session, [o.name for o in session.get_outputs()]


def _fixed_batch(session) -> int | None:
    dim = session.get_inputs()[0].shape[0] if session.get_inputs()[0].shape else None
    return dim if isinstance(dim, int) else None


def iterate_float(
    session, inputs: Sequence[np.ndarray], batch_size: int
) -> Iterator[tuple[slice, dict[str, np.ndarray]]]:
    """Run the session over the samples in batches; yields (sample slice, {output name: array})."""
    names = [i.name for i in session.get_inputs()]
    if len(names) != len(inputs):
        raise ModelError(f"the model takes {len(names)} input(s), got {len(inputs)} array(s)")
    n = len(inputs[0])
    fixed = _fixed_batch(session)
    step = fixed if fixed is not None else max(1, batch_size)
    outputs = [o.name for o in session.get_outputs()]
    for start in range(0, n, step):
        part = slice(start, min(n, start + step))
        feed = {name: np.ascontiguousarray(arr[part], dtype=np.float32) for name, arr in zip(names, inputs)}
        if fixed is not None and part.stop - part.start != fixed:
            raise ModelError(f"the model's batch dimension is fixed to {fixed}; {n} samples do not divide into it")
        yield part, dict(zip(outputs, session.run(outputs, feed)))
