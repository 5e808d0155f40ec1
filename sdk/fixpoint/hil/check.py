"""The HIL check: every board output byte must equal the host simulation.

Flow: simulate the samples on the host (reference runtime) -> generate C and
build the firmware for the board -> bring the board up -> per sample load the
input, run, read the output -> compare bytes -> accuracy against labels and
against the float model. A mismatching sample is then localized: the board
runs the same input layer by layer and the first layer whose output bytes
differ from the simulator's capture is named.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..boards import load_board
from ..boards.ports import Connection
from ..plan import Plan
from ..serial import BoardCrashed, BoardError
from ..serial.staged import StagedInference
from ..sim.executor import dequantize, quantize_input, run_plan
from .accuracy import output_accuracy
from .firmware import build_model_firmware
from .localize import localize_mismatch, sample_bytes
from .results import HilResult, OutputCheck, SampleFailure, SampleMismatch

log = logging.getLogger(__name__)

_MAX_FAILURES_IN_A_ROW = 5  # then the link is taken as down and the rest reported as not run


@dataclass
class HilJob:
    plan: Plan
    board: str
    x: np.ndarray | list[np.ndarray]  # float samples, model input layout, batch first (a list: per plan input)
    labels: np.ndarray | dict[str, np.ndarray] | None = None  # the first output's, or by output name
    model_path: Path | None = None  # float ONNX model, for accuracy against float
    work_dir: Path = Path("build/hil")
    max_drop_pp: float = 1.0
    timeout: float | None = None  # link timeout per transaction (default: board file)
    run_timeout: float | None = None  # longest one inference may take (default: board file)
    retries: int | None = None
    localize: bool = True
    # The plan the host simulates, when it is not ``plan`` itself: only for testing
    # the mismatch report (a real board cannot be made to compute wrongly on demand).
    sim_plan: Plan | None = None
    progress: bool = True
    connection: Connection | None = None  # --device / --serial-number / --vid-pid / --baud overrides
    double_buffer: bool = True  # stage the next sample during the current one, where the firmware can
    # Observers for a supervisor (the farm): the stage about to start ("simulate", "generate",
    # "build", "launch", "hil") and each finished sample (index, "done" / "failed" / "crashed").
    on_stage: Callable[[str], None] | None = None
    on_sample: Callable[[int, str], None] | None = None
    # Streaming (recurrent models): every sample's sequence runs frame by frame (STEP), each step's
    # outputs and the state bytes compared with the simulator (fixpoint.hil.streaming).
    streaming: bool = False
    # Test only: samples whose STATE_RESET the host leaves out (the stream index still follows the
    # board), so the board starts them from the previous sample's state -- proves the state check.
    skip_state_reset: frozenset[int] = frozenset()

    def stage(self, name: str) -> None:
        if self.on_stage is not None:
            self.on_stage(name)


def run_hil(job: HilJob) -> HilResult:
    board = load_board(job.board)
    plan = job.plan
    x = list(job.x) if isinstance(job.x, (list, tuple)) else [job.x]
    job.stage("simulate")
    ints = [quantize_input(plan, a, k) for k, a in enumerate(x)]
    if job.streaming:
        from .streaming import simulate_streams

        traces = simulate_streams(job.sim_plan or plan, ints)
        expected = [np.stack([t.outputs[-1][k][0] for t in traces]) for k in range(len(plan.outputs))]
    else:
        expected = run_plan(job.sim_plan or plan, ints).outputs
    image, size = build_model_firmware(plan, board, job.work_dir, on_stage=job.stage)
    names = [plan.tensors[i].name for i in plan.outputs]
    result = HilResult(
        board=board.name,
        model_name=plan.model_name,
        model_hash=plan.model_hash,
        n_samples=len(ints[0]),
        bit_exact=0,
        max_drop_pp=job.max_drop_pp,
        firmware=str(image),
        flash_bytes=size.flash if size else 0,
        ram_bytes=size.ram if size else 0,
        arena_bytes=plan.arena_size,
        outputs=[OutputCheck(name, int(e[0].nbytes)) for name, e in zip(names, expected)],
    )
    if job.streaming:
        from .streaming import run_streams_on_board

        board_out = run_streams_on_board(job, board, image, ints, traces, expected, result)
    else:
        board_out = _run_on_board(job, board, image, ints, expected, result)
    labels = job.labels if isinstance(job.labels, dict) or job.labels is None else {names[0]: job.labels}
    # top-1 compares with the float model's outputs: the board's, dequantized, in the same ONNX layout
    onnx_out = [dequantize(plan, i, b) for i, b in zip(plan.outputs, board_out)]
    output_accuracy(
        result, names, onnx_out, labels or {}, job.model_path, x, [plan.tensors[i].name for i in plan.inputs]
    )
    return result


def _run_on_board(
    job: HilJob, board, image: Path, ints: list[np.ndarray], expected: list[np.ndarray], result: HilResult
) -> list[np.ndarray]:
    from ..boards.runner import open_board

    board_out = [np.zeros_like(e) for e in expected]
    counts: list[int] = []
    n = len(ints[0])
    (job.work_dir / "logs").mkdir(parents=True, exist_ok=True)
    job.stage("launch")
    with open_board(
        board,
        image,
        expected_hash=job.plan.model_hash,
        timeout=job.timeout,
        run_timeout=job.run_timeout,
        retries=job.retries,
        log_dir=job.work_dir / "logs",
        connection=job.connection,
    ) as session:
        client = session.client
        job.stage("hil")
        staged = StagedInference(client) if job.double_buffer else None
        bar = _progress(n, job.progress, board.name)
        start = time.perf_counter()
        in_a_row = 0
        for i in range(n):
            following = sample_bytes([a[i + 1] for a in ints]) if i + 1 < n else None
            infer = (lambda data, nxt=following: staged.infer(data, nxt)) if staged else client.infer
            outcome = _run_sample(infer, i, [a[i] for a in ints], expected, board_out, counts, result)
            in_a_row = in_a_row + 1 if outcome != "done" else 0
            if job.on_sample is not None:
                job.on_sample(i, outcome)
            if outcome == "crashed" or in_a_row >= _MAX_FAILURES_IN_A_ROW:
                _give_up(result, i + 1, n)
                break
            if bar is not None:
                bar.update(1)
        result.wall_seconds = time.perf_counter() - start
        if bar is not None:
            bar.close()
        result.link = asdict(client.stats)
        result.transfer_seconds = client.stats.transfer_seconds
        if job.localize:
            for mismatch in result.mismatches[:3]:
                localize_mismatch(
                    client, job.plan, job.sim_plan or job.plan, [a[mismatch.sample] for a in ints], mismatch
                )
    result.samples_per_second = n / max(result.wall_seconds, 1e-9)
    result.link_bytes_per_second = result.link_bytes / max(result.transfer_seconds, 1e-9)
    result.link_share = result.transfer_seconds / max(result.wall_seconds, 1e-9)
    if counts:
        result.count_mean = float(np.mean(counts))
        result.count_min, result.count_max = int(min(counts)), int(max(counts))
    return board_out


def _run_sample(
    infer,
    index: int,
    sample: list[np.ndarray],
    expected: list[np.ndarray],
    board_out: list[np.ndarray],
    counts: list[int],
    result: HilResult,
) -> str:
    """One sample ends bit-exact, as a mismatch ("done"), or as a reported
    failure ("failed"; "crashed" when the board is gone).

    Several inputs travel back to back in plan order (the generated model's input buffer),
    several outputs come back the same way and are split by their sizes.
    """
    data = sample_bytes(sample)
    try:
        raw, run = infer(data)
    except BoardError as exc:
        log.warning("sample %d on %s: %s", index, result.board, _first_line(exc))
        result.failures.append(SampleFailure(index, type(exc).__name__, _first_line(exc)))
        return "crashed" if isinstance(exc, BoardCrashed) else "failed"
    result.completed.append(index)
    pos = 0
    for k, want in enumerate(expected):
        size = want[0].nbytes
        board_out[k][index] = np.frombuffer(raw[pos : pos + size], dtype=want.dtype).reshape(want.shape[1:])
        pos += size
    counts.append(run.count)
    result.counter_unit = run.counter_unit.name.lower()
    result.link_bytes += len(data) + len(raw)
    _compare(index, [b[index] for b in board_out], [e[index] for e in expected], result)
    return "done"


def _give_up(result: HilResult, first: int, total: int) -> None:
    """Every sample not run is accounted for: none is silently dropped."""
    reason = result.failures[-1].reason if result.failures else "board unusable"
    for index in range(first, total):
        result.failures.append(SampleFailure(index, "NotRun", f"not run: {reason}"))


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _compare(index: int, got: list[np.ndarray], want: list[np.ndarray], result: HilResult) -> None:
    """Every byte of every output; the mismatch names the first differing output and position."""
    mismatch = None
    for k, (g, w) in enumerate(zip(got, want)):
        diff = np.flatnonzero(g.reshape(-1) != w.reshape(-1))
        name = result.outputs[k].name if k < len(result.outputs) else f"output{k}"
        if diff.size == 0:
            if k < len(result.outputs):
                result.outputs[k].bit_exact += 1
            continue
        if mismatch is None:
            first = int(diff[0])
            mismatch = SampleMismatch(
                sample=index,
                differing_bytes=0,
                first_index=first,
                board_value=int(g.reshape(-1)[first]),
                sim_value=int(w.reshape(-1)[first]),
                output=name if len(got) > 1 else "",
            )
        mismatch.differing_bytes += int(diff.size)
        mismatch.differing_outputs.append(name)
    if mismatch is None:
        result.bit_exact += 1
    else:
        result.mismatches.append(mismatch)


def _progress(total: int, enabled: bool, board: str):
    if not enabled or not sys.stderr.isatty():  # no bar in logs and CI output
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=f"HIL {board}", unit="sample", leave=False)
