"""transpose and slice: normalization of Transpose / Slice / Split / reordering reshapes (NCHW axes
mapped onto the NHWC storage, float results equal onnxruntime's), lowering (params, the output
keeps the input's quantization, the C struct builds) and front-end errors (exit 2, one line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import helper

from fixpoint.cparams import layer_arrays_for_c, layer_struct
from fixpoint.frontend import load_model
from fixpoint.ir import ModelError
from fixpoint.lower import LowerOptions, lower
from fixpoint.normalize import normalize
from fixpoint.normalize.float_exec import run_normalized
from fixpoint.plan import RequantProfile

from lower_graphs import GraphBuilder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "frontend"))
from builders import const, model, ort_all_values, rand, save, tensor  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NO_ARENA = LowerOptions(plan_memory=False)


def _ints(name: str, values) -> object:
    return const(name, np.asarray(values, dtype=np.int64))


def _normalized_matches_ort(path: Path):
    loaded = load_model(path)
    feeds = {name: rand(*loaded.values[name].shape) for name in loaded.inputs}
    graph = normalize(loaded)
    ours = run_normalized(graph, feeds)
    theirs = ort_all_values(path, feeds, [])
    for name in graph.outputs:
        np.testing.assert_allclose(ours[name], theirs[name], atol=1e-5, rtol=1e-5, err_msg=name)
    return graph


# ---- normalization --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("perm", [[0, 2, 3, 1], [0, 3, 1, 2], [0, 1, 3, 2], [3, 2, 1, 0], [1, 0, 2, 3]])
def test_transpose_any_permutation_of_nchw(tmp_path, perm):
    shape = [1, 2, 3, 4]
    out = [shape[p] for p in perm]
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("Transpose", ["c"], ["y"], name="t", perm=perm),
    ]
    proto = model(nodes, [tensor("x", [1, 3, 3, 4])], [tensor("y", out)], [const("W", rand(2, 3, 1, 1))])
    graph = _normalized_matches_ort(save(proto, tmp_path))
    assert [n.op for n in graph.nodes] == ["conv2d", "transpose"]


def test_transpose_of_a_2d_tensor(tmp_path):
    nodes = [
        helper.make_node("Gemm", ["x", "W"], ["g"], name="fc"),
        helper.make_node("Transpose", ["g"], ["y"], name="t"),
    ]
    proto = model(nodes, [tensor("x", [1, 4])], [tensor("y", [3, 1])], [const("W", rand(4, 3))])
    graph = _normalized_matches_ort(save(proto, tmp_path))
    assert graph.nodes[-1].attrs["perm"] == [3, 1, 2, 0]


@pytest.mark.parametrize(
    "starts,ends,axes,steps",
    [
        ([0], [2], [1], [1]),
        ([-1], [-(1 << 62)], [3], [-1]),
        ([1, 4], [3, 0], [2, 3], [1, -2]),
        ([0, 0, 0], [1, 5, 5], [0, 2, 3], [1, 2, 3]),
        ([-2], [100], [1], [1]),
    ],
)
def test_slice_any_axes_and_steps(tmp_path, starts, ends, axes, steps):
    def axis_slice(a):
        if a not in axes:
            return slice(None)
        k = axes.index(a)
        return slice(starts[k], ends[k], steps[k])

    ref = np.zeros((1, 3, 5, 5))[tuple(axis_slice(a) for a in range(4))]
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("Slice", ["c", "s", "e", "a", "st"], ["y"], name="cut"),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 2, 5, 5])],
        [tensor("y", list(ref.shape))],
        [const("W", rand(3, 2, 1, 1)), _ints("s", starts), _ints("e", ends), _ints("a", axes), _ints("st", steps)],
    )
    graph = _normalized_matches_ort(save(proto, tmp_path))
    assert graph.nodes[-1].op == "slice"


@pytest.mark.parametrize("opset,split", [(13, [1, 3]), (11, None), (18, None)])
def test_split_becomes_one_slice_per_output(tmp_path, opset, split):
    attrs = {"axis": 1} if split is not None or opset < 18 else {"axis": 1, "num_outputs": 2}
    inputs = ["c", "sizes"] if split is not None else ["c"]
    inits = [const("W", rand(4, 2, 1, 1))] + ([_ints("sizes", split)] if split is not None else [])
    sizes = split or [2, 2]
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("Split", inputs, ["p", "q"], name="split", **attrs),
        helper.make_node("Relu", ["q"], ["r"], name="relu"),
    ]
    outputs = [tensor("p", [1, sizes[0], 3, 3]), tensor("r", [1, sizes[1], 3, 3])]
    proto = model(nodes, [tensor("x", [1, 2, 3, 3])], outputs, inits, opset=opset)
    graph = _normalized_matches_ort(save(proto, tmp_path))
    assert sorted(n.op for n in graph.nodes).count("slice") == 2


@pytest.mark.parametrize(
    "in_shape,out_shape", [([1, 8, 3, 2], [1, 4, 6, 2]), ([1, 8, 3, 2], [1, 48]), ([1, 6, 2, 2], [1, 2, 4, 3])]
)
def test_reordering_reshape_runs_as_transpose_copy_transpose(tmp_path, in_shape, out_shape):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("Reshape", ["c", "shape"], ["y"], name="fold"),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 2, *in_shape[2:]])],
        [tensor("y", out_shape)],
        [const("W", rand(in_shape[1], 2, 1, 1)), _ints("shape", out_shape)],
    )
    graph = _normalized_matches_ort(save(proto, tmp_path))
    ops = [n.op for n in graph.nodes]
    assert ops[:3] == ["conv2d", "transpose", "copy"] and ops.count("transpose") == (2 if len(out_shape) == 4 else 1)


# ---- lowering -------------------------------------------------------------------------------------------------


def _only_layer(g: GraphBuilder, out: str):
    plan = lower(g.graph([out]), g.quant, RequantProfile(), NO_ARENA)
    assert len(plan.layers) == 1
    layer_struct(plan, 0)
    layer_arrays_for_c(plan.layers[0])
    return plan, plan.layers[0]


@pytest.mark.parametrize("bits", [8, 16])
def test_transpose_lowers_to_perm_and_keeps_quantization(bits):
    g = GraphBuilder(bits=bits)
    x = g.input("x", [1, 2, 3, 4], scale=0.05, zp=-7 if bits == 8 else 0)
    g.node("transpose", [x], "y", [1, 4, 2, 3], attrs={"perm": [0, 3, 1, 2]})
    plan, layer = _only_layer(g, "y")
    assert layer.params == {"perm": [0, 3, 1, 2]}
    assert (plan.tensors[1].scale, plan.tensors[1].zero_point) == (plan.tensors[0].scale, plan.tensors[0].zero_point)


@pytest.mark.parametrize("bits", [8, 16])
def test_slice_lowers_to_begin_stride_and_keeps_quantization(bits):
    g = GraphBuilder(bits=bits)
    x = g.input("x", [1, 5, 4, 3], scale=0.02, zp=5 if bits == 8 else 0)
    g.node("slice", [x], "y", [1, 2, 4, 1], attrs={"begin": [0, 4, 0, 2], "stride": [1, -3, 1, 1]})
    plan, layer = _only_layer(g, "y")
    assert layer.params == {"begin": [0, 4, 0, 2], "stride": [1, -3, 1, 1]}
    assert plan.tensors[1].zero_point == plan.tensors[0].zero_point


def test_inconsistent_movement_layers_are_model_errors():
    g = GraphBuilder()
    x = g.input("x", [1, 2, 3, 4], scale=0.05)
    g.node("transpose", [x], "y", [1, 2, 3, 4], attrs={"perm": [0, 2, 1, 3]})
    with pytest.raises(ModelError, match="layer 'y_node': transpose perm"):
        lower(g.graph(["y"]), g.quant, RequantProfile(), NO_ARENA)
    g = GraphBuilder()
    x = g.input("x", [1, 2, 3, 4], scale=0.05)
    g.node("slice", [x], "y", [1, 2, 3, 4], attrs={"begin": [0, 1, 0, 0], "stride": [1, 1, 1, 1]})
    with pytest.raises(ModelError, match="layer 'y_node': slice begin"):
        lower(g.graph(["y"]), g.quant, RequantProfile(), NO_ARENA)


# ---- front-end errors -----------------------------------------------------------------------------------------


def test_slice_with_computed_starts_is_one_error_line(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("ReduceMax", ["c"], ["m"], name="rmax", keepdims=0),
        helper.make_node("Cast", ["m"], ["starts"], name="cast", to=7),
        helper.make_node("Slice", ["c", "starts", "e"], ["y"], name="dynamic_cut"),
    ]
    proto = model(
        nodes, [tensor("x", [1, 2, 4, 4])], [tensor("y", [1, 2, 2, 4])], [const("W", rand(2, 2, 1, 1)), _ints("e", [2])]
    )
    path = save(proto, tmp_path)
    np.savez(tmp_path / "calib.npz", x=rand(4, 2, 4, 4))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fixpoint.cli",
            "-q",
            "calibrate",
            str(path),
            "--data",
            str(tmp_path / "calib.npz"),
            "-o",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in proc.stderr, proc.stderr
    assert "dynamic_cut" in lines[0] and "not constant" in lines[0]


# ---- resize -------------------------------------------------------------------------------------------------

RESIZE_CASES = [  # (mode, coordinate transform, nearest mode, scales or None, sizes or None)
    ("nearest", "asymmetric", "floor", [1, 1, 2, 2], None),
    ("nearest", "half_pixel", "round_prefer_floor", None, [1, 3, 7, 3]),
    ("nearest", "align_corners", "round_prefer_ceil", None, [1, 3, 9, 11]),
    ("nearest", "tf_half_pixel_for_nn", "floor", [1, 1, 0.5, 1.5], None),
    ("nearest", "pytorch_half_pixel", "ceil", None, [1, 3, 1, 9]),
    ("linear", "half_pixel", None, [1, 1, 2, 2], None),
    ("linear", "align_corners", None, None, [1, 3, 9, 7]),
    ("linear", "asymmetric", None, [1, 1, 0.5, 3], None),
    ("linear", "pytorch_half_pixel", None, None, [1, 3, 10, 1]),
]


def _resize_model(tmp_path, mode, coord, nearest, scales, sizes):
    out = sizes or [1, 3, int(5 * scales[2]), int(6 * scales[3])]
    attrs = {"mode": mode, "coordinate_transformation_mode": coord}
    if nearest:
        attrs["nearest_mode"] = nearest
    inits = [const("W", rand(3, 2, 1, 1)), const("roi", np.zeros(0, np.float32))]
    if scales is not None:
        inits.append(const("scales", np.asarray(scales, np.float32)))
        inputs = ["c", "roi", "scales"]
    else:
        inits.append(_ints("sizes", sizes))
        inputs = ["c", "roi", "", "sizes"]
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("Resize", inputs, ["y"], name="up", **attrs),
    ]
    return save(model(nodes, [tensor("x", [1, 2, 5, 6])], [tensor("y", out)], inits), tmp_path)


@pytest.mark.parametrize("case", RESIZE_CASES, ids=lambda c: "-".join(str(v) for v in c[:3]))
def test_resize_normalizes_to_onnx_semantics(tmp_path, case):
    mode, coord, nearest, scales, sizes = case
    path = _resize_model(tmp_path, mode, coord, nearest, scales, sizes)
    loaded = load_model(path)
    feeds = {"x": rand(1, 2, 5, 6)}
    graph = normalize(loaded)
    node = graph.nodes[-1]
    assert node.op == "resize" and node.attrs["method"] == ("nearest" if mode == "nearest" else "bilinear")
    ours = run_normalized(graph, feeds)["y"]
    theirs = ort_all_values(path, feeds, [])["y"]
    # nearest: a wrongly picked pixel would differ by O(1), far above the float32 conv noise
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("bits", [8, 16])
def test_resize_lowers_to_codes_and_keeps_quantization(bits):
    g = GraphBuilder(bits=bits)
    x = g.input("x", [1, 3, 4, 2], scale=0.03, zp=-2 if bits == 8 else 0)
    g.node(
        "resize",
        [x],
        "y",
        [1, 6, 8, 2],
        attrs={
            "method": "bilinear",
            "coord": "align_corners",
            "nearest_mode": "round_prefer_floor",
            "ratio_num": [2, 3],
            "ratio_den": [5, 7],
        },
    )
    plan, layer = _only_layer(g, "y")
    assert layer.params == {"method": 1, "coord": 2, "nearest_mode": 0, "ratio_num": [2, 3], "ratio_den": [5, 7]}
    assert (plan.tensors[1].scale, plan.tensors[1].zero_point) == (plan.tensors[0].scale, plan.tensors[0].zero_point)


def test_cubic_resize_is_one_error_line(tmp_path):
    path = _resize_model(tmp_path, "cubic", "half_pixel", None, [1, 1, 2, 2], None)
    np.savez(tmp_path / "calib.npz", x=rand(4, 2, 5, 6))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fixpoint.cli",
            "-q",
            "calibrate",
            str(path),
            "--data",
            str(tmp_path / "calib.npz"),
            "-o",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "up" in lines[0] and "mode=cubic" in lines[0]


# ---- pad reflect / edge ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["reflect", "edge"])
def test_pad_reflect_and_edge_normalize_to_onnx_semantics(tmp_path, mode):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("Pad", ["c", "pads"], ["y"], name="pad", mode=mode),
    ]
    pads = [0, 0, 2, 1, 0, 1, 1, 3]
    proto = model(
        nodes,
        [tensor("x", [1, 2, 4, 5])],
        [tensor("y", [1, 3, 7, 9])],
        [const("W", rand(3, 2, 1, 1)), _ints("pads", pads)],
    )
    graph = _normalized_matches_ort(save(proto, tmp_path))
    assert graph.nodes[-1].op == "pad" and graph.nodes[-1].attrs["mode"] == mode
    g = GraphBuilder()
    x = g.input("x", [1, 4, 5, 3], scale=0.05, zp=3)
    g.node(
        "pad",
        [x],
        "y",
        [1, 7, 9, 4],
        attrs={"pads_before": [0, 2, 1, 0], "pads_after": [0, 1, 3, 1], "value": 0.0, "mode": mode},
    )
    plan, layer = _only_layer(g, "y")
    assert layer.params["mode"] == {"reflect": 1, "edge": 2}[mode] and plan.tensors[1].zero_point == 3


def test_reflect_pad_beyond_the_dim_is_refused(tmp_path):
    nodes = [helper.make_node("Pad", ["x", "pads"], ["y"], name="too_far", mode="reflect")]
    proto = model(
        nodes, [tensor("x", [1, 2, 3, 3])], [tensor("y", [1, 2, 9, 3])], [_ints("pads", [0, 0, 3, 0, 0, 0, 3, 0])]
    )
    with pytest.raises(ModelError, match="too_far.*reflect pads reach beyond the dim"):
        normalize(load_model(save(proto, tmp_path)))


# ---- gather with constant indices -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "axis,indices,ops",
    [
        (1, [2], ["slice"]),
        (1, [4, 2, 0], ["slice"]),
        (3, [0, 1, 3, 2, -1], ["slice", "slice", "slice", "concat"]),
        (2, [1, 1, 1], ["slice", "slice", "slice", "concat"]),
        (-2, [3, 0], ["slice"]),
    ],
)
def test_gather_index_lists_become_slices(tmp_path, axis, indices, ops):
    shape = [1, 5, 4, 4]
    out = list(shape)
    out[axis] = len(indices)
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node("Gather", ["c", "idx"], ["y"], name="pick", axis=axis),
    ]
    proto = model(
        nodes, [tensor("x", [1, 2, 4, 4])], [tensor("y", out)], [const("W", rand(5, 2, 1, 1)), _ints("idx", indices)]
    )
    graph = _normalized_matches_ort(save(proto, tmp_path))
    assert sorted(n.op for n in graph.nodes[1:]) == sorted(ops)


def test_gather_scalar_index_drops_the_axis(tmp_path):
    nodes = [
        helper.make_node("Gemm", ["x", "W"], ["g"], name="fc"),
        helper.make_node("Unsqueeze", ["g", "axes"], ["u"], name="to3"),
        helper.make_node("Unsqueeze", ["u", "axes"], ["v"], name="to4"),
        helper.make_node("Gather", ["v", "idx"], ["y3"], name="pick", axis=3),
        helper.make_node("Flatten", ["y3"], ["y"], name="flat"),
    ]
    proto = model(
        nodes,
        [tensor("x", [1, 4])],
        [tensor("y", [1, 6])],
        [const("W", rand(4, 6)), _ints("axes", [2]), const("idx", np.array(0, np.int64))],
    )
    path = save(proto, tmp_path)
    graph = normalize(load_model(path))  # [1, 6, 1, 1] -> rank 3, stored row-major (tests/ranks)
    assert graph.nodes


def test_gather_with_too_many_runs_is_refused(tmp_path):
    nodes = [helper.make_node("Gather", ["x", "idx"], ["y"], name="scatter_pick", axis=3)]
    indices = [v for k in range(9) for v in (k, k + 10)]  # nine runs (k, k + 10)
    proto = model(nodes, [tensor("x", [1, 2, 2, 20])], [tensor("y", [1, 2, 2, 18])], [_ints("idx", indices)])
    with pytest.raises(ModelError, match="scatter_pick.*index runs"):
        normalize(load_model(save(proto, tmp_path)))


# ---- depth to space / space to depth ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op,mode,block",
    [("DepthToSpace", "DCR", 2), ("DepthToSpace", "CRD", 2), ("DepthToSpace", "DCR", 3), ("SpaceToDepth", None, 2)],
)
def test_depth_space_moves_match_onnx(tmp_path, op, mode, block):
    channels, hw = (3 * block * block, 3) if op == "DepthToSpace" else (3, 3 * block)
    out = [1, 3, 3 * block, 3 * block] if op == "DepthToSpace" else [1, 3 * block * block, 3, 3]
    attrs = {"blocksize": block, **({"mode": mode} if mode else {})}
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], name="conv"),
        helper.make_node(op, ["c"], ["y"], name="move", **attrs),
    ]
    proto = model(nodes, [tensor("x", [1, 2, hw, hw])], [tensor("y", out)], [const("W", rand(channels, 2, 1, 1))])
    graph = _normalized_matches_ort(save(proto, tmp_path))
    assert {n.op for n in graph.nodes[1:]} <= {"transpose", "copy"}
