"""The ONNX op table: which ONNX ops the front end accepts, and under which conditions.

One row (:class:`OnnxOpSpec`) per ONNX op type. Each row's ``check`` is a small
function ``check(node, graph) -> str | None`` over an ONNX-stage graph
(``fixpoint.ir.Graph`` with ``stage == "onnx"``): it returns ``None`` when the
node is supported, otherwise a short description of what is wrong. Its docstring
is the rule itself: it is appended to the error message and is the line printed
in ``docs/supported-ops.md`` (``python -m fixpoint.ops.docs``).

Besides the table, any node whose inputs are all constant (or ``Shape`` of a
tensor with a static shape) is accepted and folded into a constant by the
normalizer, whatever its op type (see :func:`static_value_names`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from fixpoint.ir import Graph, Node
from fixpoint.ops.onnx_shape_checks import (
    axis_problem,
    batchnorm_params_problem,
    conv_transpose_pads_problem,
    conv_shapes_problem,
    pool_window_problem,
    window_problem,
)

CheckFn = Callable[[Node, Graph], "str | None"]

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
MAX_CONCAT_INPUTS = 8  # fp_concat_params_t holds 8 inputs


@dataclass(frozen=True)
class OnnxOpSpec:
    """One supported ONNX op type."""

    op_type: str
    check: CheckFn
    summary: str  # the check's docstring: the rule, for errors and docs
    becomes: str  # what the normalizer turns it into (docs only)

    def reason(self, node: Node, graph: Graph) -> str | None:
        """Error text for an unsupported use of this op, or None when supported."""
        detail = self.check(node, graph)
        if detail is None:
            return None
        return f"{detail} (supported: {self.rule})"

    @property
    def rule(self) -> str:
        """The summary without its "OpType:" prefix and final period."""
        return self.summary.split(":", 1)[-1].strip().rstrip(".")


# --------------------------------------------------------------------------- helpers


def attr(node: Node, name: str, default: Any = None) -> Any:
    """An attribute of an ONNX-stage node, or ``default``."""
    return node.attrs.get(name, default)


def input_name(node: Node, index: int) -> str:
    """The node's ``index``-th input, or "" when omitted (ONNX optional input)."""
    return node.inputs[index] if index < len(node.inputs) else ""


def const_data(graph: Graph, name: str) -> np.ndarray | None:
    """The constant data behind ``name`` (None for activations and omitted inputs)."""
    value = graph.values.get(name) if name else None
    return value.data if value is not None else None


def static_value_names(graph: Graph) -> set[str]:
    """Names whose value is known before running the model.

    Constants, outputs of ``Shape`` on a tensor with a static shape (every shape is
    static after loading) and outputs of nodes whose inputs are all static: those
    are folded by the normalizer, so no support check applies to them.
    """
    static = {name for name, value in graph.values.items() if value.is_const}
    for node in graph.nodes:
        real_inputs = [i for i in node.inputs if i]
        if node.op == "Shape" or (real_inputs and all(i in static for i in real_inputs)):
            static.update(o for o in node.outputs if o)
    return static


def _is_static(graph: Graph, name: str) -> bool:
    return not name or name in static_value_names(graph)


def _rank(graph: Graph, name: str) -> int:
    return len(graph.values[name].shape)


def _output_used(graph: Graph, name: str) -> bool:
    return bool(name) and (name in graph.outputs or bool(graph.consumers(name)))


def _extra_outputs_used(node: Node, graph: Graph) -> bool:
    return any(_output_used(graph, o) for o in node.outputs[1:])


def _ones(values: Any) -> bool:
    return values is None or all(int(v) == 1 for v in values)


def _producer_through_identity(graph: Graph, name: str) -> tuple[Node | None, bool]:
    """(producer skipping Identity/Dropout, whether every hop had a single consumer)."""
    single = True
    while True:
        single = single and len(graph.consumers(name)) == 1 and name not in graph.outputs
        node = graph.producer(name)
        if node is None or node.op not in ("Identity", "Dropout"):
            return node, single
        name = node.inputs[0]


# --------------------------------------------------------------------------- checks


def _conv_check(node: Node, graph: Graph) -> str | None:
    """Conv: 2-D (4-D tensors), constant weights and bias, any group dividing C_in and C_out,
    strides, dilations, explicit pads or auto_pad NOTSET/SAME_UPPER/SAME_LOWER/VALID (SAME only
    without dilation)."""
    if _rank(graph, node.inputs[0]) != 4:
        return f"{_rank(graph, node.inputs[0]) - 2}-D convolution"
    if not _is_static(graph, node.inputs[1]) or not _is_static(graph, input_name(node, 2)):
        return "weights or bias are not constant"
    auto_pad = attr(node, "auto_pad", "NOTSET")
    if auto_pad not in AUTO_PADS:
        return f"auto_pad={auto_pad}"
    if auto_pad.startswith("SAME") and not _ones(attr(node, "dilations")):
        return f"auto_pad={auto_pad} with dilations {attr(node, 'dilations')} (onnxruntime cannot run it)"
    weight_shape = graph.values[node.inputs[1]].shape
    return conv_shapes_problem(node, graph) or window_problem(node, graph, weight_shape[2:])


def _gemm_check(node: Node, graph: Graph) -> str | None:
    """Gemm: 2-D activation A with transA=0, constant B (transB 0 or 1), optional constant C of N or
    1 elements, alpha and beta absorbed."""
    if int(attr(node, "transA", 0)) != 0:
        return f"transA={attr(node, 'transA')}"
    if _is_static(graph, node.inputs[0]) or not _is_static(graph, node.inputs[1]):
        return "A must be an activation and B a constant"
    bias = input_name(node, 2)
    if not _is_static(graph, bias):
        return "C is not constant"
    trans_b = attr(node, "transB", 0)
    if trans_b not in (0, 1):
        return f"transB={trans_b}"
    a_shape, b_shape = graph.values[node.inputs[0]].shape, graph.values[node.inputs[1]].shape
    if len(a_shape) != 2 or len(b_shape) != 2:
        return f"A of shape {a_shape} and B of shape {b_shape} are not both 2-D"
    if a_shape[1] != b_shape[trans_b]:
        return f"A of shape {a_shape} does not match B of shape {b_shape} (transB={trans_b})"
    n_out = b_shape[0] if trans_b else b_shape[-1]
    if bias and int(np.prod(graph.values[bias].shape)) not in (1, n_out):
        return f"C of shape {graph.values[bias].shape} is not a per-output vector"
    return None


def _matmul_check(node: Node, graph: Graph) -> str | None:
    """MatMul: 2-D activation, or a rank-3 one [N, T, depth] (one row per step), times a constant 2-D matrix."""
    a, b = node.inputs[0], node.inputs[1]
    if _is_static(graph, a) or not _is_static(graph, b):
        return "second input must be a constant and the first an activation"
    if _rank(graph, a) not in (2, 3) or _rank(graph, b) != 2:
        return f"ranks {_rank(graph, a)} and {_rank(graph, b)}"
    if graph.values[a].shape[-1] != graph.values[b].shape[0]:
        return f"shapes {graph.values[a].shape} and {graph.values[b].shape} do not match"
    return None


def _bias_add_source(graph: Graph, add: Node) -> tuple[Node | None, bool]:
    """For ``Add(MatMul(x), const)``: the MatMul/Gemm behind it (a bias the FC absorbs)."""
    activations = [i for i in add.inputs if not _is_static(graph, i)]
    if len(activations) != 1:
        return None, False
    producer, single = _producer_through_identity(graph, activations[0])
    if producer is None or producer.op not in ("Gemm", "MatMul"):
        return None, False
    return producer, single


def _weight_op_types() -> set[str]:
    """ONNX op types that become a runtime op with weights (a BatchNormalization folds into them)."""
    from fixpoint.ops.registry import ONNX_ROWS, RUNTIME_ROWS

    return {t for t, row in ONNX_ROWS.items() if any(RUNTIME_ROWS[k].has_weights for k in row.runtime_ops)}


def _batchnorm_check(node: Node, graph: Graph) -> str | None:
    """BatchNormalization: inference mode, constant parameters, directly after a Conv,
    ConvTranspose, Gemm or MatMul (plus constant bias Add) whose output it alone consumes (folded
    into its weights)."""
    if int(attr(node, "training_mode", 0)) or _extra_outputs_used(node, graph):
        return "training mode"
    if not all(_is_static(graph, name) for name in node.inputs[1:5]):
        return "parameters are not constant"
    problem = batchnorm_params_problem(node, graph)
    if problem:
        return problem
    producer, single = _producer_through_identity(graph, node.inputs[0])
    if producer is not None and producer.op == "Add":
        source, source_single = _bias_add_source(graph, producer)
        if source is not None:
            producer, single = source, single and source_single
    if producer is None or producer.op not in _weight_op_types():
        return f"input comes from {producer.op if producer else 'a graph input'}"
    if not single:
        return f"output of {producer.name} has other consumers"
    return None


def _relu_check(node: Node, graph: Graph) -> str | None:
    """Relu: fused into the producing conv / fully connected / add / leaky relu, otherwise a
    leaky_relu with alpha 0."""
    return None


def _clip_check(node: Node, graph: Graph) -> str | None:
    """Clip: constant min/max (attributes before opset 11, inputs from 11), fused like Relu,
    otherwise a clamping leaky_relu."""
    if not all(_is_static(graph, name) for name in node.inputs[1:3]):
        return "min or max is not constant"
    return None


def _leaky_relu_check(node: Node, graph: Graph) -> str | None:
    """LeakyRelu: any alpha."""
    return None


def _elementwise_check(node: Node, graph: Graph) -> str | None:
    """Add / Mul: activations of rank 2 or 4 with numpy broadcasting, or of rank 3 or 5 of one shape,
    or an activation and a constant that does not enlarge it."""
    a, b = node.inputs[0], node.inputs[1]
    acts = [n for n in (a, b) if not _is_static(graph, n)]
    ranks = {_rank(graph, n) for n in acts}
    if not ranks <= {2, 3, 4, 5} or len(ranks) != 1:
        return f"activation ranks {sorted(ranks)}"
    if len(acts) == 2 and ranks <= {3, 5} and graph.values[a].shape != graph.values[b].shape:
        return f"rank-{_rank(graph, a)} activations of shapes {graph.values[a].shape} and {graph.values[b].shape}"
    if len(acts) == 1:
        const = b if acts[0] == a else a
        act_shape = graph.values[acts[0]].shape
        const_shape = graph.values[const].shape
        if len(const_shape) > len(act_shape) or list(np.broadcast_shapes(act_shape, const_shape)) != act_shape:
            return f"constant of shape {const_shape} broadcasts the activation {act_shape}"
    return None


def _sub_div_check(node: Node, graph: Graph) -> str | None:
    """Sub / Div: an activation minus / divided by a constant that does not enlarge it (becomes add
    of the negated constant / mul by the reciprocal)."""
    if _is_static(graph, node.inputs[0]) or not _is_static(graph, node.inputs[1]):
        return "the second operand must be a constant and the first an activation"
    if (
        node.op == "Div"
        and const_data(graph, node.inputs[1]) is not None
        and np.any(const_data(graph, node.inputs[1]) == 0)
    ):
        return "division by zero"
    return _elementwise_check(node, graph)


def _concat_check(node: Node, graph: Graph) -> str | None:
    """Concat: 1 to 8 activation inputs of rank 2 or 4, no constant inputs."""
    if len(node.inputs) > MAX_CONCAT_INPUTS:
        return f"{len(node.inputs)} inputs"
    if any(_is_static(graph, name) for name in node.inputs):
        return "constant input"
    if _rank(graph, node.inputs[0]) not in (2, 4):
        return f"rank {_rank(graph, node.inputs[0])}"
    return axis_problem(attr(node, "axis"), _rank(graph, node.inputs[0]))


def _ceil_mode_sizes(node: Node, graph: Graph) -> tuple[list[int], list[int]]:
    """(output H, W from shape inference, output H, W as onnxruntime computes them).

    With ceil_mode=1 onnxruntime (like PyTorch) drops a last window that would
    start in the end padding; ONNX shape inference only does so from opset 22.
    """
    in_hw = graph.values[node.inputs[0]].shape[2:]
    inferred = graph.values[node.outputs[0]].shape[2:]
    kernel, strides = attr(node, "kernel_shape"), attr(node, "strides", [1, 1])
    pads = attr(node, "pads", [0, 0, 0, 0])
    runtime = []
    for axis in range(2):
        span = in_hw[axis] + pads[axis] + pads[axis + 2] - kernel[axis]
        size = -(-span // strides[axis]) + 1
        if (size - 1) * strides[axis] >= in_hw[axis] + pads[axis]:
            size -= 1
        runtime.append(size)
    return list(inferred), runtime


def _pool_common(node: Node, graph: Graph) -> str | None:
    if _rank(graph, node.inputs[0]) != 4:
        return f"{_rank(graph, node.inputs[0]) - 2}-D pooling"
    if not _ones(attr(node, "dilations")):
        return f"dilations={attr(node, 'dilations')}"
    if attr(node, "auto_pad", "NOTSET") not in AUTO_PADS:
        return f"auto_pad={attr(node, 'auto_pad')}"
    problem = pool_window_problem(node, graph)
    if problem:
        return problem
    if int(attr(node, "ceil_mode", 0)) and attr(node, "auto_pad", "NOTSET") == "NOTSET":
        inferred, runtime = _ceil_mode_sizes(node, graph)
        if inferred != runtime:
            return (
                f"ceil_mode=1 with a last window starting in the padding: ONNX shape inference "
                f"gives H, W {inferred}, onnxruntime {runtime} (export with opset >= 22)"
            )
    return None


def _max_pool_check(node: Node, graph: Graph) -> str | None:
    """MaxPool: 2-D, no dilation, explicit pads or any auto_pad, ceil_mode 0 or 1 (before opset 22
    no last window starting in the padding), Indices output unused."""
    if _extra_outputs_used(node, graph):
        return "Indices output is used"
    return _pool_common(node, graph)


def _avg_pool_check(node: Node, graph: Graph) -> str | None:
    """AveragePool: 2-D, no dilation, count_include_pad=0 (or no padding at all), ceil_mode 0 or 1
    (before opset 22 no last window starting in the padding)."""
    problem = _pool_common(node, graph)
    if problem:
        return problem
    include_pad = int(attr(node, "count_include_pad", 0))
    padded = (
        any(int(p) for p in attr(node, "pads", []) or [])
        or attr(node, "auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER")
        or int(attr(node, "ceil_mode", 0))
    )
    if include_pad and padded:
        return "count_include_pad=1 with padding"
    return None


def _global_pool_check(node: Node, graph: Graph) -> str | None:
    """GlobalAveragePool / GlobalMaxPool: 4-D input."""
    if _rank(graph, node.inputs[0]) != 4:
        return f"rank {_rank(graph, node.inputs[0])} input"
    return None


def _reshape_check(node: Node, graph: Graph) -> str | None:
    """Reshape / Flatten / Squeeze / Unsqueeze: constant shape or axes, between 2-D or 4-D
    tensors (layout-neutral ones are free, an NCHW tensor flattened into a fully connected layer
    permutes its weights, any other runs as transpose + copy + transpose)."""
    if not all(_is_static(graph, name) for name in node.inputs[1:]):
        return "shape or axes are not constant"
    if node.op == "Flatten":
        return axis_problem(attr(node, "axis", 1), _rank(graph, node.inputs[0]), inclusive_end=True)
    return None


def _pad_check(node: Node, graph: Graph) -> str | None:
    """Pad: mode constant, reflect (pads below the padded dim), edge or wrap (opset 19), constant
    non-negative pads, constant value, 2-D or 4-D input."""
    mode = attr(node, "mode", "constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode not in ("constant", "reflect", "edge", "wrap"):
        return f"mode={mode}"
    if not all(_is_static(graph, name) for name in node.inputs[1:]):
        return "pads, value or axes are not constant"
    if _rank(graph, node.inputs[0]) not in (2, 4):
        return f"rank {_rank(graph, node.inputs[0])} input"
    pads = attr(node, "pads") if len(node.inputs) < 2 else const_data(graph, node.inputs[1])
    if pads is not None and np.any(np.asarray(pads) < 0):
        return "negative pads (cropping)"
    axes = const_data(graph, input_name(node, 3))
    padded = _rank(graph, node.inputs[0]) if axes is None else np.asarray(axes).size
    if pads is not None and np.asarray(pads).size != 2 * padded:
        return f"{np.asarray(pads).size} pads for {padded} axes"
    if mode == "reflect" and pads is not None:
        shape = graph.values[node.inputs[0]].shape
        dims = [shape[int(a) % len(shape)] for a in np.asarray(axes).ravel()] if axes is not None else shape
        if any(p > d - 1 for p, d in zip(np.asarray(pads).ravel(), list(dims) * 2)):
            return "reflect pads reach beyond the dim"
    return None


def _conv_transpose_check(node: Node, graph: Graph) -> str | None:
    """ConvTranspose: 2-D (4-D tensors), constant weights and bias, any group dividing C_in (group =
    C_in: depthwise), strides, dilations, output_padding, explicit pads or auto_pad (NOTSET, VALID,
    SAME_UPPER, SAME_LOWER) or the output_shape attribute (pads generated as ONNX specifies)."""
    if _rank(graph, node.inputs[0]) != 4:
        return f"{_rank(graph, node.inputs[0]) - 2}-D transposed convolution"
    if not _is_static(graph, node.inputs[1]) or not _is_static(graph, input_name(node, 2)):
        return "weights or bias are not constant"
    group = attr(node, "group", 1)
    c_in, w_shape = graph.values[node.inputs[0]].shape[1], graph.values[node.inputs[1]].shape
    if not isinstance(group, int) or group < 1 or c_in % group or len(w_shape) != 4 or w_shape[0] != c_in:
        return f"group={group} with {c_in} input channels and weight {list(w_shape)} ([C_in, C_out / group, KH, KW])"
    return conv_transpose_pads_problem(node, graph)


def softmax_onnx_axes(node: Node, graph: Graph) -> list[int]:
    """The ONNX axes a Softmax normalizes over: opset 13+ one axis (default -1); before, every
    axis from ``axis`` (default 1) on (the input is coerced to 2-D there)."""
    rank = _rank(graph, node.inputs[0])
    axis = int(attr(node, "axis", -1 if graph.opset >= 13 else 1)) % rank
    return [axis] if graph.opset >= 13 else list(range(axis, rank))


def _softmax_check(node: Node, graph: Graph) -> str | None:
    """Softmax: any axis but the batch axis of a 2-D, 3-D (N, C, L) or 4-D tensor (before opset 13
    over the flattened axes from ``axis`` on), or the last axis of any other rank-3 or rank-5 tensor."""
    rank = _rank(graph, node.inputs[0])
    default_axis = 1 if graph.opset < 13 else -1
    problem = axis_problem(attr(node, "axis", default_axis), rank)
    if problem:
        return problem
    if rank in (3, 5) and softmax_onnx_axes(node, graph) == [rank - 1]:
        return None  # row-major storage: rows of the last axis (fixpoint.normalize.attention_ops)
    if rank not in (2, 4):
        return f"rank-{rank} tensor"
    if 0 in softmax_onnx_axes(node, graph):
        return f"axis {attr(node, 'axis', default_axis)} is the batch axis"
    return None


def reduce_axes(node: Node, graph: Graph) -> list[int] | None:
    """The node's reduced axes, sorted and non-negative; None when they are not constant.

    Axes come from the ``axes`` attribute (ReduceMean/Max/Sum before opset 18,
    ReduceSum from 13 on takes the input) or the second input. No axes: every
    axis, or none with ``noop_with_empty_axes=1``.
    """
    rank = _rank(graph, node.inputs[0])
    axes_input = input_name(node, 1)
    if axes_input:
        data = const_data(graph, axes_input)
        if data is None:
            return None
        axes = [int(a) for a in np.asarray(data).ravel()]
    else:
        axes = [int(a) for a in attr(node, "axes", []) or []]
    if not axes:
        return [] if int(attr(node, "noop_with_empty_axes", 0)) else list(range(rank))
    # an axis out of range stays as given (outside [0, rank)): the check reports it
    return sorted({a % rank if -rank <= a < rank else a for a in axes})


def _reduce_check(node: Node, graph: Graph) -> str | None:
    """ReduceMean / ReduceMax / ReduceSum: 2-D, 3-D or 4-D input, constant axes (attribute or input,
    negative allowed, empty = all or none with noop_with_empty_axes), not the batch axis, keepdims 1,
    or 0 when nothing moves in the NHWC layout (a reduce over H and W to [N, C], or over axis 1 of a
    rank-3 input [N, T, C], which is the only reduce of a rank-3 input)."""
    rank = _rank(graph, node.inputs[0])
    if rank not in (2, 3, 4):
        return f"rank {rank} input"
    if input_name(node, 1) and not _is_static(graph, input_name(node, 1)):
        return "axes are not constant"
    axes = reduce_axes(node, graph)
    if axes is None:
        return "axes are not constant"
    if axes and (axes[0] < 0 or axes[-1] >= rank):
        return f"axes {attr(node, 'axes', None)} out of range for a rank-{rank} tensor"
    if 0 in axes and graph.values[node.inputs[0]].shape[0] != 1:
        return "reduces the batch axis"
    shape = graph.values[node.inputs[0]].shape
    if rank == 3 and (axes != [1] or int(attr(node, "keepdims", 1))):
        return f"axes {axes} of a rank-3 tensor (only axis 1 with keepdims 0: a mean over time to [N, C])"
    squeezes_to_nc = rank == 3 or (rank == 4 and 1 not in axes and all(a in axes or shape[a] == 1 for a in (2, 3)))
    if not int(attr(node, "keepdims", 1)) and axes and not squeezes_to_nc:
        return f"keepdims=0 over axes {axes} of a rank-{rank} tensor (only a reduce over H, W to [N, C])"
    return None


def _identity_check(node: Node, graph: Graph) -> str | None:
    """Identity: always (removed)."""
    return None


def _dropout_check(node: Node, graph: Graph) -> str | None:
    """Dropout: inference only (training_mode absent or constant false), mask output unused
    (removed)."""
    if _extra_outputs_used(node, graph):
        return "mask output is used"
    training = input_name(node, 2)
    if training and (const_data(graph, training) is None or bool(const_data(graph, training))):
        return "training_mode is not a constant false"
    return None


def _constant_check(node: Node, graph: Graph) -> str | None:
    """Constant: a numeric value (value, value_float(s), value_int(s)), becomes a constant."""
    return "non-numeric or sparse value"  # numeric Constants never reach the checks


def _shape_check(node: Node, graph: Graph) -> str | None:
    """Shape: of any tensor (all shapes are static), folded into a constant together with the
    arithmetic on it."""
    return None


def _spec(op_type: str, check: CheckFn, becomes: str) -> OnnxOpSpec:
    return OnnxOpSpec(op_type, check, " ".join((check.__doc__ or "").split()), becomes)


def _renamed(check: CheckFn, op_type: str) -> CheckFn:
    """A shared check whose docstring names ``op_type`` instead of the group."""

    def wrapped(node: Node, graph: Graph) -> str | None:
        return check(node, graph)

    rule = (check.__doc__ or "").split(":", 1)[-1]
    wrapped.__doc__ = f"{op_type}:{rule}"
    wrapped.__name__ = f"_{op_type.lower()}_check"
    return wrapped


def _named_for(check: CheckFn, op_type: str) -> CheckFn:
    """``check`` itself when its docstring starts with "OpType:", else renamed (shared checks
    document a group, e.g. "Add / Mul: ...")."""
    named = (check.__doc__ or "").split(":", 1)[0].strip() == op_type
    return check if named else _renamed(check, op_type)


def _from_registry() -> dict[str, OnnxOpSpec]:
    # Imported here: the registry's rows reference the checks above by name.
    from fixpoint.ops.registry import ONNX_ROWS, resolve

    return {
        op_type: _spec(op_type, _named_for(resolve(row.check), op_type), row.becomes)
        for op_type, row in ONNX_ROWS.items()
    }


# The rows are in fixpoint/ops/defs/ (one module per op family).
ONNX_OPS: dict[str, OnnxOpSpec] = _from_registry()
