"""A reference float executor for normalized graphs (numpy, NHWC).

It follows docs/normalized-ir.md literally, so comparing it with onnxruntime on
the original model checks the normalizer; calibration and debugging tools can
use it to see float values of the normalized graph. Accumulation is float64,
results are float32.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from fixpoint.iospec import row_major_shape
from fixpoint.ir import Graph, ModelError, Node
from fixpoint.ops import registry

Array = np.ndarray


def to_nhwc(array: Array, layout: str) -> Array:
    """An ONNX-layout array ("NCHW" / "NC" / "NCL" / "NHWC" / "ND:...") as 4-D NHWC."""
    if row_major_shape(layout) is not None:  # row-major storage: [N, 1, 1, size]
        return array.reshape(array.shape[0], 1, 1, -1)
    if layout == "NCHW":
        return array.transpose(0, 2, 3, 1)
    if layout == "NCL":
        return array.transpose(0, 2, 1)[:, None]
    if layout == "NC":
        return array.reshape(array.shape[0], 1, 1, array.shape[1])
    return array


def from_nhwc(array: Array, layout: str) -> Array:
    """A 4-D NHWC array back in its ONNX layout."""
    dims = row_major_shape(layout)
    if dims is not None:
        return array.reshape(array.shape[0], *dims)
    if layout == "NCHW":
        return array.transpose(0, 3, 1, 2)
    if layout == "NCL":
        return array[:, 0].transpose(0, 2, 1)
    if layout == "NC":
        return array.reshape(array.shape[0], array.shape[3])
    return array


def _act(y: Array, node: Node) -> Array:
    bounds = node.attrs.get("act_range")
    return y if bounds is None else np.clip(y, bounds[0], bounds[1])


def _padded(
    x: Array,
    pads: list[int],
    out_hw: list[int],
    window: list[int],
    strides: list[int],
    dilations: list[int],
    fill: float,
) -> Array:
    """x padded so every output window is in range (bottom/right follow the output dims)."""
    top, left = pads[0], pads[1]
    need_h = (out_hw[0] - 1) * strides[0] + (window[0] - 1) * dilations[0] + 1
    need_w = (out_hw[1] - 1) * strides[1] + (window[1] - 1) * dilations[1] + 1
    bottom = max(need_h - top - x.shape[1], 0)
    right = max(need_w - left - x.shape[2], 0)
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)


def _taps(xp: Array, out_hw: list[int], window: list[int], strides: list[int], dilations: list[int]):
    """Yield (kh, kw, strided input slice [N, OH, OW, C]) for every kernel tap."""
    for kh in range(window[0]):
        for kw in range(window[1]):
            h0, w0 = kh * dilations[0], kw * dilations[1]
            yield (
                kh,
                kw,
                xp[
                    :,
                    h0 : h0 + (out_hw[0] - 1) * strides[0] + 1 : strides[0],
                    w0 : w0 + (out_hw[1] - 1) * strides[1] + 1 : strides[1],
                    :,
                ],
            )


def _conv2d(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    data, weight, bias = x
    c_out, kh, kw, c_per_group = weight.shape
    groups = node.attrs["groups"]
    out_per_group = c_out // groups
    xp = _padded(
        data, node.attrs["pads"], out_shape[1:3], [kh, kw], node.attrs["strides"], node.attrs["dilations"], 0.0
    )
    y = np.zeros(out_shape, np.float64)
    taps = _taps(xp, out_shape[1:3], [kh, kw], node.attrs["strides"], node.attrs["dilations"])
    for i, j, tap in taps:
        for g in range(groups):
            outs = slice(g * out_per_group, (g + 1) * out_per_group)
            ins = tap[..., g * c_per_group : (g + 1) * c_per_group]
            y[..., outs] += ins @ weight[outs, i, j, :].T
    return _act(y + bias, node)


def _depthwise_conv2d(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    data, weight, bias = x
    _, kh, kw, _ = weight.shape
    xp = _padded(
        data, node.attrs["pads"], out_shape[1:3], [kh, kw], node.attrs["strides"], node.attrs["dilations"], 0.0
    )
    y = np.zeros(out_shape, np.float64)
    taps = _taps(xp, out_shape[1:3], [kh, kw], node.attrs["strides"], node.attrs["dilations"])
    for i, j, tap in taps:
        y += np.repeat(tap, node.attrs["depth_multiplier"], axis=3) * weight[0, i, j, :]
    return _act(y + bias, node)


def _fully_connected(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    data, weight, bias = x
    y = data.reshape(-1, weight.shape[1]) @ weight.T + bias  # rows: samples, or steps of a rank-3 input
    return _act(y.reshape(out_shape), node)


def _pool(node: Node, data: Array, out_shape: list[int], is_max: bool) -> Array:
    fill = -np.inf if is_max else 0.0
    args = (node.attrs["pads"], out_shape[1:3], node.attrs["kernel"], node.attrs["strides"], [1, 1])
    taps = [t for _, _, t in _taps(_padded(data, *args, fill), *args[1:])]
    if is_max:
        return np.max(taps, axis=0)
    counts = [t for _, _, t in _taps(_padded(np.ones_like(data[..., :1]), *args, 0.0), *args[1:])]
    return np.sum(taps, axis=0) / np.sum(counts, axis=0)  # padding taps excluded


def _softmax(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    axis = node.attrs.get("axis", 3)  # an NHWC axis or a list of consecutive ones
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    shifted = np.exp(x[0] - x[0].max(axis=axes, keepdims=True))
    return shifted / shifted.sum(axis=axes, keepdims=True)


def _leaky_relu(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    return _act(np.where(x[0] >= 0, x[0], node.attrs["alpha"] * x[0]), node)


def _pad(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    widths = list(zip(node.attrs["pads_before"], node.attrs["pads_after"]))
    mode = node.attrs.get("mode", "constant")  # hand-built graphs may omit it
    if mode != "constant":
        return np.pad(x[0], widths, mode=mode)
    return np.pad(x[0], widths, constant_values=node.attrs["value"])


def _add(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    s1, s2 = node.attrs.get("input_signs", (1, 1))  # Sub: a - b is signs (1, -1), c - x (-1, 1)
    return _act(s1 * x[0] + s2 * x[1], node)


def _mul(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    return x[0] * x[1]


def _max_pool(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    return _pool(node, x[0], out_shape, is_max=True)


def _avg_pool(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    return _pool(node, x[0], out_shape, is_max=False)


def _concat(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    return np.concatenate(x, axis=node.attrs["axis"])


def _copy(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    return x[0].reshape(out_shape)


def _transpose(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    return x[0].transpose(node.attrs["perm"])


def _slice(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    index = tuple(b + s * np.arange(n) for b, s, n in zip(node.attrs["begin"], node.attrs["stride"], out_shape))
    return x[0][np.ix_(*index)]


def _resize_axis(out_size: int, in_size: int, num: int, den: int, coord: str) -> tuple[Array, Array, Array]:
    """ONNX linear interpolation along one axis: (lower tap, upper tap, upper weight)."""
    x = np.arange(out_size, dtype=np.float64)
    ratio = num / den
    pos = (x + 0.5) * ratio - 0.5 if coord == "half_pixel" else x * ratio
    pos = np.clip(pos, 0, in_size - 1)
    lo = np.floor(pos).astype(np.int64)
    return lo, np.minimum(lo + 1, in_size - 1), pos - lo


def _resize(node: Node, x: list[Array], out_shape: list[int]) -> Array:
    from fixpoint.reference.movement import NEAREST_ROUNDINGS, RESIZE_COORDS, nearest_indices

    a = node.attrs
    coord = RESIZE_COORDS.index(a["coord"])
    if a["method"] == "nearest":
        rounding = NEAREST_ROUNDINGS.index(a["nearest_mode"])
        rows, cols = (
            nearest_indices(out_shape[k + 1], x[0].shape[k + 1], a["ratio_num"][k], a["ratio_den"][k], coord, rounding)
            for k in range(2)
        )
        return x[0][:, rows][:, :, cols]
    (y0, y1, wy), (x0, x1, wx) = (
        _resize_axis(out_shape[k + 1], x[0].shape[k + 1], a["ratio_num"][k], a["ratio_den"][k], a["coord"])
        for k in range(2)
    )
    wy, wx = wy[None, :, None, None], wx[None, None, :, None]
    top = x[0][:, y0][:, :, x0] * (1 - wx) + x[0][:, y0][:, :, x1] * wx
    bottom = x[0][:, y1][:, :, x0] * (1 - wx) + x[0][:, y1][:, :, x1] * wx
    return top * (1 - wy) + bottom * wy


Kernel = Callable[[Node, list[Array], list[int]], Array]

# runtime op key -> float kernel, from the registry rows' float_kernel.
KERNELS: dict[str, Kernel] = registry.runtime_refs("float_kernel")


def _feed(graph: Graph, inputs: dict[str, Array]) -> dict[str, Array]:
    env: dict[str, Array] = {}
    for name in graph.inputs:
        if name not in inputs:
            raise ModelError(f"missing input '{name}'")
        value = graph.values[name]
        array = to_nhwc(np.asarray(inputs[name], np.float64), value.source_layout)
        if list(array.shape) != value.shape:
            raise ModelError(
                f"input '{name}': shape {list(np.shape(inputs[name]))} does not match "
                f"the model ({value.source_layout} of NHWC {value.shape})"
            )
        env[name] = array
    return env


def run_normalized(graph: Graph, inputs: dict[str, Array]) -> dict[str, Array]:
    """Run a normalized graph in float.

    ``inputs`` maps each graph input name to an array in its ONNX layout (NCHW or
    NC). Returns every activation (inputs and node outputs) by name, float32, in
    its ONNX layout (``source_layout``), comparable with onnxruntime outputs.
    """
    env = _feed(graph, inputs)
    for node in graph.nodes:
        args = [env[n] if n in env else graph.values[n].data.astype(np.float64) for n in node.inputs]
        out = graph.values[node.outputs[0]]
        result = KERNELS[node.op](node, args, out.shape)
        if list(result.shape) != out.shape:
            raise AssertionError(f"{node.name} ({node.op}): produced {list(result.shape)}, expected {out.shape}")
        env[out.name] = result
    return {name: from_nhwc(array, graph.values[name].source_layout).astype(np.float32) for name, array in env.items()}
