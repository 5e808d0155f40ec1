"""The pytest plugin (entry point `fixpoint`): an inner pytest session with
--fixpoint-board host and --fixpoint-board mps2-an386 runs a user's on-target
tests through the `board` fixture; results and board properties land in
pytest's JUnit XML, a failing on-target assertion is a failed testcase, and
no board process outlives the inner session."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import psutil
import pytest
from lab_harness import EXAMPLES, scaled

INNER = """
import numpy as np
from fixpoint.plan import load_plan

PLAN = load_plan(r"{plan}")
X = np.load(r"{data}")["input"][:{n}]


def test_board_matches_the_simulation(board):
    check = board.flash(PLAN).compare(X)
    assert check.bit_exact, check.first_mismatch
    assert len(check.counts) == {n} and min(check.counts) > 0


def test_a_failing_expectation_fails(board):
    check = board.flash(PLAN).compare(X[:1])
    assert check.counts[0] < 0, "counter per inference is positive"


def test_whole_hil_check(board):
    result = board.hil(PLAN, X)
    assert result.passed and result.bit_exact == {n}
"""


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_board_fixture_over_host_and_qemu_boards(pytester: pytest.Pytester, mlp_host_plan) -> None:
    pytester.makepyfile(
        test_on_target=INNER.format(plan=mlp_host_plan.plan_path, data=EXAMPLES / "mlp" / "eval.npz", n=5)
    )
    before = _children()
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "--fixpoint-board",
        "host",
        "--fixpoint-board",
        "mps2-an386",
        f"--junitxml={junit}",
        "-p",
        "no:cacheprovider",
        timeout=scaled(900.0),
    )
    result.assert_outcomes(passed=4, failed=2)
    assert _children() <= before
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {
        f"{t}[{b}]"
        for b in ("host", "mps2-an386")
        for t in ("test_board_matches_the_simulation", "test_a_failing_expectation_fails", "test_whole_hil_check")
    }
    for board_name in ("host", "mps2-an386"):
        case = cases[f"test_board_matches_the_simulation[{board_name}]"]
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert props["fixpoint_board"] == board_name
        assert props["fixpoint_model_hash"] == mlp_host_plan.plan.model_hash
        assert props["fixpoint_samples"] == "5" and props["fixpoint_bit_exact"] == "5"
        assert len(props["fixpoint_build_id"]) >= 8
        assert case.find("failure") is None
        failed = cases[f"test_a_failing_expectation_fails[{board_name}]"]
        assert "counter per inference is positive" in failed.find("failure").get("message")
