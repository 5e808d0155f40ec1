"""Shared helpers of the link-fault tests: the mlp example as a workload, the
per-sample bookkeeping (every sample ends bit-exact or as a reported error),
and the summary table."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path

import numpy as np
import pytest
from fixpoint.boards.runner import BoardSession
from fixpoint.plan import Plan
from fixpoint.serial import BoardError, FixpointClient
from fixpoint.serial.protocol import READY_PREFIX
from fixpoint.serial.staged import StagedInference
from fixpoint.sim.executor import quantize_input, run_plan
from link_proxy import DOWN, FRAME_FAULTS, RESET, UP, FaultConfig, FaultStats, LinkProxy

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "examples" / "models" / "mlp"
#: link types under test: the host board's pty and a QEMU board's UART socket
DEFAULT_BOARDS = "host,mps2-an385"
#: samples over all boards of a plain run; `make test-faults` asks for 10,000
DEFAULT_SAMPLES = 600
EXACT, WRONG = "bit-exact", "WRONG"


def fault_boards() -> list[str]:
    """FIXPOINT_FAULT_BOARDS (comma separated), else the host and one QEMU board."""
    wanted = os.environ.get("FIXPOINT_FAULT_BOARDS", DEFAULT_BOARDS)
    return [name.strip() for name in wanted.split(",") if name.strip()]


def samples_for(board: str) -> int:
    """This board's share of FIXPOINT_FAULT_SAMPLES (the total over all fault boards)."""
    boards = fault_boards()
    total = int(os.environ.get("FIXPOINT_FAULT_SAMPLES", DEFAULT_SAMPLES))
    share, extra = divmod(total, len(boards))
    return share + (1 if boards.index(board) < extra else 0)


def workload(quantized_eval: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` quantized inputs: the eval set, then perturbed copies of it, so
    that neighbouring samples differ and a stale result cannot pass as fresh."""
    rng = np.random.default_rng(seed)
    picks = quantized_eval[np.arange(n) % len(quantized_eval)].astype(np.int32)
    repeat = np.arange(n) >= len(quantized_eval)
    picks[repeat] += rng.integers(-12, 13, size=picks[repeat].shape, dtype=np.int32)
    info = np.iinfo(quantized_eval.dtype)
    return np.clip(picks, info.min, info.max).astype(quantized_eval.dtype)


def mlp_cases(plan: Plan, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` quantized mlp inputs and the simulator's output for each."""
    with np.load(MLP / "eval.npz") as data:
        x = data["input"]
    inputs = workload(quantize_input(plan, x), n, seed)
    return inputs, run_plan(plan, [inputs]).outputs[0]


def assert_reaped(pid: int | None) -> None:
    """The process is gone and waited for (no zombie left either)."""
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@contextmanager
def client_through_proxy(
    session: BoardSession, config: FaultConfig, *, timeout: float, run_timeout: float
) -> Iterator[tuple[LinkProxy, FixpointClient]]:
    """A new client on a fault-injecting proxy in front of the session's port,
    with the session's settings; faults start once it has identified the board."""
    board, own = session.board, session.client
    ready_line = READY_PREFIX + board.name.encode() + b"\n"
    with LinkProxy(
        own.port,
        config,
        max_payload=own.max_payload,
        ready_line=ready_line,
        reset=lambda: session.reset_board(wait_ready=False),
        ready_timeout=3 * board.serial.ready_timeout,
    ) as proxy:
        process = session.process
        client = FixpointClient(
            proxy.connect(),
            timeout=timeout,
            run_timeout=run_timeout,
            retries=own.retries,
            max_payload=own.max_payload,
            liveness=process.death if process else None,
            log_tail=process.log_tail if process else None,
        )
        client.identify(session.info.model_hash if session.info else None)
        proxy.arm()
        yield proxy, client


@dataclass(frozen=True)
class SampleOutcome:
    index: int
    board: str
    kind: str  # EXACT, WRONG, or the BoardError subclass that was raised
    detail: str = ""


@dataclass
class FaultRun:
    board: str
    outcomes: list[SampleOutcome] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind)

    def errors(self) -> Counter[str]:
        return Counter(o.kind for o in self.outcomes if o.kind not in (EXACT, WRONG))

    def problems(self, n: int) -> list[str]:
        """What would make the run wrong: silently wrong, lost or duplicated samples."""
        seen = Counter(o.index for o in self.outcomes)
        out = [f"{o.board} sample {o.index}: {o.detail}" for o in self.outcomes if o.kind == WRONG]
        out += [f"{self.board} sample {i}: no outcome recorded" for i in range(n) if seen[i] == 0]
        out += [f"{self.board} sample {i}: {k} outcomes" for i, k in sorted(seen.items()) if k > 1]
        out += [f"{self.board}: outcome for unknown sample {i}" for i in seen if not 0 <= i < n]
        return out


def run_samples(
    client: FixpointClient, inputs: np.ndarray, expected: np.ndarray, board: str, *, staged: bool = False
) -> FaultRun:
    """Infer every sample once; record bit-exact, wrong, or the BoardError raised.
    With ``staged``: double-buffered (StagedInference), the next sample staged meanwhile."""
    run = FaultRun(board)
    by_output = _index_outputs(expected)
    double = StagedInference(client) if staged else None
    data = [np.ascontiguousarray(sample).tobytes() for sample in inputs]
    for i, sample in enumerate(inputs):
        try:
            if double is not None:
                output, _ = double.infer(data[i], data[i + 1] if i + 1 < len(data) else None)
            else:
                output, _ = client.infer(data[i])
        except BoardError as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            run.outcomes.append(SampleOutcome(i, board, type(exc).__name__, first_line))
        else:
            run.outcomes.append(_judge(i, board, output, expected, by_output))
    return run


def _index_outputs(expected: np.ndarray) -> dict[bytes, list[int]]:
    index: dict[bytes, list[int]] = defaultdict(list)
    for i, out in enumerate(expected):
        index[np.ascontiguousarray(out).tobytes()].append(i)
    return index


def _judge(i: int, board: str, output: bytes, expected: np.ndarray, by_output: dict[bytes, list[int]]) -> SampleOutcome:
    want = np.ascontiguousarray(expected[i]).tobytes()
    if output == want:
        return SampleOutcome(i, board, EXACT)
    if len(output) != len(want):
        return SampleOutcome(i, board, WRONG, f"{len(output)} output bytes, expected {len(want)}")
    got = np.frombuffer(output, dtype=expected.dtype)
    diff = np.flatnonzero(got != expected[i].reshape(-1))
    others = [j for j in by_output.get(output, []) if j != i]
    origin = f"; equals the output of sample {others[0]} (stale or duplicated)" if others else ""
    return SampleOutcome(
        i, board, WRONG, f"{diff.size} output values differ, first at index {diff[:8].tolist()}{origin}"
    )


def client_counters(client: FixpointClient) -> dict[str, float]:
    """The client's recovery counters (``client.stats``), or what an older client has."""
    stats = getattr(client, "stats", None)
    if stats is not None and is_dataclass(stats):
        return {k: v for k, v in asdict(stats).items() if isinstance(v, (int, float))}
    return {"requests": getattr(client, "attempts", 0)}


def summary(run: FaultRun, faults: FaultStats, counters: dict[str, float], n: int, seed: int) -> str:
    """Per board: samples, outcomes, injected faults, what the client did."""
    exact = run.count(EXACT)
    errors = ", ".join(f"{k} {v}" for k, v in sorted(run.errors().items())) or "none"
    lines = [
        f"link faults on {run.board} (seed {seed})",
        f"  {'samples':<22}{n}",
        f"  {'bit-exact':<22}{exact} ({100.0 * exact / max(n, 1):.1f}%)",
        f"  {'silently wrong':<22}{run.count(WRONG)}",
        f"  {'reported failures':<22}{errors}",
        f"  {'frames relayed':<22}up {faults.frames[UP]}, down {faults.frames[DOWN]}",
        f"  {'injected faults':<22}{'kind':<12}{'up':>6}{'down':>6}",
    ]
    for kind in (*FRAME_FAULTS, RESET):
        lines.append(f"  {'':<22}{kind:<12}{faults.count(kind, UP):>6}{faults.count(kind, DOWN):>6}")
    if faults.resets_before:
        where = ", ".join(f"before {k} {v}" for k, v in sorted(faults.resets_before.items()))
        lines.append(f"  {'resets':<22}{where}")
    lines.append(f"  {'client':<22}" + ", ".join(f"{k} {v:g}" for k, v in counters.items()))
    for outcome in [o for o in run.outcomes if o.kind != EXACT][:10]:
        lines.append(f"  sample {outcome.index}: {outcome.kind}: {outcome.detail}")
    return "\n".join(lines)
