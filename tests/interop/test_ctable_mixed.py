"""A mixed-width plan's CTable read back with ``fixpoint calibrate --encodings``: the same plan (per-layer widths,
both widths' scales and zero points, the same requantize layers, identical integers); the user's
``--activation-bits-override`` still wins; an inconsistent table is one error line and nothing written."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from fixpoint.calibrate import CalibrationConfig
from fixpoint.cli import main
from fixpoint.plan import Plan, load_plan
from fixpoint.pipeline import CalibrationJob, run_calibration

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lower"))
from attention_models import model_folder  # noqa: E402

ZOO = Path(__file__).resolve().parents[2] / "examples" / "zoo"
# q projection, QK^T and LayerNorm at int16 (tests/interop/test_mixed_widths.py): copies both ways, and the
# graph output made at int16 ('y@int16') with the int8 plan output 'y' its copy
WIDTHS = {"q_matmul": 16, "qk": 16, "ln": 16}


def _plan(model: Path, data: Path, out: Path, widths: dict, bits: int = 8):
    job = CalibrationJob.for_board(model, data, "host")
    job.lowering = replace(job.lowering, activation_bits_overrides=widths)
    if bits == 16:
        job.calibration = CalibrationConfig(progress=False, bits=16)
    return run_calibration(job, out)


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    """(folder, outputs) of the attention block calibrated with ``WIDTHS``."""
    folder = model_folder(tmp_path_factory.mktemp("ctablemix"), "attention_block")
    return folder, _plan(folder / "model.onnx", folder / "calib.npz", folder / "plan", WIDTHS)


def _read_back(model: Path, data: Path, table: Path, out: Path, *extra: str) -> int:
    args = ["-q", "calibrate", str(model), "--data", str(data), "--board", "host", "-o", str(out)]
    return main([*args, "--encodings", str(table), *extra])


def _assert_same_plan(a: Plan, b: Plan) -> None:
    """Every tensor (name, dtype, scale, zero point, shape), every layer (op, datapath, engine, tensors,
    params) and every array element equal; only the report in ``meta`` differs (its override keys are
    the layers' output tensors, and the CTable's ``given``)."""
    assert [(t.name, t.dtype) for t in a.tensors] == [(t.name, t.dtype) for t in b.tensors]
    assert a.tensors == b.tensors
    assert (a.inputs, a.outputs, a.profile, a.arena_size) == (b.inputs, b.outputs, b.profile, b.arena_size)
    assert [(la.name, la.op, la.datapath) for la in a.layers] == [(lb.name, lb.op, lb.datapath) for lb in b.layers]
    for la, lb in zip(a.layers, b.layers):
        assert asdict(replace(la, arrays={})) == asdict(replace(lb, arrays={})), la.name
        assert sorted(la.arrays) == sorted(lb.arrays), la.name
        for key in la.arrays:
            np.testing.assert_array_equal(np.asarray(la.arrays[key]), np.asarray(lb.arrays[key]), err_msg=la.name)


def test_mixed_ctable_reads_back_as_the_same_plan(block, tmp_path):
    folder, out = block
    plan = out.plan
    copies = {t.name for t in plan.tensors if "@" in t.name}
    assert copies == {"x@int16", "k@int16", "scores@int8", "res@int16", "y@int16"}
    assert _read_back(folder / "model.onnx", folder / "calib.npz", out.plan_path.parent / "ctable.json", tmp_path) == 0
    again = load_plan(tmp_path / "plan.fxplan")
    _assert_same_plan(plan, again)
    given = {t["name"]: t.get("given") for t in json.loads((tmp_path / "ctable.json").read_text())["tensors"]}
    # both widths' entries were given (the copies too) and kept exactly
    assert given["x@int16"]["type"] == "int16" and given["y@int16"]["type"] == "int16" and given["y"]["type"] == "int8"
    assert all(g["scale_error"] == 0 for name, g in given.items() if g is not None), given


def test_int16_plan_with_int8_layers_ctable_reads_back(block, tmp_path):
    """The other direction: 16-bit graph I/O with the scale and ln layers at int8."""
    folder, _ = block
    out = _plan(folder / "model.onnx", folder / "calib.npz", tmp_path / "plan", {"scale": 8, "ln": 8}, bits=16)
    assert any(la.op == "requantize" for la in out.plan.layers)
    table = out.plan_path.parent / "ctable.json"
    assert _read_back(folder / "model.onnx", folder / "calib.npz", table, tmp_path / "again") == 0
    _assert_same_plan(out.plan, load_plan(tmp_path / "again" / "plan.fxplan"))


def test_kw_transformer_ctable_reads_back(tmp_path):
    """The zoo's keyword transformer with its LayerNorms and attention MatMuls at int16."""
    folder = ZOO / "kw_transformer"
    widths = {"*LayerNormalization": 16, "*/attn/MatMul": 16, "*/attn/MatMul_1": 16}
    out = _plan(folder / "model.onnx", folder / "calib.npz", tmp_path / "plan", widths)
    assert sum(la.op == "requantize" for la in out.plan.layers) > 0
    # through the API as the plan was made (the command line's default policy search may also choose bias
    # correction or AdaRound, weight refinements a CTable does not carry: docs/interop.md)
    job = CalibrationJob.for_board(folder / "model.onnx", folder / "calib.npz", "host")
    job.encodings = out.plan_path.parent / "ctable.json"
    _assert_same_plan(out.plan, run_calibration(job, tmp_path / "again").plan)


def test_user_override_wins_over_the_ctable_widths(block, tmp_path):
    """``--activation-bits-override ln=8``: ln runs at int8 and makes 'y' at the CTable's int8 entry of 'y'
    (the copy's), so no copies are left around ln; the other widths still come from the table."""
    folder, out = block
    table = out.plan_path.parent / "ctable.json"
    code = _read_back(
        folder / "model.onnx", folder / "calib.npz", table, tmp_path, "--activation-bits-override", "ln=8"
    )
    assert code == 0
    plan = load_plan(tmp_path / "plan.fxplan")
    layers = {la.name: la.datapath for la in plan.layers}
    assert layers["ln"] == "s8" and layers["q_matmul"] == layers["qk"] == "s16"
    assert "res@int16" not in {t.name for t in plan.tensors} and "y@int16" not in {t.name for t in plan.tensors}
    y = next(t for t in plan.tensors if t.name == "y")
    want = next(t for t in out.plan.tensors if t.name == "y")
    assert (y.dtype, y.scale, y.zero_point) == (want.dtype, want.scale, want.zero_point)


def test_both_widths_are_pinned_from_the_table(block, tmp_path):
    """A copy's and an other-width tensor's entries are used as given, not calibrated again (calibration
    alone would give back the same scales: these differ from them)."""
    folder, out = block
    data = json.loads((out.plan_path.parent / "ctable.json").read_text())
    edited = {"x@int16": 0.0003, "y": 0.03, "y@int16": 0.0002, "scores@int8": 0.2, "q": 0.00025}
    for entry in data["tensors"]:
        entry["scale"] = edited.get(entry["name"], entry["scale"])
    table = tmp_path / "edited_ctable.json"
    table.write_text(json.dumps(data))
    assert _read_back(folder / "model.onnx", folder / "calib.npz", table, tmp_path / "out") == 0
    plan = load_plan(tmp_path / "out" / "plan.fxplan")
    assert {t.name: t.scale for t in plan.tensors if t.name in edited} == edited
    assert [(t.name, t.dtype) for t in plan.tensors] == [(t.name, t.dtype) for t in out.plan.tensors]


def _edit(entries: list[dict], tensor: str, **changes) -> None:
    next(t for t in entries if t["name"] == tensor).update(changes)


def _ghost_copy(entries: list[dict]) -> None:
    by_name = {t["name"]: t for t in entries}
    entries += [
        {**by_name["x"], "name": "ghost", "rule": "calibrated"},
        {**by_name["x@int16"], "name": "ghost@int16", "rule": "requantized:ghost"},
    ]


BAD = {
    "copy of a missing tensor": (
        lambda e: _edit(e, "x@int16", rule="requantized:nope"),
        "tensor 'x@int16': rule requantized:nope names no tensor of the CTable",
    ),
    "copy at its source's width": (
        lambda e: _edit(e, "x@int16", dtype="int8", bits=8),
        "tensor 'x@int16': a requantized copy of 'x' at its own width int8",
    ),
    "16-bit zero point": (lambda e: _edit(e, "q", zero_point=3), "tensor 'q': 16-bit activations need zero point 0"),
    "copy named for another width": (
        lambda e: _edit(e, "k@int16", name="k@int8"),
        "tensor 'k@int8': rule requantized:k: a copy is named 'k@int16'",
    ),
    "tensor listed twice": (lambda e: e.append(dict(e[2])), "tensor 'q': listed twice in the CTable"),
    "copy of no model value": (_ghost_copy, "2 encoding name(s) match no tensor or parameter"),
    "layout copy disagreeing with its source": (
        lambda e: _edit(e, "scaled.rows", scale=0.5),
        "tensor 'scaled.rows': rule same_as_input:scaled, but its scale or zero point differ",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_inconsistent_ctable_is_one_error_line(block, tmp_path, capsys, case):
    folder, out = block
    data = json.loads((out.plan_path.parent / "ctable.json").read_text())
    edit, needle = BAD[case]
    edit(data["tensors"])
    table = tmp_path / "bad_ctable.json"
    table.write_text(json.dumps(data))
    capsys.readouterr()
    code = _read_back(folder / "model.onnx", folder / "calib.npz", table, tmp_path / "out")
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error:") and needle in err, err
    assert not (tmp_path / "out" / "plan.fxplan").exists() and not (tmp_path / "out" / "ctable.json").exists()
