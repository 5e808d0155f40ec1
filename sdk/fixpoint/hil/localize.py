"""Find the first layer whose output differs between the board and the simulator.

The board runs the failing sample again, one more layer each time
(RUN_LAYERS), and its arena slot for that layer's output is read back
(READ_ARENA) and compared with the simulator's capture of the same tensor.
"""

from __future__ import annotations

import logging

import numpy as np

from ..codegen.cmdstream import debug_line, debug_table
from ..plan import Plan
from ..sim.executor import run_plan
from .results import SampleMismatch

log = logging.getLogger(__name__)


def sample_bytes(sample: list[np.ndarray]) -> bytes:
    """One sample's integer inputs back to back in plan order: the firmware's input buffer."""
    return b"".join(np.ascontiguousarray(a).tobytes() for a in sample)


def localize_mismatch(
    client, plan: Plan, sim_plan: Plan, sample: list[np.ndarray] | np.ndarray, mismatch: SampleMismatch
) -> None:
    """Fill ``mismatch.first_layer`` (or ``detail`` when the board cannot tell).

    ``plan`` is what the board runs (its arena layout); ``sim_plan`` what the host simulated;
    ``sample`` one integer sample per plan input.
    """
    sample = list(sample) if isinstance(sample, (list, tuple)) else [sample]
    capture = run_plan(sim_plan, [a[None] for a in sample], capture=True).intermediates or {}
    try:
        client.load_input(sample_bytes(sample))
        for k, layer in enumerate(plan.layers):
            tensor = plan.tensors[layer.output]
            client.run_layers(k + 1)
            got = client.read_arena(tensor.offset, tensor.nbytes)
            want = np.ascontiguousarray(capture[tensor.name][0]).tobytes()
            if got != want:
                mismatch.first_layer = layer.name
                # where that layer ran: ONNX node -> layer -> engine -> register block (the debug table)
                mismatch.detail = f"({debug_line(debug_table(plan)[k])})"
                return
        mismatch.detail = "(every layer output matched when rerun: the difference did not reproduce)"
    except Exception as exc:  # localization is best effort; the mismatch itself stands
        log.warning("could not localize the mismatch of sample %d: %s", mismatch.sample, exc)
        mismatch.detail = f"(layer localization failed: {exc})"
