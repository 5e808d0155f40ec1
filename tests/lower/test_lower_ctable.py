"""CTable generation, schema validity and atomic writing."""

import json
import math
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from fixpoint.ctable import CTABLE_VERSION, build_ctable, read_ctable, write_ctable
from fixpoint.ir import ModelError
from fixpoint.lower import LowerOptions, lower_with_report
from fixpoint.ops.runtime_ops import RUNTIME_OPS
from fixpoint.plan import RequantProfile

from lower_graphs import GraphBuilder, conv_attrs

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "ctable.schema.json").read_text())
RNG = np.random.default_rng(3)


def _model():
    g = GraphBuilder("tiny")
    x = g.input("x", [1, 6, 6, 2], scale=0.02, zp=-3, layout="NCHW")
    g.const("W", RNG.normal(size=(4, 3, 3, 2))), g.const("B", RNG.normal(size=4))
    g.node(
        "conv2d",
        [x, "W", "B"],
        "c",
        [1, 6, 6, 4],
        scale=0.05,
        zp=-128,
        attrs=conv_attrs(pads=(1, 1, 1, 1), act="relu", act_range=[0.0, math.inf]),
        fused=["relu0"],
        layout="NCHW",
    )
    g.node(
        "max_pool",
        ["c"],
        "p",
        [1, 3, 3, 4],
        attrs={"kernel": [2, 2], "strides": [2, 2], "pads": [0] * 4},
        layout="NCHW",
    )
    g.const("s", np.full([1, 1, 1, 4], 0.5))
    g.node("mul", ["p", "s"], "m", [1, 3, 3, 4], scale=0.03, zp=-128, layout="NCHW")
    g.node("add", ["m", "p"], "a", [1, 3, 3, 4], scale=0.08, zp=-100, attrs={"act": "none"}, layout="NCHW")
    g.const("W2", RNG.normal(size=(3, 36))), g.const("B2", np.zeros(3))
    g.node("fully_connected", ["a", "W2", "B2"], "logits", [1, 1, 1, 3], scale=0.1, attrs={"act": "none"}, layout="NC")
    return g


@pytest.fixture(scope="module")
def lowered():
    g = _model()
    plan, report = lower_with_report(
        g.graph(["logits"]), g.quant, RequantProfile(), LowerOptions(weight_bits_overrides={"logits*": 4})
    )
    return plan, report, g.quant


def test_ctable_validates_against_the_schema(lowered):
    plan, report, quant = lowered
    ctable = build_ctable(plan, quant, report)
    jsonschema.validate(ctable, SCHEMA)
    assert ctable["format"] == "fixpoint-ctable" and ctable["version"] == CTABLE_VERSION
    assert ctable["model_hash"] == plan.model_hash


def test_schema_names_every_runtime_op():
    assert set(SCHEMA["$defs"]["layer"]["properties"]["op"]["enum"]) == set(RUNTIME_OPS)


def test_ctable_tensor_and_layer_content(lowered):
    plan, report, quant = lowered
    ctable = build_ctable(plan, quant, report)
    tensors = {t["name"]: t for t in ctable["tensors"]}
    assert tensors["x"]["range"] == [quant["x"].lo, quant["x"].hi] and tensors["x"]["source_layout"] == "NCHW"
    assert tensors["p"]["rule"] == "same_as_input:c" and tensors["p"]["scale"] == 0.05
    assert tensors["p"]["policy"] == "max" and tensors["p"]["observed"] is None
    layers = {layer["name"]: layer for layer in ctable["layers"]}
    conv = layers["c_node"]
    assert conv["source_nodes"] == ["c_node", "relu0"] and conv["datapath"] == "s8"
    assert conv["registers"]["multiplier"] == plan.layers[0].arrays["multiplier"].tolist()
    assert conv["registers"]["act_min"] == -128 and conv["registers"]["input_offset"] == 3
    assert 0 < conv["max_scale_error"] < 1e-8 and conv["weight_bits"] == 8 and conv["weight_sqnr_db"] > 30
    assert layers["m_node"]["op"] == "depthwise_conv2d"
    assert set(layers["a_node"]["scale_errors"]) == {"input1", "input2", "output"}
    assert layers["logits_node"]["datapath"] == "s4" and layers["logits_node"]["weight_bits"] == 4
    assert layers["p_node"]["max_scale_error"] == 0.0


def test_ctable_from_a_saved_plan_uses_the_stored_report(lowered, tmp_path):
    from fixpoint.plan import load_plan, save_plan

    plan, report, quant = lowered
    loaded = load_plan(save_plan(plan, tmp_path / "p.fxplan"))
    assert build_ctable(loaded, quant) == build_ctable(plan, quant, report)


def test_write_is_atomic_and_strict(lowered, tmp_path):
    plan, report, quant = lowered
    path = write_ctable(tmp_path / "out" / "model.ctable.json", build_ctable(plan, quant, report))
    assert read_ctable(path)["model_name"] == "tiny"
    bad = {"format": "fixpoint-ctable", "version": 1, "x": float("nan")}
    with pytest.raises(ValueError):
        write_ctable(path, bad)
    assert read_ctable(path)["model_name"] == "tiny"  # the old file is intact
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind


def test_read_rejects_other_files(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"format": "something"}))
    with pytest.raises(ModelError, match="not a Fixpoint CTable"):
        read_ctable(path)
