"""Normalization of the attention ops: ``MatMul`` of two activations -> ``batch_matmul``,
``LayerNormalization`` -> ``layer_norm``; their float kernels on stored (NHWC) arrays.

Both ops keep the ONNX shapes they were written against (``a_shape`` / ``b_shape``, ``onnx_rank``)
because the stored layout of their tensors (NCHW, NC, NCL lifted at the front door, or row-major
``ND:``) is only known after plan_layout: :func:`onnx_strides` maps each ONNX axis to its stride in
the stored array, the one rule the float kernels and the lowering share.
"""

from __future__ import annotations

import numpy as np

from fixpoint.ir import Graph, Node, Value
from fixpoint.normalize.graph_edit import add_const, unique_name, unique_node_name

NCL = "NCL"  # fixpoint.frontend.lift_1d.LAYOUT (importing it from there would be a cycle)

__all__ = [
    "onnx_strides",
    "onnx_view",
    "matmul_out_shape",
    "float_batch_matmul",
    "float_layer_norm",
    "layer_norm_geometry",
    "to_batch_matmul",
    "_layer_norm",
    "operand_strides",
    "source_shape",
]


def _original_shape(graph: Graph, name: str) -> list[int]:
    """A value's ONNX shape, undoing the front door's (N, C, L) -> (N, C, 1, L) lift."""
    value = graph.values[name]
    shape = [int(d) for d in value.shape]
    if value.source_layout == NCL and len(shape) == 4:
        return [shape[0], shape[1], shape[3]]
    return shape


def _row_major(shape: list[int]) -> list[int]:
    out, step = [], 1
    for d in reversed(shape):
        out.append(step)
        step *= d
    return out[::-1]


def onnx_strides(stored: list[int] | tuple[int, ...], onnx_shape: list[int]) -> list[int]:
    """Element stride of each ONNX axis of a tensor stored as NHWC ``stored``.

    rank 2 "NC" [N, 1, 1, C]; rank 4 "NCHW" stored [N, H, W, C]; rank 3 either row-major
    [N, 1, 1, d1 * d2] ("ND:") or lifted "NCL" stored [N, 1, L, C] (told apart by the stored shape;
    for L = 1 both orders are the same bytes)."""
    n, h, w, c = (int(d) for d in stored)
    rank = len(onnx_shape)
    if rank == 2:
        return [h * w * c, 1]
    if rank == 4:
        return [h * w * c, 1, w * c, c]
    if rank == 3:
        if h == 1 and w == int(onnx_shape[2]) and c == int(onnx_shape[1]) and w != 1:
            return [w * c, 1, c]  # NCL: (N, C, L) stored [N, 1, L, C]
        return _row_major([int(d) for d in onnx_shape])
    raise ValueError(f"ONNX rank {rank} has no stored form here")


def onnx_view(stored: np.ndarray, onnx_shape: list[int]) -> np.ndarray:
    """The ONNX-layout view of a stored NHWC array."""
    strides = onnx_strides(stored.shape, onnx_shape)
    flat = np.ascontiguousarray(stored).reshape(-1)
    return np.lib.stride_tricks.as_strided(
        flat, shape=tuple(int(d) for d in onnx_shape), strides=tuple(s * flat.itemsize for s in strides)
    )


def matmul_out_shape(a_shape: list[int], b_shape: list[int]) -> list[int]:
    batch = np.broadcast_shapes(tuple(a_shape[:-2]), tuple(b_shape[:-2]))
    return [*batch, int(a_shape[-2]), int(b_shape[-1])]


def _store(onnx_array: np.ndarray, out_shape: list[int]) -> np.ndarray:
    """An ONNX-layout array written into a stored NHWC array of ``out_shape``."""
    out = np.zeros([int(d) for d in out_shape], dtype=np.float64)
    view = onnx_view(out, list(onnx_array.shape))
    np.copyto(np.lib.stride_tricks.as_strided(out.reshape(-1), view.shape, view.strides, writeable=True), onnx_array)
    return out


def source_shape(shape: list[int], perm: list[int] | None) -> list[int]:
    """The shape of the tensor an operand is ``transpose(source, perm)`` of (perm None: itself)."""
    if not perm:
        return list(shape)
    src = [0] * len(shape)
    for j, p in enumerate(perm):
        src[int(p)] = int(shape[j])
    return src


def operand_strides(stored, shape: list[int], perm: list[int] | None) -> list[int]:
    """Strides of each ONNX axis of an operand read from its stored source tensor (through ``perm``)."""
    src = onnx_strides(stored, source_shape(shape, perm))
    return [src[int(p)] for p in perm] if perm else src


def _operand(stored: np.ndarray, shape: list[int], perm: list[int] | None) -> np.ndarray:
    view = onnx_view(np.asarray(stored, dtype=np.float64), source_shape(shape, perm))
    return np.transpose(view, perm) if perm else view


def float_batch_matmul(node: Node, inputs: list[np.ndarray], out_shape: list[int]) -> np.ndarray:
    a = _operand(inputs[0], node.attrs["a_shape"], node.attrs.get("a_perm"))
    b = inputs[1] if np.ndim(inputs[1]) != 4 else _operand(inputs[1], node.attrs["b_shape"], node.attrs.get("b_perm"))
    return _store(np.matmul(a, b), out_shape)


def float_layer_norm(node: Node, inputs: list[np.ndarray], out_shape: list[int]) -> np.ndarray:
    x, gamma, beta = (np.asarray(v, dtype=np.float64) for v in inputs)
    outer, depth, inner = layer_norm_geometry(list(x.shape), int(node.attrs["onnx_rank"]), int(node.attrs["axis_size"]))
    v = x.reshape(outer, depth, inner)
    mean = v.mean(axis=1, keepdims=True)
    var = ((v - mean) ** 2).mean(axis=1, keepdims=True)
    y = (v - mean) / np.sqrt(var + float(node.attrs["epsilon"]))
    return (y * gamma.reshape(1, -1, 1) + beta.reshape(1, -1, 1)).reshape(x.shape)


def layer_norm_geometry(stored: list[int], onnx_rank: int, depth: int) -> tuple[int, int, int]:
    """(outer, depth, inner) of the last ONNX axis (``depth`` elements) in a stored NHWC tensor:
    rank 2 "NC" -> C (inner 1); rank 4 "NCHW" -> W (inner C); rank 3 lifted "NCL" [N, 1, L, C] -> W
    (inner C); row-major ("ND:", rank 3 / 5) -> the innermost elements (inner 1)."""
    n, h, w, c = (int(d) for d in stored)
    count = n * h * w * c
    if onnx_rank == 4 or (onnx_rank == 3 and h == 1 and w == depth and depth != 1):
        inner = c
    else:
        inner = 1
    if depth < 1 or count % (depth * inner):
        raise ValueError(f"a last axis of {depth} does not divide the stored shape {list(stored)}")
    return count // (depth * inner), depth, inner


# ---- front door and normalize ----------------------------------------------------


_UNLIFT = {0: 0, 1: 1, 3: 2}  # lifted (N, C, 1, L) axis -> (N, C, L) axis


def _fold_transpose(graph: Graph, node: Node, index: int, rank: int) -> list[int] | None:
    """When operand ``index`` is a transpose only this node reads, read its input through the
    permutation instead (strides, no copy): returns the ONNX perm, and rewires the input."""
    name = node.inputs[index]
    producer = graph.producer(name)
    if producer is None or producer.op != "transpose" or name in graph.outputs or len(graph.consumers(name)) != 1:
        return None
    perm = [int(p) for p in producer.attrs["perm"]]
    src = producer.inputs[0]
    if graph.values[src].source_layout == NCL and len(perm) == 4:  # lifted rank 3: drop the extent-1 axis
        if perm[2] != 2:
            return None
        perm = [_UNLIFT[p] for i, p in enumerate(perm) if i != 2]
    if len(perm) != rank or len(_original_shape(graph, src)) != rank:
        return None
    node.inputs[index] = src
    node.fused.append(producer.name)
    return perm


def to_batch_matmul(graph: Graph, node: Node) -> None:
    """MatMul -> batch_matmul with the operands' ONNX shapes; a Transpose feeding an operand (and
    nothing else) is folded into its strides (at the front door, or here when it is a runtime
    transpose by now). A constant B stays a constant input (its ONNX shape)."""
    shapes = [
        [int(d) for d in (node.attrs.get(key) or _original_shape(graph, node.inputs[i]))]
        for i, key in enumerate(("a_shape", "b_shape"))
    ]
    perms = [
        node.attrs.get(f"{key}_perm") or _fold_transpose(graph, node, i, len(shapes[i]))
        for i, key in enumerate(("a", "b"))
    ]
    node.op = "batch_matmul"
    node.attrs = {"a_shape": shapes[0], "b_shape": shapes[1], "a_perm": perms[0], "b_perm": perms[1]}


def row_major_softmax(graph: Graph, node: Node) -> None:
    """Softmax over the last axis of a row-major (rank-3 / rank-5) tensor: a copy views its bytes as
    the ONNX rank-4 [N, T, 1, R] (stored [N, 1, R, T]: the same bytes), softmax over ONNX axis 1 (the
    stored C axis, T elements), a copy views the result as the row-major output again."""
    shape = [int(d) for d in graph.values[node.inputs[0]].shape]
    rows = int(np.prod(shape[1:-1], dtype=np.int64))
    grouped = [shape[0], shape[-1], 1, rows]
    src, dst = node.inputs[0], node.outputs[0]
    staged = []
    for hint in (f"{src}.rows", f"{dst}.rows"):
        name = unique_name(graph, hint)
        graph.values[name] = Value(name, list(grouped))
        staged.append(name)
    position = graph.nodes.index(node)
    graph.nodes.insert(position, Node(unique_node_name(graph, f"{node.name}.rows"), "copy", [src], [staged[0]]))
    node.inputs, node.outputs, node.attrs = [staged[0]], [staged[1]], {"axis": [1]}
    graph.nodes.insert(position + 2, Node(unique_node_name(graph, f"{node.name}.unrows"), "copy", [staged[1]], [dst]))


def _layer_norm(graph: Graph, node: Node) -> None:
    x = graph.values[node.inputs[0]]
    depth = int(x.shape[-1])
    gamma = np.broadcast_to(graph.values[node.inputs[1]].data.astype(np.float32).ravel(), (depth,))
    bias = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else ""
    beta = (
        np.zeros(depth, np.float32)
        if not bias
        else np.broadcast_to(graph.values[bias].data.astype(np.float32).ravel(), (depth,))
    )
    rank = len(_original_shape(graph, node.inputs[0]))
    node.op = "layer_norm"
    node.inputs = [
        node.inputs[0],
        add_const(graph, f"{node.name}.gamma", np.ascontiguousarray(gamma)),
        add_const(graph, f"{node.name}.beta", np.ascontiguousarray(beta)),
    ]
    node.outputs = node.outputs[:1]
    node.attrs = {"epsilon": float(node.attrs.get("epsilon", 1e-5)), "onnx_rank": rank, "axis_size": depth}
