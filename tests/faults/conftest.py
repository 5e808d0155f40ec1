"""Fixtures of the link-fault tests: the mlp example calibrated once, its
firmware built once per board, and its simulated outputs (the reference
every board output must equal bit for bit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest
from fault_harness import MLP

from fixpoint.boards import load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.hil.firmware import build_model_firmware
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import CalibrationJob, CalibrationOutputs, run_calibration
from fixpoint.plan import Plan

#: the test that runs FIXPOINT_FAULT_SAMPLES samples per board
LONG_RUN = "test_every_sample_is_bit_exact_or_reported"


@pytest.fixture(scope="session")
def mlp_plan_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Plan]:
    """mlp_plan_for(board) -> the mlp plan for that board's requantization profile."""
    cache: dict[str, CalibrationOutputs] = {}
    root = tmp_path_factory.mktemp("mlp-plans")

    def get(board_name: str) -> Plan:
        board = load_board(board_name)
        profile = board.requant_profile()
        key = repr(asdict(profile))
        if key not in cache:
            job = CalibrationJob(
                model_path=MLP / "model.onnx",
                data_path=MLP / "calib.npz",
                profile=profile,
                calibration=CalibrationConfig(progress=False),
                lowering=LowerOptions(engines=list(board.accelerator.engines) or None),
                board_name=board.name,
            )
            cache[key] = run_calibration(job, root / f"plan-{len(cache)}")
        return cache[key].plan

    return get


@pytest.fixture(scope="session")
def mlp_firmware_for(
    tmp_path_factory: pytest.TempPathFactory, mlp_plan_for: Callable[[str], Plan]
) -> Callable[[str], Path]:
    """mlp_firmware_for(board) -> the firmware image of the mlp plan, built once."""
    built: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("mlp-firmware")

    def get(board_name: str) -> Path:
        if board_name not in built:
            built[board_name], _ = build_model_firmware(mlp_plan_for(board_name), board_name, root / board_name)
        return built[board_name]

    return get


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put a short test after each long link-fault run (within this folder's
    share of the item list): xdist's load scheduling hands out consecutive
    tests in pairs, and two long runs in one pair would run one after the
    other on one worker while the other worker idles."""
    here = Path(__file__).parent
    slots = [i for i, item in enumerate(items) if item.path.parent == here]
    mine = [items[i] for i in slots]
    long_runs = [item for item in mine if getattr(item, "originalname", "") == LONG_RUN]
    short = [item for item in mine if item not in long_runs]
    order: list[pytest.Item] = []
    for k, item in enumerate(long_runs):
        order += [item, *short[k : k + 1]]
    order += short[len(long_runs) :]
    for slot, item in zip(slots, order):
        items[slot] = item
