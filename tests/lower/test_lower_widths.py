"""Per-layer activation widths (LowerOptions.activation_bits_overrides): a plan whose layers run int8 and
int16 side by side, with requantize layers at every boundary, bit-exact in the simulator against the numpy
plan interpreter and through generated C on the host and emulated boards; the calibrator applying its
measured int8 / int16 choice; bad overrides rejected with one error line."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import jsonschema
import numpy as np
import onnxruntime as ort
import pytest
from fixpoint_cli import assert_one_error_line, run_fixpoint

from fixpoint.boards import list_boards, load_board
from fixpoint.calibrate import CalibrationConfig, tensor_bits
from fixpoint.calibrate.tensor_bits import choose_tensor_bits, precision_lines, quant16_of
from fixpoint.hil import HilJob, run_hil
from fixpoint.ir import ModelError
from fixpoint.lower import LowerOptions, lower, lower_with_widths
from fixpoint.pipeline import CalibrationJob, load_stats, run_calibration
from fixpoint.plan import load_plan, save_plan
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from attention_models import model_folder  # noqa: E402
from sim_numpy_interp import interpret  # noqa: E402

# q_matmul reads the int8 graph input at int16; its int16 output feeds qk directly, k is requantized up;
# qk's int16 scores go down to the int8 scale layer; ln reads the int8 residual at int16 and its int16
# output is the graph output (requantized back to int8)
WIDTHS = {"q_matmul": 16, "qk": 16, "ln": 16}
BOUNDARIES = {"x@int16", "k@int16", "scores@int8", "res@int16", "y"}


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    """(graph, 8-bit calibration result, quant16, eval samples, folder) of the attention block."""
    folder = model_folder(tmp_path_factory.mktemp("widths"), "attention_block", evals=8)
    job = CalibrationJob.for_board(folder / "model.onnx", folder / "calib.npz", "host")
    out = run_calibration(job, folder / "base")
    calib = load_stats(out.out_dir)
    with np.load(folder / "eval.npz") as f:
        x = f["x"]
    return out.graph, out.plan, calib, quant16_of(out.graph, calib, job.calibration), x, folder


@pytest.fixture(scope="module")
def mixed(block):
    graph, base, calib, quant16, _, _ = block
    return lower_with_widths(graph, calib.quant, quant16, base.profile, None, WIDTHS)


def test_layers_run_at_their_width_with_requantize_at_each_boundary(mixed):
    plan = mixed
    dtype = {t.name: t.dtype for t in plan.tensors}
    requantized = [la for la in plan.layers if la.op == "requantize"]
    assert {plan.tensors[la.output].name for la in requantized} == BOUNDARIES
    for la in requantized:  # the datapath is the input's: s8 -> s16 up, s16 -> s8 down
        src, dst = plan.tensors[la.inputs[0]], plan.tensors[la.output]
        assert src.dtype != dst.dtype and la.datapath == {"int8": "s8", "int16": "s16"}[src.dtype]
        assert dst.zero_point == 0 or dst.dtype == "int8"
    for la in plan.layers:
        if la.op == "requantize":
            continue
        want = "int16" if la.name in WIDTHS else "int8"
        assert la.datapath == {"int8": "s8", "int16": "s16"}[want], la.name
        assert {plan.tensors[i].dtype for i in [*la.inputs, la.output]} == {want}, la.name
    # the graph I/O keep the base width; the one int16 copy of x is shared
    assert [plan.tensors[i].dtype for i in [*plan.inputs, *plan.outputs]] == ["int8", "int8"]
    assert plan.tensors[plan.outputs[0]].name == "y" and dtype["y@int16"] == "int16"
    assert sum(plan.tensors[la.inputs[0]].name == "x" and la.op == "requantize" for la in plan.layers) == 1


def test_mixed_plan_is_bit_exact_and_close_to_float(block, mixed):
    graph, base, _, _, x, _ = block
    xs = [quantize_input(mixed, x, 0)]
    got = run_plan(mixed, xs).outputs
    want, _ = interpret(mixed, xs)
    assert np.array_equal(got[0], want[0])
    ref = ort.InferenceSession(str(graph.source_path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    noise = np.sum((ref - dequantize(mixed, mixed.outputs[0], got[0])) ** 2)
    assert 10 * np.log10(np.sum(ref**2) / noise) > 20.0
    again = load_plan(save_plan(mixed, block[5] / "mixed.fxplan"))
    assert again.compute_hash() == mixed.compute_hash()
    assert [t.dtype for t in again.tensors] == [t.dtype for t in mixed.tensors]


def test_no_override_leaves_the_plan_unchanged(block):
    graph, base, calib, quant16, _, _ = block
    plain = lower_with_widths(graph, calib.quant, quant16, base.profile, None, {"*": 8})
    assert (
        plain.compute_hash() == lower(graph, calib.quant, base.profile, LowerOptions(activation_bits=8)).compute_hash()
    )


def _boards() -> list[str]:
    """host and two QEMU boards by default; FIXPOINT_TEST_BOARDS=all: every runnable board."""
    wanted = os.environ.get("FIXPOINT_TEST_BOARDS", "host,mps2-an386,riscv32-virt")
    names = list_boards() if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    return [n for n in names if load_board(n).kind != "hardware"]


@pytest.mark.parametrize("board", _boards())
def test_mixed_plan_bit_exact_on_board(board, block, tmp_path):
    graph, base, calib, quant16, x, _ = block
    profile = load_board(board).requant_profile()
    plan = lower_with_widths(graph, calib.quant, quant16, profile, None, WIDTHS)
    result = run_hil(
        HilJob(
            plan=plan,
            board=board,
            x=[x[:3]],
            model_path=graph.source_path,
            work_dir=tmp_path,
            max_drop_pp=100.0,
            progress=False,
        )
    )
    assert not result.mismatches and not result.failures, result.summary()
    assert result.bit_exact == 3


def test_calibration_applies_the_measured_choice(block, monkeypatch):
    """A threshold above some int8 SQNRs of the block (32-38 dB): the calibrator lowers those layers at int16."""
    folder = block[5]
    monkeypatch.setattr(tensor_bits, "THRESHOLD_DB", 33.5)
    job = CalibrationJob.for_board(folder / "model.onnx", folder / "calib.npz", "host")
    outputs = run_calibration(job, folder / "applied")
    plan = outputs.plan
    info = plan.meta["tensor_precision"]
    chosen = {c["layer"] for c in info["tensors"] if c["bits"] == 16}
    assert chosen, info["tensors"]
    computing = [la for la in plan.layers if la.op != "requantize"]
    assert info["int16_layers"] == [la.name for la in computing if la.datapath == "s16"]
    assert set(info["int16_layers"]) == chosen
    for la in computing:  # every layer reads and writes its own width
        want = "int16" if la.name in chosen else "int8"
        assert {plan.tensors[i].dtype for i in [*la.inputs, la.output]} == {want}, la.name
    assert info["requantize_layers"] == [la.name for la in plan.layers if la.op == "requantize"]
    assert info["requantize_layers"]
    assert plan.meta["lowering"]["options"]["activation_bits_overrides"] == {n: 16 for n in chosen}
    lines = precision_lines(plan)
    assert any(line.startswith(f"* applied: {len(chosen)} layer(s) run int16") for line in lines)
    assert sum(line.endswith("(applied)") for line in lines) == len(chosen)
    # the CTable: schema-valid, each tensor with its own width's calibration, the copies named
    jsonschema.validate(outputs.ctable, json.loads((ROOT / "docs" / "ctable.schema.json").read_text()))
    for entry in outputs.ctable["tensors"]:
        t = plan.tensors[entry["index"]]
        assert entry["bits"] == (16 if t.dtype == "int16" else 8)
        if "@" in t.name:  # a requantized copy, or an output's producer renamed (its own calibration)
            assert entry["rule"] in (f"requantized:{t.source}", "calibrated"), entry
        if entry["rule"] == "calibrated" and t.dtype == "int16":
            assert entry["scheme"] == "symmetric", entry


def test_int16_plan_with_an_int8_layer(block, tmp_path):
    """The other direction: a 16-bit calibration, ln at int8 (its 8-bit calibration from the same statistics);
    the graph I/O stay int16, the plan is bit-exact against the interpreter and on the host board."""
    folder, x = block[5], block[4]
    job = CalibrationJob(
        model_path=folder / "model.onnx",
        data_path=folder / "calib.npz",
        profile=load_board("host").requant_profile(),
        calibration=CalibrationConfig(progress=False, bits=16),
        lowering=LowerOptions(activation_bits_overrides={"ln": 8}),
        board_name="host",
    )
    out = run_calibration(job, tmp_path / "plan")
    plan = out.plan
    assert [plan.tensors[i].dtype for i in [*plan.inputs, *plan.outputs]] == ["int16", "int16"]
    assert [(la.op, la.datapath) for la in plan.layers[-3:]] == [
        ("requantize", "s16"),
        ("layer_norm", "s8"),
        ("requantize", "s8"),
    ]
    assert {la.datapath for la in plan.layers[:-3]} == {"s16"}
    xs = [quantize_input(plan, x, 0)]
    want, _ = interpret(plan, xs)
    assert np.array_equal(run_plan(plan, xs).outputs[0], want[0])
    result = run_hil(HilJob(plan=plan, board="host", x=[x[:3]], work_dir=tmp_path / "hil", progress=False))
    assert not result.mismatches and not result.failures and result.bit_exact == 3, result.summary()


def test_low_bit_layers_keep_int8_in_the_choice(block):
    graph, base, calib, quant16, x, _ = block
    options = LowerOptions(weight_bits_overrides={"q_matmul": 4})
    choices = choose_tensor_bits(graph, calib.quant, quant16, base.profile, options, [x[:4]], 60.0, 0.0)
    q = next(c for c in choices if c.layer == "q_matmul")
    assert q.bits == 8 and q.reason.startswith("q_matmul out int8: s4 weights need int8 activations"), q.reason
    widths = {c.layer: 16 for c in choices if c.bits == 16}
    assert widths and "q_matmul" not in widths
    plan = lower_with_widths(graph, calib.quant, quant16, base.profile, options, widths)
    assert next(la for la in plan.layers if la.name == "q_matmul").datapath == "s4"


def test_bad_overrides_name_the_culprit(block):
    graph, base, calib, quant16, _, _ = block
    cases = {
        "matches no layer": ({"nope*": 16}, quant16),
        "need a 16-bit calibration": ({"ln": 16}, None),
    }
    for what, (widths, q16) in cases.items():
        with pytest.raises(ModelError, match=what):
            lower_with_widths(graph, calib.quant, q16, base.profile, None, widths)
    with pytest.raises(ModelError, match="4-bit weights need 8-bit activations"):
        lower_with_widths(
            graph,
            calib.quant,
            quant16,
            base.profile,
            replace(LowerOptions(), weight_bits_overrides={"q_matmul": 4}),
            {"q_matmul": 16},
        )
    with pytest.raises(ModelError, match="must be 8 or 16"):
        LowerOptions(activation_bits_overrides={"ln": 12})


@pytest.mark.parametrize(
    "override, message",
    [
        ("ln=12", "--activation-bits-override ln=12: the width must be 8 or 16"),
        ("nope=16", "activation bits override 'nope' matches no layer"),
    ],
)
def test_cli_bad_override_exits_2_with_one_line(block, override, message, tmp_path):
    folder = block[5]
    proc = run_fixpoint(
        "-q",
        "calibrate",
        folder / "model.onnx",
        "--data",
        folder / "calib.npz",
        "--out",
        tmp_path / "out",
        "--activation-bits-override",
        override,
    )
    assert_one_error_line(proc, message)
