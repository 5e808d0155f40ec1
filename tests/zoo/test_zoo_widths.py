"""zoo/kw_transformer with mixed activation widths: its LayerNorms and attention MatMuls (layer_norm,
batch_matmul) at int16, every other layer int8, requantize layers between. Calibrated through the pipeline
with --activation-bits-override's option, simulated close to float and bit-exact against the numpy plan
interpreter, and every output byte compared with the simulation on the host and the emulated boards."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from fixpoint.boards import load_board
from fixpoint.calibrate import CalibrationConfig
from fixpoint.evaluate import evaluate
from fixpoint.hil import HilJob, run_hil
from fixpoint.iospec import plan_input_specs
from fixpoint.lower import LowerOptions
from fixpoint.pipeline import CalibrationJob, run_calibration
from fixpoint.sim.executor import quantize_input, run_plan

from zoo_helpers import ZOO, zoo_samples

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hil"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from hil_examples import selected_boards  # noqa: E402
from sim_numpy_interp import interpret  # noqa: E402

import check_zoo  # noqa: E402  (examples/zoo is on sys.path through zoo_helpers)

MODEL = "kw_transformer"
WIDTHS = {"*LayerNormalization": 16, "*attn/MatMul*": 16}
INT16_OPS = {"layer_norm", "batch_matmul"}
EVAL_SAMPLES = 48
HIL_SAMPLES = {"host": 4}
HIL_DEFAULT = 2


@pytest.fixture(scope="module")
def mixed_plan(zoo_files, tmp_path_factory):
    """mixed_plan(board) -> CalibrationOutputs, once per requantization profile."""
    root = tmp_path_factory.mktemp("zoo_widths")
    cache: dict[str, object] = {}

    def get(board_name: str):
        board = load_board(board_name)
        profile = board.requant_profile()
        key = repr(asdict(profile))
        if key not in cache:
            folder = zoo_files / MODEL
            job = CalibrationJob(
                model_path=folder / "model.onnx",
                data_path=folder / "calib.npz",
                profile=profile,
                calibration=CalibrationConfig(progress=False),
                lowering=LowerOptions(
                    activation_bits_overrides=dict(WIDTHS), engines=list(board.accelerator.engines) or None
                ),
                board_name=board.name,
            )
            cache[key] = run_calibration(job, root / f"{MODEL}-{len(cache)}")
        return cache[key]

    return get


def _eval(plan, n: int | None) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    part = slice(None) if n is None else slice(0, n)
    with np.load(ZOO / MODEL / "eval.npz") as data:
        x = [data[k][part] for k, _ in plan_input_specs(plan)]
        labels = {plan.tensors[plan.outputs[0]].name: data["label"][part]} if "label" in data.files else {}
    return x, labels


def test_layer_norm_and_batch_matmul_run_int16(mixed_plan) -> None:
    plan = mixed_plan("host").plan
    computing = [la for la in plan.layers if la.op != "requantize"]
    assert {la.op for la in computing if la.datapath == "s16"} == INT16_OPS
    assert all(la.datapath == "s16" for la in computing if la.op in INT16_OPS)
    requantize = [la for la in plan.layers if la.op == "requantize"]
    assert requantize and {la.datapath for la in requantize} == {"s8", "s16"}
    assert [plan.tensors[i].dtype for i in [*plan.inputs, *plan.outputs]] == ["int8", "int8"]
    options = plan.meta["lowering"]["options"]
    assert options["activation_bits_overrides"] == WIDTHS
    assert plan.meta["tensor_precision"]["widths_from"].startswith("activation_bits_overrides")


def test_mixed_plan_simulates_close_to_float(mixed_plan) -> None:
    out = mixed_plan("host")
    x, labels = _eval(out.plan, zoo_samples(EVAL_SAMPLES))
    result = evaluate(out.graph.source_path, out.graph, out.plan, x, labels or None, per_layer=False, progress=False)
    assert result.outputs[0].agreement >= check_zoo.MIN_AGREEMENT, result.summary()
    xs = [quantize_input(out.plan, v[:4], i) for i, v in enumerate(x)]
    want, _ = interpret(out.plan, xs)
    assert np.array_equal(run_plan(out.plan, xs).outputs[0], want[0])


@pytest.mark.parametrize("board", selected_boards())
def test_mixed_plan_every_output_byte_on_board(board, mixed_plan, tmp_path) -> None:
    out = mixed_plan(board)
    x, labels = _eval(out.plan, zoo_samples(HIL_SAMPLES.get(board, HIL_DEFAULT)))
    result = run_hil(
        HilJob(
            plan=out.plan,
            board=board,
            x=x,
            labels=labels,
            model_path=out.graph.source_path,
            work_dir=tmp_path,
            max_drop_pp=100.0,
            progress=False,
        )
    )
    assert not result.mismatches and not result.failures, result.summary()
    assert result.bit_exact == len(x[0])


def _lstm_kws_job(zoo_files, widths: dict[str, int]) -> CalibrationJob:
    folder = zoo_files / "lstm_kws"
    return CalibrationJob(
        model_path=folder / "model.onnx",
        data_path=folder / "calib.npz",
        profile=load_board("host").requant_profile(),
        calibration=CalibrationConfig(progress=False),
        lowering=LowerOptions(activation_bits_overrides=widths),
        board_name="host",
    )


def test_streaming_a_mixed_plan_every_step_and_state(zoo_files, tmp_path) -> None:
    """lstm_kws with its classifier at int16: the int8 lstm state streams, requantize runs per frame."""
    plan = run_calibration(_lstm_kws_job(zoo_files, {"classifier": 16}), tmp_path / "plan").plan
    assert [(la.op, la.datapath) for la in plan.layers] == [
        ("lstm", "s8"),
        ("requantize", "s8"),
        ("fully_connected", "s16"),
        ("requantize", "s16"),
    ]
    with np.load(ZOO / "lstm_kws" / "eval.npz") as data:
        x = [data[k][:2] for k, _ in plan_input_specs(plan)]
    result = run_hil(
        HilJob(
            plan=plan,
            board="host",
            x=x,
            work_dir=tmp_path / "hil",
            max_drop_pp=100.0,
            progress=False,
            localize=False,
            streaming=True,
        )
    )
    assert not result.mismatches and not result.failures, result.summary()
    assert result.bit_exact == 2


def test_lstm_at_int16_is_refused_with_one_line(zoo_files, tmp_path, capsys) -> None:
    from fixpoint.cli import main

    folder = zoo_files / "lstm_kws"
    argv = ["calibrate", str(folder / "model.onnx"), "--data", str(folder / "calib.npz"), "--board", "host"]
    argv += ["-o", str(tmp_path / "out"), "--activation-bits-override", "lstm=16"]
    assert main(argv) == 2
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith(("INFO", "WARNING"))]
    assert err == [
        "error: layer 'lstm' (lstm): activation bits override 16 needs an s16 kernel, the runtime has none for lstm"
    ]
