"""pytest plugin: on-target tests against Fixpoint boards (like twister's
``dut`` or labgrid's ``target``). Registered as the ``pytest11`` entry point
``fixpoint``, so it is active wherever fixpoint is installed.

    pytest --fixpoint-board host --fixpoint-board mps2-an386 --junitxml=report.xml

    def test_my_model(board):
        dut = board.flash(load_plan("out/plan/plan.json"))     # build, launch; reaped after the test
        check = dut.compare(x)                                 # float samples -> board vs simulation
        assert check.bit_exact, check.first_mismatch

Every test that uses the ``board`` fixture runs once per ``--fixpoint-board``
(default: ``host``). The board file's connection can be overridden with
``--fixpoint-device URL`` (a running board, a lab port). What a test did on
the board -- board name, model hash, firmware build id, samples, bit-exact
count, counter per inference -- is recorded as JUnit ``<properties>`` of its
testcase (``--junitxml``).
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .boards import Board, load_board
from .boards.ports import Connection
from .plan import DTYPES, Plan

__all__ = ["BoardUnderTest", "Comparison", "RunningBoard"]

DEFAULT_BOARD = "host"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fixpoint", "Fixpoint boards (the `board` fixture)")
    group.addoption(
        "--fixpoint-board",
        action="append",
        default=[],
        metavar="NAME",
        help=f"board name or board.toml path; repeat for several (default {DEFAULT_BOARD})",
    )
    group.addoption(
        "--fixpoint-device",
        default=None,
        metavar="URL",
        help="reach the board at this serial device or pyserial URL instead of launching it",
    )
    group.addoption(
        "--fixpoint-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="link timeout per transaction (default: board file)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "board" in metafunc.fixturenames and _uses_our_fixture(metafunc):
        names = metafunc.config.getoption("fixpoint_board") or [DEFAULT_BOARD]
        metafunc.parametrize(
            "board", names, indirect=True, ids=[Path(n).stem if n.endswith(".toml") else n for n in names]
        )


def _uses_our_fixture(metafunc: pytest.Metafunc) -> bool:
    """Leave alone tests whose ``board`` is their own parameter or another conftest's fixture."""
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", "")
        if "board" in ([n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)):
            return False
    defs = getattr(metafunc, "_arg2fixturedefs", {}).get("board")
    return bool(defs) and defs[-1].func.__module__ == __name__


@dataclass
class Comparison:
    """Board outputs against the host simulation for a batch of samples."""

    board_outputs: list[np.ndarray]  # per plan output, [B, ...] in the plan's integer layout
    sim_outputs: list[np.ndarray]
    counts: list[int]  # counter per inference (instructions, cycles or ns)
    mismatched: list[int] = field(default_factory=list)  # sample indices whose bytes differ

    @property
    def bit_exact(self) -> bool:
        return not self.mismatched

    @property
    def first_mismatch(self) -> str:
        return f"sample {self.mismatched[0]} differs from the simulation" if self.mismatched else "none"


class RunningBoard:
    """A board up with one plan's firmware: run samples, compare with the simulation."""

    def __init__(self, plan: Plan, session: Any, node: pytest.Item) -> None:
        self.plan = plan
        self.session = session
        self.client = session.client
        self._node = node
        _record(node, "fixpoint_board", session.board.name)
        _record(node, "fixpoint_model_hash", plan.model_hash)
        if session.info is not None:
            _record(node, "fixpoint_build_id", session.info.build_id)

    def infer(self, sample: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
        """One sample of integer inputs (plan order, no batch axis) -> its outputs, flat in
        the firmware's byte order (the simulator's per-sample layout), and the counter."""
        from .hil.localize import sample_bytes

        raw, run = self.client.infer(sample_bytes(sample))
        outputs, pos = [], 0
        for index in self.plan.outputs:
            tensor = self.plan.tensors[index]
            outputs.append(np.frombuffer(raw[pos : pos + tensor.nbytes], dtype=DTYPES[tensor.dtype]))
            pos += tensor.nbytes
        return outputs, run.count

    def compare(self, x: np.ndarray | list[np.ndarray]) -> Comparison:
        """Float samples (model layout, batch first; a list per plan input) on the board and in the simulator."""
        from .sim.executor import quantize_input, run_plan

        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        ints = [quantize_input(self.plan, a, k) for k, a in enumerate(xs)]
        sim = run_plan(self.plan, ints).outputs
        got = [np.zeros_like(s) for s in sim]
        result = Comparison(got, sim, [])
        for i in range(len(ints[0])):
            outputs, count = self.infer([a[i] for a in ints])
            for k, out in enumerate(outputs):
                got[k][i] = out.reshape(got[k][i].shape)
            result.counts.append(count)
            if any(not np.array_equal(g[i], s[i]) for g, s in zip(got, sim)):
                result.mismatched.append(i)
        n = len(ints[0])
        _record(self._node, "fixpoint_samples", n)
        _record(self._node, "fixpoint_bit_exact", n - len(result.mismatched))
        if result.counts:
            _record(self._node, "fixpoint_count_mean", float(np.mean(result.counts)))
        return result


class BoardUnderTest:
    """What the ``board`` fixture yields: one board, flashed on demand, reaped at teardown."""

    def __init__(
        self,
        name: str,
        node: pytest.Item,
        work_dir: Path,
        stack: ExitStack,
        connection: Connection,
        timeout: float | None,
    ) -> None:
        self.name = name
        self.board: Board = load_board(name)
        self._node = node
        self._work_dir = work_dir
        self._stack = stack
        self._connection = connection
        self._timeout = timeout

    def build(self, plan: Plan) -> Path:
        """Generate and build the plan's firmware for this board (objects are cached across tests)."""
        from .hil.firmware import build_model_firmware

        image, _ = build_model_firmware(plan, self.board, self._work_dir / plan.model_hash[:12])
        return image

    def flash(self, plan: Plan) -> RunningBoard:
        """Build, launch (or flash) and connect; the board is reaped when the test ends."""
        from .boards.runner import open_board

        image = self.build(plan)
        logs = self._work_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        session = self._stack.enter_context(
            open_board(
                self.board,
                image,
                expected_hash=plan.model_hash,
                timeout=self._timeout,
                log_dir=logs,
                connection=self._connection,
            )
        )
        return RunningBoard(plan, session, self._node)

    def hil(self, plan: Plan, x: Any, labels: Any = None, **options: Any):
        """The whole `fixpoint hil` check (fixpoint.hil.run_hil) on this board; returns the HilResult."""
        from .hil import HilJob, run_hil

        result = run_hil(
            HilJob(
                plan=plan,
                board=self.name,
                x=x,
                labels=labels,
                progress=False,
                work_dir=self._work_dir / "hil",
                connection=self._connection,
                **options,
            )
        )
        for key, value in (
            ("fixpoint_board", result.board),
            ("fixpoint_model_hash", result.model_hash),
            ("fixpoint_samples", result.n_samples),
            ("fixpoint_bit_exact", result.bit_exact),
        ):
            _record(self._node, key, value)
        return result


@pytest.fixture
def board(request: pytest.FixtureRequest, tmp_path: Path):
    """One Fixpoint board (``--fixpoint-board``, parametrized); see the module docstring."""
    config = request.config
    connection = Connection(device=config.getoption("fixpoint_device"))
    with ExitStack() as stack:
        yield BoardUnderTest(
            request.param, request.node, tmp_path / "fixpoint", stack, connection, config.getoption("fixpoint_timeout")
        )


def _record(node: pytest.Item, name: str, value: object) -> None:
    """A JUnit property of the test case; the last value of a name wins."""
    node.user_properties[:] = [(k, v) for k, v in node.user_properties if k != name]
    node.user_properties.append((name, value))
