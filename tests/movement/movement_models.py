"""Small real ONNX models exercising the data-movement ops (Transpose, Slice, Split, reshapes that
reorder NHWC elements), with their data files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _init(rng: np.random.Generator, name: str, shape: tuple[int, ...], scale: float) -> onnx.TensorProto:
    return numpy_helper.from_array((rng.normal(size=shape) * scale).astype(np.float32), name)


def _ints(name: str, values) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def _save(path: Path, nodes, inputs, outputs, inits, opset: int = 13) -> Path:
    graph = helper.make_graph(nodes, Path(path).stem, inputs, outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), path)
    return Path(path)


def _value(name: str, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def head_model(path: Path, seed: int = 0) -> Path:
    """A YOLO-head-like model: x [n,3,8,8] -> conv (12 = 3 anchors x 4) -> Reshape [n,3,4,64] (reorders
    NHWC) -> Transpose (0,1,3,2) -> [n,3,64,4] -> Slice of the box coordinates (last axis 0:2) and of
    the objectness (2:4, step 1) -> Concat on axis 3 reversed order -> 'pred' [n,3,64,4]."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "w", (12, 3, 3, 3), 0.4),
        _init(rng, "b", (12,), 0.1),
        _ints("shape", [0, 3, 4, 64]),
        _ints("s0", [0]),
        _ints("e0", [2]),
        _ints("s1", [2]),
        _ints("e1", [4]),
        _ints("ax", [3]),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Reshape", ["conv", "shape"], ["grid"], name="reshape"),
        helper.make_node("Transpose", ["grid"], ["anchors"], name="transpose", perm=[0, 1, 3, 2]),
        helper.make_node("Slice", ["anchors", "s0", "e0", "ax"], ["xy"], name="slice_xy"),
        helper.make_node("Slice", ["anchors", "s1", "e1", "ax"], ["wh"], name="slice_wh"),
        helper.make_node("Concat", ["wh", "xy"], ["pred"], name="concat", axis=3),
    ]
    return _save(path, nodes, [_value("x", ["n", 3, 8, 8])], [_value("pred", ["n", 3, 64, 4])], inits)


def reshape_between_convs(path: Path, seed: int = 1) -> Path:
    """x [n,2,6,6] -> conv (8 ch) -> Reshape [n,4,12,6] (really reorders the NHWC elements) -> conv
    (4 ch) -> Transpose (0,2,3,1) -> 'y' [n,12,6,4]."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "w1", (8, 2, 3, 3), 0.5),
        _init(rng, "b1", (8,), 0.1),
        _init(rng, "w2", (4, 4, 3, 3), 0.4),
        _init(rng, "b2", (4,), 0.1),
        _ints("shape", [-1, 4, 12, 6]),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Reshape", ["r1", "shape"], ["folded"], name="reshape"),
        helper.make_node("Conv", ["folded", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Transpose", ["c2"], ["y"], name="to_nhwc", perm=[0, 2, 3, 1]),
    ]
    return _save(path, nodes, [_value("x", ["n", 2, 6, 6])], [_value("y", ["n", 12, 6, 4])], inits)


def split_branches(path: Path, seed: int = 2) -> Path:
    """x [n,3,8,8] -> conv (6 ch) -> Split axis 1 into [2, 4] -> a 1x1 conv per branch; branch a is
    reversed along W (Slice step -1) and strided along H (step 2, from the end); the two branches
    are the outputs 'a' [n,4,4,8] and 'b' [n,4,8,8]."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "w", (6, 3, 3, 3), 0.4),
        _init(rng, "bc", (6,), 0.1),
        _ints("split", [2, 4]),
        _init(rng, "wa", (4, 2, 1, 1), 0.6),
        _init(rng, "ba", (4,), 0.1),
        _init(rng, "wb", (4, 4, 1, 1), 0.6),
        _init(rng, "bb", (4,), 0.1),
        _ints("starts", [-1, -1]),
        _ints("ends", [-(1 << 62), -(1 << 62)]),
        _ints("axes", [2, 3]),
        _ints("steps", [-2, -1]),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "bc"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Split", ["conv", "split"], ["left", "right"], name="split", axis=1),
        helper.make_node("Conv", ["left", "wa", "ba"], ["ca"], name="conv_a"),
        helper.make_node("Slice", ["ca", "starts", "ends", "axes", "steps"], ["a"], name="flip"),
        helper.make_node("Conv", ["right", "wb", "bb"], ["b"], name="conv_b"),
    ]
    return _save(
        path, nodes, [_value("x", ["n", 3, 8, 8])], [_value("a", ["n", 4, 4, 8]), _value("b", ["n", 4, 8, 8])], inits
    )


def upsample_concat(path: Path, seed: int = 3) -> Path:
    """A YOLO-neck / UNet-decoder-like model: x [n,2,8,8] -> conv stride 2 (6 ch, 4x4) -> Resize x2
    nearest (asymmetric, floor) and x2 bilinear (half_pixel; 6 channels sliced back to 6) -> Concat with the full-
    resolution conv (4 ch) on channels -> conv 1x1 -> 'y' [n,3,8,8]; and 'z': bilinear align_corners
    Resize of the low-resolution map to 7x5 (scale down and up)."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "wd", (6, 2, 3, 3), 0.4),
        _init(rng, "bd", (6,), 0.1),
        _init(rng, "wf", (4, 2, 3, 3), 0.4),
        _init(rng, "bf", (4,), 0.1),
        _init(rng, "wo", (3, 16, 1, 1), 0.3),
        _init(rng, "bo", (3,), 0.1),
        numpy_helper.from_array(np.zeros(0, np.float32), "roi"),
        numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "x2"),
        numpy_helper.from_array(np.array([1, 1, 1.75, 1.25], np.float32), "to75"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "wd", "bd"], ["low"], name="down", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Conv", ["x", "wf", "bf"], ["full"], name="full", pads=[1, 1, 1, 1]),
        helper.make_node(
            "Resize",
            ["low", "roi", "x2"],
            ["up_nn"],
            name="up_nearest",
            mode="nearest",
            coordinate_transformation_mode="asymmetric",
            nearest_mode="floor",
        ),
        helper.make_node(
            "Resize",
            ["low", "roi", "x2"],
            ["up_bl"],
            name="up_bilinear",
            mode="linear",
            coordinate_transformation_mode="half_pixel",
        ),
        helper.make_node("Slice", ["up_bl", "s", "e", "a"], ["up_bl2"], name="keep2"),
        helper.make_node("Concat", ["up_nn", "full", "up_bl2"], ["cat"], name="concat", axis=1),
        helper.make_node("Conv", ["cat", "wo", "bo"], ["y"], name="head"),
        helper.make_node(
            "Resize",
            ["low", "roi", "to75"],
            ["z"],
            name="resample",
            mode="linear",
            coordinate_transformation_mode="align_corners",
        ),
    ]
    inits += [_ints("s", [0]), _ints("e", [6]), _ints("a", [1])]
    return _save(
        path, nodes, [_value("x", ["n", 2, 8, 8])], [_value("y", ["n", 3, 8, 8]), _value("z", ["n", 6, 7, 5])], inits
    )


def pad_modes(path: Path, seed: int = 4) -> Path:
    """x [n,2,6,6] -> conv (4 ch) -> Pad reflect (H 2/1, W 1/2) -> conv 3x3 valid -> Pad edge (H 1/0,
    W 0/2, C 0/1) -> 'y' [n,5,7,9]."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "w1", (4, 2, 3, 3), 0.4),
        _init(rng, "b1", (4,), 0.1),
        _init(rng, "w2", (4, 4, 3, 3), 0.3),
        _init(rng, "b2", (4,), 0.1),
        _ints("reflect_pads", [0, 0, 2, 1, 0, 0, 1, 2]),
        _ints("edge_pads", [0, 0, 1, 0, 0, 1, 0, 2]),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Pad", ["c1", "reflect_pads"], ["r"], name="pad_reflect", mode="reflect"),
        helper.make_node("Conv", ["r", "w2", "b2"], ["c2"], name="conv2"),
        helper.make_node("Pad", ["c2", "edge_pads"], ["y"], name="pad_edge", mode="edge"),
    ]
    return _save(path, nodes, [_value("x", ["n", 2, 6, 6])], [_value("y", ["n", 5, 7, 9])], inits)


def gather_pick(path: Path, seed: int = 5) -> Path:
    """x [n,2,6,6] -> conv (5 ch) -> Gather channels [4, 2, 0] (one strided run) -> Gather W
    [5, 0, 1, 2, 2] (three runs: slices + concat) -> 'y' [n,3,6,5]."""
    rng = np.random.default_rng(seed)
    inits = [
        _init(rng, "w", (5, 2, 3, 3), 0.4),
        _init(rng, "b", (5,), 0.1),
        _ints("channels", [4, 2, 0]),
        _ints("columns", [5, 0, 1, 2, 2]),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Gather", ["c", "channels"], ["picked"], name="pick_channels", axis=1),
        helper.make_node("Gather", ["picked", "columns"], ["y"], name="pick_columns", axis=3),
    ]
    return _save(path, nodes, [_value("x", ["n", 2, 6, 6])], [_value("y", ["n", 3, 6, 5])], inits)


def depth_space(path: Path, seed: int = 6) -> Path:
    """x [n,2,8,8] -> SpaceToDepth 2 -> conv 1x1 (12 ch) -> DepthToSpace 2 DCR -> 'a' [n,3,8,8];
    the conv output also -> DepthToSpace 2 CRD -> 'b' [n,3,8,8] (sub-pixel upsampling heads)."""
    rng = np.random.default_rng(seed)
    inits = [_init(rng, "w", (12, 8, 1, 1), 0.4), _init(rng, "b0", (12,), 0.1)]
    nodes = [
        helper.make_node("SpaceToDepth", ["x"], ["s2d"], name="s2d", blocksize=2),
        helper.make_node("Conv", ["s2d", "w", "b0"], ["c"], name="conv"),
        helper.make_node("DepthToSpace", ["c"], ["a"], name="d2s_dcr", blocksize=2, mode="DCR"),
        helper.make_node("DepthToSpace", ["c"], ["b"], name="d2s_crd", blocksize=2, mode="CRD"),
    ]
    return _save(
        path, nodes, [_value("x", ["n", 2, 8, 8])], [_value("a", ["n", 3, 8, 8]), _value("b", ["n", 3, 8, 8])], inits
    )


def write_data(path: Path, shapes: dict[str, tuple[int, ...]], n: int, seed: int = 3) -> Path:
    """An .npz with one float32 array [n, *shape] per input name."""
    rng = np.random.default_rng(seed)
    np.savez(path, **{name: rng.normal(size=(n, *shape)).astype(np.float32) for name, shape in shapes.items()})
    return Path(path)


#: name -> (builder, {input: per-sample shape})
MODELS = {
    "head": (head_model, {"x": (3, 8, 8)}),
    "reshape_convs": (reshape_between_convs, {"x": (2, 6, 6)}),
    "split": (split_branches, {"x": (3, 8, 8)}),
    "upsample": (upsample_concat, {"x": (2, 8, 8)}),
    "pad_modes": (pad_modes, {"x": (2, 6, 6)}),
    "gather": (gather_pick, {"x": (2, 6, 6)}),
    "depth_space": (depth_space, {"x": (2, 8, 8)}),
}
