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
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..boards import load_board
from ..plan import Plan
from ..serial import BoardCrashed, BoardError
from ..sim.executor import quantize_input, run_plan
from .firmware import build_model_firmware
from .localize import localize_mismatch
from .results import HilResult, SampleFailure, SampleMismatch

log = logging.getLogger(__name__)

_MAX_FAILURES_IN_A_ROW = 5   # then the link is taken as down and the rest reported as not run


@dataclass
class HilJob:
    plan: Plan
    board: str
    x: np.ndarray                         # float samples, model input layout, batch first
    labels: np.ndarray | None = None
    model_path: Path | None = None        # float ONNX model, for accuracy against float
    work_dir: Path = Path("build/hil")
    max_drop_pp: float = 1.0
    timeout: float | None = None          # link timeout per transaction (default: board file)
    run_timeout: float | None = None      # longest one inference may take (default: board file)
    retries: int | None = None
    localize: bool = True
    # The plan the host simulates, when it is not ``plan`` itself: only for testing
    # the mismatch report (a real board cannot be made to compute wrongly on demand).
    sim_plan: Plan | None = None
    progress: bool = True


def run_hil(job: HilJob) -> HilResult:
    board = load_board(job.board)
    plan = job.plan
    ints = quantize_input(plan, job.x)
    expected = run_plan(job.sim_plan or plan, [ints]).outputs[0]
    image, size = build_model_firmware(plan, board, job.work_dir)
    result = HilResult(board=board.name, model_name=plan.model_name, model_hash=plan.model_hash,
                       n_samples=len(ints), bit_exact=0, max_drop_pp=job.max_drop_pp, firmware=str(image),
                       flash_bytes=size.flash if size else 0, ram_bytes=size.ram if size else 0,
                       arena_bytes=plan.arena_size)
    board_out = _run_on_board(job, board, image, ints, expected, result)
    _accuracy(job, board_out, result)
    return result


def _run_on_board(job: HilJob, board, image: Path, ints: np.ndarray, expected: np.ndarray,
                  result: HilResult) -> np.ndarray:
    from ..boards.runner import open_board

    board_out = np.zeros_like(expected)
    counts: list[int] = []
    (job.work_dir / "logs").mkdir(parents=True, exist_ok=True)
    with open_board(board, image, expected_hash=job.plan.model_hash, timeout=job.timeout,
                    run_timeout=job.run_timeout, retries=job.retries,
                    log_dir=job.work_dir / "logs") as session:
        client = session.client
        bar = _progress(len(ints), job.progress, board.name)
        start = time.perf_counter()
        in_a_row = 0
        for i, sample in enumerate(ints):
            outcome = _run_sample(client, i, sample, expected, board_out, counts, result)
            in_a_row = in_a_row + 1 if outcome != "done" else 0
            if outcome == "crashed" or in_a_row >= _MAX_FAILURES_IN_A_ROW:
                _give_up(result, i + 1, len(ints))
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
                localize_mismatch(client, job.plan, job.sim_plan or job.plan, ints[mismatch.sample], mismatch)
    result.samples_per_second = len(ints) / max(result.wall_seconds, 1e-9)
    result.link_bytes_per_second = result.link_bytes / max(result.transfer_seconds, 1e-9)
    result.link_share = result.transfer_seconds / max(result.wall_seconds, 1e-9)
    if counts:
        result.count_mean = float(np.mean(counts))
        result.count_min, result.count_max = int(min(counts)), int(max(counts))
    return board_out


def _run_sample(client, index: int, sample: np.ndarray, expected: np.ndarray, board_out: np.ndarray,
                counts: list[int], result: HilResult) -> str:
    """One sample ends bit-exact, as a mismatch ("done"), or as a reported
    failure ("failed"; "crashed" when the board is gone)."""
    try:
        raw, run = client.infer(np.ascontiguousarray(sample).tobytes())
    except BoardError as exc:
        log.warning("sample %d on %s: %s", index, result.board, _first_line(exc))
        result.failures.append(SampleFailure(index, type(exc).__name__, _first_line(exc)))
        return "crashed" if isinstance(exc, BoardCrashed) else "failed"
    result.completed.append(index)
    board_out[index] = np.frombuffer(raw, dtype=expected.dtype).reshape(expected.shape[1:])
    counts.append(run.count)
    result.counter_unit = run.counter_unit.name.lower()
    result.link_bytes += sample.nbytes + len(raw)
    _compare(index, board_out[index], expected[index], result)
    return "done"


def _give_up(result: HilResult, first: int, total: int) -> None:
    """Every sample not run is accounted for: none is silently dropped."""
    reason = result.failures[-1].reason if result.failures else "board unusable"
    for index in range(first, total):
        result.failures.append(SampleFailure(index, "NotRun", f"not run: {reason}"))


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _compare(index: int, got: np.ndarray, want: np.ndarray, result: HilResult) -> None:
    diff = np.flatnonzero(got.reshape(-1) != want.reshape(-1))
    if diff.size == 0:
        result.bit_exact += 1
        return
    first = int(diff[0])
    result.mismatches.append(SampleMismatch(sample=index, differing_bytes=int(diff.size), first_index=first,
                                            board_value=int(got.reshape(-1)[first]),
                                            sim_value=int(want.reshape(-1)[first])))


def _accuracy(job: HilJob, board_out: np.ndarray, result: HilResult) -> None:
    """Accuracy over the samples the board completed (failed ones have no output)."""
    done = np.asarray(result.completed, dtype=np.int64)
    if done.size == 0:
        return
    board_pred = np.argmax(board_out.reshape(len(board_out), -1), axis=1)[done]
    float_pred = _float_predictions(job)[done] if job.model_path else None
    if job.labels is not None:
        labels = np.asarray(job.labels).reshape(-1)[done]
        result.board_top1 = float(np.mean(board_pred == labels))
        if float_pred is not None:
            result.float_top1 = float(np.mean(float_pred == labels))
            result.drop_pp = (result.float_top1 - result.board_top1) * 100.0
    if float_pred is not None:
        result.agreement = float(np.mean(board_pred == float_pred))


def _float_predictions(job: HilJob) -> np.ndarray:
    import onnxruntime as ort

    from ..frontend.ort_options import quiet_session_options  # onnxruntime's log lines stay off stderr

    options = quiet_session_options()
    session = ort.InferenceSession(str(job.model_path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    preds = []
    for start in range(0, len(job.x), 256):
        out = session.run(None, {name: np.asarray(job.x[start:start + 256], dtype=np.float32)})[0]
        preds.append(np.argmax(out.reshape(len(out), -1), axis=1))
    return np.concatenate(preds)


def _progress(total: int, enabled: bool, board: str):
    if not enabled or not sys.stderr.isatty():   # no bar in logs and CI output
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=f"HIL {board}", unit="sample", leave=False)
