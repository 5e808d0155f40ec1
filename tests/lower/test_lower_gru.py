"""ONNX GRU (linear_before_reset 1) end to end, the LSTM tests' models with a GRU cell: normalized
float equal to onnxruntime, simulation bit-exact against the numpy plan interpreter
(fixpoint.reference.gru) and close to float, bit-exact through `hil` on the host and emulated
boards (FIXPOINT_TEST_BOARDS), the plan and CTable carrying the per-gate params."""

from __future__ import annotations

import sys
from pathlib import Path

import onnx
import pytest

import test_lower_lstm as shared
from fixpoint.frontend.errors import UnsupportedOpError
from fixpoint.pipeline import load_graph

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from lstm_models import build_lstm_model  # noqa: E402

MODELS = shared.MODELS


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    return shared.calibrator(tmp_path_factory.mktemp("gru_models"), "GRU")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_normalized_gru_matches_onnxruntime(name, calibrated):
    shared.check_normalized_matches_onnxruntime(name, calibrated, "gru")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_simulation_bit_exact_and_close_to_float(name, calibrated):
    shared.check_simulation(name, calibrated, "gru")


@pytest.mark.parametrize("board", shared._boards())
def test_bit_exact_on_board(board, calibrated, tmp_path):
    shared.check_on_board(board, calibrated, tmp_path)


def test_gru_plan_and_ctable(calibrated):
    outputs = calibrated("last")
    layer = next(layer for layer in outputs.plan.layers if layer.op == "gru")
    assert len(layer.params["recurrent_scale"]) == 3 and "cell_frac_bits" not in layer.params
    entry = next(e for e in outputs.ctable["layers"] if e["op"] == "gru")
    assert entry["recurrent"]["gates"] == ["z", "r", "h"]
    assert {f"input_{g}" for g in "zrh"} | {f"recurrent_{g}" for g in "zrh"} <= set(entry["scale_errors"])


def test_gru_without_linear_before_reset_names_the_problem(tmp_path):
    path = build_lstm_model(tmp_path / "m.onnx", 4, 2, 3, 2, cell="GRU")
    model = onnx.load(path)
    node = next(n for n in model.graph.node if n.op_type == "GRU")
    for a in node.attribute:
        if a.name == "linear_before_reset":
            a.i = 0
    onnx.save(model, path)
    with pytest.raises(UnsupportedOpError, match="linear_before_reset"):
        load_graph(path)
