"""fixpoint.frontend.load_model: what it builds, and how it rejects bad input."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from onnx import TensorProto, helper

from builders import const, model, rand, save, tensor
from fixpoint.frontend import (
    DynamicShapeError,
    ModelCheckError,
    ModelFileError,
    OpsetError,
    UnsupportedInputError,
    UnsupportedOpError,
    load_model,
)
from fixpoint.ir import ModelError


def _conv_relu(opset: int = 17, batch: object = 1) -> object:
    nodes = [
        helper.make_node(
            "Constant",
            [],
            ["W"],
            value=helper.make_tensor("W", TensorProto.FLOAT, [2, 3, 3, 3], rand(2, 3, 3, 3).ravel()),
        ),
        helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"], name="act"),
    ]
    return model(nodes, [tensor("x", [batch, 3, 8, 8])], [tensor("y", [batch, 2, 8, 8])], opset=opset)


def _assert_one_line(error: Exception, *fragments: str) -> None:
    assert isinstance(error, ModelError)  # the CLI prints these as "error: <message>"
    message = str(error)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_load_builds_onnx_stage_graph(tmp_path):
    path = save(_conv_relu(), tmp_path)
    graph = load_model(path)
    assert graph.stage == "onnx" and graph.opset == 17
    assert graph.source_path == str(path)
    assert graph.source_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # The Constant node became a constant Value; unnamed nodes got <op_type>_<index>.
    assert [(n.name, n.op) for n in graph.nodes] == [("Conv_1", "Conv"), ("act", "Relu")]
    assert graph.values["W"].is_const and graph.values["W"].shape == [2, 3, 3, 3]
    assert graph.values["c"].shape == [1, 2, 8, 8] and graph.inputs == ["x"] and graph.outputs == ["y"]
    assert graph.nodes[0].attrs["pads"] == [1, 1, 1, 1]


def test_dynamic_batch_becomes_one(tmp_path):
    graph = load_model(save(_conv_relu(batch="batch"), tmp_path))
    assert graph.values["x"].shape == [1, 3, 8, 8]
    assert graph.values["y"].shape == [1, 2, 8, 8]


def test_node_names_are_unique_even_when_onnx_names_repeat(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="same"), helper.make_node("Relu", ["a"], ["y"], name="same")]
    graph = load_model(save(model(nodes, [tensor("x", [1, 4])], [tensor("y", [1, 4])]), tmp_path))
    assert len({n.name for n in graph.nodes}) == 2


def test_garbage_file_is_not_onnx(tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_text("this is a text file, not a model\n")
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    _assert_one_line(info.value, str(path), "not an ONNX file")


def test_truncated_file(tmp_path):
    data = _conv_relu().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    _assert_one_line(info.value, str(path), "truncated")


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty file"):
        load_model(empty)
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "missing.onnx")


def test_unsupported_opset(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    path = save(model(nodes, [tensor("x", [1, 4])], [tensor("y", [1, 4])], opset=10), tmp_path)
    with pytest.raises(OpsetError) as info:
        load_model(path)
    _assert_one_line(info.value, str(path), "opset 10", "11..")


def test_dynamic_non_batch_dim_names_the_tensor(tmp_path):
    nodes = [helper.make_node("Relu", ["image"], ["y"])]
    proto = model(nodes, [tensor("image", ["N", 3, "height", 8])], [tensor("y", ["N", 3, "height", 8])])
    with pytest.raises(DynamicShapeError) as info:
        load_model(save(proto, tmp_path))
    _assert_one_line(info.value, "'image'", "dimension 2", "'height'")


def test_unsupported_nodes_are_listed_together(tmp_path):
    nodes = [
        helper.make_node("Sin", ["x"], ["s"], name="sine"),
        helper.make_node("Conv", ["s", "W"], ["c"], name="conv", auto_pad="BOGUS"),
        helper.make_node("Gemm", ["f", "G"], ["y"], name="fc", transA=1),
        helper.make_node("Flatten", ["c"], ["f"], name="flat"),
    ]
    nodes = [nodes[0], nodes[1], nodes[3], nodes[2]]
    inits = [const("W", rand(2, 3, 3, 3)), const("G", rand(2 * 6 * 6, 4))]
    proto = model(nodes, [tensor("x", [1, 3, 8, 8])], [tensor("y", [1, 4])], inits)
    with pytest.raises(UnsupportedOpError) as info:
        load_model(save(proto, tmp_path))
    _assert_one_line(
        info.value,
        "3 unsupported nodes",
        "sine (Sin): unsupported op",
        "conv (Conv): auto_pad=BOGUS",
        "fc (Gemm): transA=1",
    )
    assert info.value.problems[0].startswith("sine (Sin)")
    assert "; conv (Conv)" in str(info.value)


def test_unknown_domain_op_hides_downstream_shapes(tmp_path):
    """Shapes lost after an unknown op are not reported as dynamic: the op is."""
    nodes = [
        helper.make_node("FancyOp", ["x"], ["f"], name="fancy", domain="com.example"),
        helper.make_node("Relu", ["f"], ["y"], name="relu"),
    ]
    proto = model(nodes, [tensor("x", [1, 4])], [tensor("y", [1, 4])])
    proto.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(UnsupportedOpError) as info:
        load_model(save(proto, tmp_path))
    _assert_one_line(info.value, "fancy (com.example.FancyOp): unsupported op")
    assert "relu" not in str(info.value)


@pytest.mark.parametrize(
    "node, inits, fragments",
    [
        (
            helper.make_node(
                "AveragePool", ["x"], ["y"], name="ap", kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1
            ),
            [],
            ["ap (AveragePool)", "count_include_pad=1"],
        ),
        (
            helper.make_node("MaxPool", ["x"], ["y"], name="mp", kernel_shape=[2, 2], dilations=[2, 2]),
            [],
            ["mp (MaxPool)", "dilations=[2, 2]"],
        ),
        (
            helper.make_node("Pad", ["x", "p"], ["y"], name="pad"),
            [const("p", np.array([0, 0, -1, 1, 0, 0, 1, 1], np.int64))],
            ["pad (Pad)", "negative pads (cropping)"],
        ),
        (
            helper.make_node("Pad", ["x", "p"], ["y"], name="far", mode="reflect"),
            [const("p", np.array([0, 0, 8, 1, 0, 0, 1, 1], np.int64))],
            ["far (Pad)", "reflect pads reach beyond"],
        ),
        (
            helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=0),
            [],
            ["sm (Softmax)", "axis 0 is the batch axis"],
        ),
        (
            helper.make_node(
                "MaxPool",
                ["x"],
                ["y"],
                name="ceil",
                kernel_shape=[2, 2],
                strides=[3, 3],
                pads=[0, 0, 1, 1],
                ceil_mode=1,
            ),
            [],
            ["ceil (MaxPool)", "inference gives H, W [4, 4], onnxruntime [3, 3]"],
        ),
        (
            helper.make_node("Conv", ["x", "W"], ["y"], name="dil", auto_pad="SAME_UPPER", dilations=[2, 2]),
            [const("W", rand(2, 3, 3, 3))],
            ["dil (Conv)", "onnxruntime cannot run it"],
        ),
        (
            helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn"),
            [const(n, np.ones(3, np.float32)) for n in "sbmv"],
            ["bn (BatchNormalization)", "graph input"],
        ),
    ],
)
def test_unsupported_attributes(tmp_path, node, inits, fragments):
    proto = model([node], [tensor("x", [1, 3, 8, 8])], [tensor("y", [None] * 4)], inits, opset=19)
    with pytest.raises(UnsupportedOpError) as info:
        load_model(save(proto, tmp_path))
    _assert_one_line(info.value, *fragments, "supported:")


def test_non_float_input_is_rejected(tmp_path):
    nodes = [helper.make_node("Cast", ["ids"], ["y"], to=TensorProto.FLOAT)]
    proto = model(nodes, [tensor("ids", [1, 4], TensorProto.INT64)], [tensor("y", [1, 4])])
    with pytest.raises(UnsupportedInputError, match="input 'ids' has type int64"):
        load_model(save(proto, tmp_path))


def test_checker_error_is_one_line(tmp_path):
    nodes = [helper.make_node("Relu", ["nowhere"], ["y"], name="r")]
    proto = model(nodes, [tensor("x", [1, 4])], [tensor("y", [1, 4])])
    path = save(proto, tmp_path)
    with pytest.raises(ModelCheckError) as info:
        load_model(path)
    _assert_one_line(info.value, str(path), "nowhere")
