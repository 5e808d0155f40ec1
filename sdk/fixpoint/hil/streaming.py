"""The streaming HIL check (``fixpoint hil --streaming``): each sample's sequence frame by frame.

Per sample the host sends STATE_RESET, then one STEP per frame (docs/serial-protocol.md,
"Streaming"); after every step the board's outputs AND its recurrent state bytes must equal the
simulator's (:mod:`fixpoint.sim.streaming`, the same step plan the firmware was generated from).
The first divergence ends the sample and is reported with the sample, the step and whether the
outputs, the state or both diverged. The last step's outputs are the sample's outputs (accuracy).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..plan import Plan
from ..serial import BoardCrashed, BoardError
from ..serial.stream import read_state, state_reset, step
from ..sim.streaming import StreamTrace, run_stream
from ..streaming import split_frames, state_size, step_plan
from .results import HilResult, SampleFailure, SampleMismatch

log = logging.getLogger(__name__)
__all__ = ["run_streams_on_board", "simulate_streams"]
_MAX_FAILURES_IN_A_ROW = 5


def simulate_streams(plan: Plan, ints: list[np.ndarray]) -> list[StreamTrace]:
    """Every sample streamed frame by frame on the simulator: outputs and state after each step."""
    return run_stream(plan, ints)


def _step_frames(plan: Plan, ints: list[np.ndarray], i: int) -> list[bytes]:
    parts = [split_frames(plan, a[i : i + 1], k) for k, a in enumerate(ints)]
    return [b"".join(p.tobytes() for p in frame) for frame in zip(*parts)]


def _first_diff(got: bytes, want: bytes) -> tuple[int, int]:
    """(differing bytes, first differing index) of two equally long byte strings."""
    diff = np.flatnonzero(np.frombuffer(got, np.uint8) != np.frombuffer(want, np.uint8))
    return int(diff.size), int(diff[0]) if diff.size else -1


def _mismatch(
    i: int, s: int, got_out: bytes, want_out: bytes, got_state: bytes, want_state: bytes, names: list[str]
) -> SampleMismatch | None:
    n_out, first_out = _first_diff(got_out, want_out)
    n_state, first_state = _first_diff(got_state, want_state)
    if not n_out and not n_state:
        return None
    diverged = "outputs+state" if n_out and n_state else "outputs" if n_out else "state"
    where, first, got, want = (
        ("state", first_state, got_state, want_state)
        if not n_out
        else (names[0] if len(names) == 1 else "outputs", first_out, got_out, want_out)
    )
    # bytes shown as int8: the outputs and h are int8 (the lstm's int16 cell shows byte-wise)
    board_value, sim_value = (int(np.uint8(v[first]).view(np.int8)) for v in (got, want))
    return SampleMismatch(
        sample=i,
        differing_bytes=n_out + n_state,
        first_index=first,
        board_value=board_value,
        sim_value=sim_value,
        output=where,
        step=s,
        diverged=diverged,
    )


def _run_sample(
    client,
    job,
    i: int,
    frames: list[bytes],
    trace: StreamTrace,
    out_size: int,
    size: int,
    stream_index: int,
    names: list[str],
) -> tuple[bytes, SampleMismatch | None, int]:
    """One sample's stream; returns the last step's output bytes, the first divergence, the board's
    stream index after it."""
    if i not in job.skip_state_reset:
        state_reset(client)
        stream_index = 0
    last = b""
    for s, data in enumerate(frames):
        res = step(client, stream_index, data, out_size, size)
        stream_index += 1
        state = res.state if res.state is not None else read_state(client, size)
        last = res.output
        want_out = b"".join(o.tobytes() for o in trace.outputs[s])
        mismatch = _mismatch(i, s, res.output, want_out, state, trace.states[s], names)
        if mismatch is not None:
            log.warning("sample %d on %s: step %d: %s diverged", i, job.board, s, mismatch.diverged)
            return last, mismatch, stream_index
    return last, None, stream_index


def _store(board_out: list[np.ndarray], i: int, raw: bytes) -> None:
    pos = 0
    for out in board_out:
        size = out[0].nbytes
        out[i] = np.frombuffer(raw[pos : pos + size], dtype=out.dtype).reshape(out.shape[1:])
        pos += size


def run_streams_on_board(
    job,
    board,
    image: Path,
    ints: list[np.ndarray],
    traces: list[StreamTrace],
    expected: list[np.ndarray],
    result: HilResult,
) -> list[np.ndarray]:
    from ..boards.runner import open_board
    from .check import _first_line, _give_up

    plan = job.plan
    stepper = step_plan(plan)
    out_size = sum(stepper.tensors[t].nbytes for t in stepper.outputs)
    size = state_size(stepper)
    names = [plan.tensors[t].name for t in plan.outputs]
    board_out = [np.zeros_like(e) for e in expected]
    n = len(ints[0])
    (job.work_dir / "logs").mkdir(parents=True, exist_ok=True)
    job.stage("launch")
    with open_board(
        board,
        image,
        expected_hash=plan.model_hash,
        timeout=job.timeout,
        run_timeout=job.run_timeout,
        retries=job.retries,
        log_dir=job.work_dir / "logs",
        connection=job.connection,
    ) as session:
        client = session.client
        job.stage("hil")
        start, in_a_row, stream_index = time.perf_counter(), 0, 0
        for i in range(n):
            frames = _step_frames(plan, ints, i)
            try:
                raw, mismatch, stream_index = _run_sample(
                    client, job, i, frames, traces[i], out_size, size, stream_index, names
                )
            except BoardError as exc:
                log.warning("sample %d on %s: %s", i, result.board, _first_line(exc))
                result.failures.append(SampleFailure(i, type(exc).__name__, _first_line(exc)))
                in_a_row += 1
                if isinstance(exc, BoardCrashed) or in_a_row >= _MAX_FAILURES_IN_A_ROW:
                    _give_up(result, i + 1, n)
                    break
                continue
            in_a_row = 0
            result.completed.append(i)
            result.link_bytes += sum(len(f) for f in frames) + len(frames) * (out_size + size)
            _store(board_out, i, raw)
            if mismatch is None:
                result.bit_exact += 1
                for o in result.outputs:
                    o.bit_exact += 1
            else:
                result.mismatches.append(mismatch)
            if job.on_sample is not None:
                job.on_sample(i, "done")
        result.wall_seconds = time.perf_counter() - start
        result.link = asdict(client.stats)
        # every STEP carries its frame, output and state: the whole run is link time (compute included)
        result.transfer_seconds = result.wall_seconds
    result.samples_per_second = n / max(result.wall_seconds, 1e-9)
    result.link_bytes_per_second = result.link_bytes / max(result.transfer_seconds, 1e-9)
    result.link_share = result.transfer_seconds / max(result.wall_seconds, 1e-9)
    return board_out
