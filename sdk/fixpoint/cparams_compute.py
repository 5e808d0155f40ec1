"""C field values of the compute layers: convolutions, fully connected, add / mul, pools, softmax, reduce,
leaky relu (see :mod:`fixpoint.cparams` for the conventions; the registry rows in fixpoint/ops/defs/ name
these builders)."""

from __future__ import annotations

from typing import Any

from .cparams import REQUIRED, ArrayRef, CParamsError, OpContext, _count, dims
from .reference.reduce import KINDS as REDUCE_KINDS, reduced_axes

__all__ = [
    "conv_common",
    "conv2d_params",
    "transpose_conv2d_params",
    "depthwise_conv2d_params",
    "with_tail",
    "fully_connected_params",
    "binary_params",
    "add_params",
    "mul_params",
    "pool_params",
    "softmax_geometry",
    "softmax_params",
    "reduce_params",
    "leaky_relu_params",
]


def conv_common(c: OpContext, filter_shape) -> dict[str, Any]:
    return {
        "input": dims(c.in_shapes[0]),
        "filter": dims(filter_shape),
        "output": dims(c.out_shape),
        "stride_h": c.scalar("stride_h", 1),
        "stride_w": c.scalar("stride_w", 1),
        "dilation_h": c.scalar("dilation_h", 1),
        "dilation_w": c.scalar("dilation_w", 1),
        "pad_top": c.scalar("pad_top", 0),
        "pad_left": c.scalar("pad_left", 0),
    }


def conv2d_params(c: OpContext) -> dict[str, Any]:
    fields = conv_common(c, c.array("weights", ndim=4).shape)
    fields["groups"] = c.scalar("groups", 1)
    return with_tail(c, fields)


def transpose_conv2d_params(c: OpContext) -> dict[str, Any]:
    fields = conv_common(c, c.array("weights", ndim=4).shape)
    fields["groups"] = c.scalar("groups", 1)
    return with_tail(c, fields)


def depthwise_conv2d_params(c: OpContext) -> dict[str, Any]:
    weights = c.array("weights", ndim=4)
    fields = conv_common(c, weights.shape)
    c_in, c_out = c.in_shapes[0][3], weights.shape[3]
    if c_in <= 0 or c_out % c_in:
        raise CParamsError(f"depthwise filter channels {c_out} are not a multiple of input channels {c_in}")
    fields["depth_multiplier"] = c.derived("depth_multiplier", c_out // c_in)
    return with_tail(c, fields)


def with_tail(c: OpContext, fields: dict[str, Any]) -> dict[str, Any]:
    fields.update(input_offset=c.offset("input_offset"), output_offset=c.offset("output_offset"))
    fields.update(c.act_range())
    fields["requant"] = c.requant()
    return fields


def fully_connected_params(c: OpContext) -> dict[str, Any]:
    out_channels, depth = c.array("weights", ndim=2).shape
    in_count = _count(c.in_shapes[0])
    if depth <= 0 or in_count % depth:
        raise CParamsError(f"input of {in_count} elements is not a multiple of the filter depth {depth}")
    batches = in_count // depth
    if _count(c.out_shape) != batches * out_channels:
        raise CParamsError(
            f"output of {_count(c.out_shape)} elements, expected batches {batches} x out_channels {out_channels}"
        )
    fields = {
        "batches": c.derived("batches", batches),
        "depth": c.derived("depth", int(depth)),
        "out_channels": c.derived("out_channels", int(out_channels)),
        "input_offset": c.offset("input_offset"),
        "filter_offset": c.scalar("filter_offset", 0),
        "output_offset": c.offset("output_offset"),
    }
    fields.update(c.act_range())
    fields["requant"] = c.requant()
    return fields


def binary_params(c: OpContext, scales: tuple[str, ...], extra: tuple[str, ...]) -> dict[str, Any]:
    # A constant second operand is the array 'weights' (activation type, 4-D NHWC).
    input2 = c.in_shapes[1] if len(c.in_shapes) == 2 else c.array("weights", ndim=4).shape
    fields = {
        "input1": dims(c.in_shapes[0]),
        "input2": dims(input2),
        "output": dims(c.out_shape),
        "input1_offset": c.offset("input1_offset"),
        "input2_offset": c.offset("input2_offset"),
        "output_offset": c.offset("output_offset"),
    }
    fields.update({name: c.scalar(name) for name in extra})
    fields.update({name: c.scale(name) for name in scales})
    fields.update(c.act_range())
    fields["mode"] = dict(c.mode)
    return fields


def add_params(c: OpContext) -> dict[str, Any]:
    fields = binary_params(c, ("input1_scale", "input2_scale", "output_scale"), ("left_shift",))
    subtract = c.scalar("subtract", 0)  # Sub of two activations; left out (0) for an add
    if subtract:
        fields["subtract"] = subtract
    return fields


def mul_params(c: OpContext) -> dict[str, Any]:
    return binary_params(c, ("output_scale",), ())


def pool_params(c: OpContext) -> dict[str, Any]:
    fields = {
        "input": dims(c.in_shapes[0]),
        "output": dims(c.out_shape),
        "filter_h": c.scalar("filter_h"),
        "filter_w": c.scalar("filter_w"),
        "stride_h": c.scalar("stride_h", 1),
        "stride_w": c.scalar("stride_w", 1),
        "pad_top": c.scalar("pad_top", 0),
        "pad_left": c.scalar("pad_left", 0),
    }
    fields.update(c.act_range())
    return fields


def softmax_geometry(c: OpContext) -> tuple[int, int, int]:
    """rows, depth, inner: the last axis unless params give depth and inner (any other axis:
    [outer, depth, inner] with rows = outer * inner)."""
    shape = c.in_shapes[0]
    if "inner" not in c.scalars:
        return c.derived("rows", _count(shape[:-1])), c.derived("depth", shape[-1]), 1
    depth, inner, count = c.scalar("depth"), c.scalar("inner"), _count(shape)
    if depth < 1 or inner < 1 or count % (depth * inner):
        raise CParamsError(
            f"params depth {depth} and inner {inner} do not divide the {count} elements of {list(shape)}"
        )
    return c.derived("rows", count // depth), depth, inner


def softmax_params(c: OpContext) -> dict[str, Any]:
    s16 = c.datapath == "s16"
    rows, depth, inner = softmax_geometry(c)
    fields = {
        "rows": rows,
        "depth": depth,
        "inner": inner,
        "input_multiplier": c.scalar("input_multiplier"),
        "input_left_shift": c.scalar("input_left_shift"),
        "diff_min": c.scalar("diff_min", 0 if s16 else REQUIRED),
    }
    for lut in ("exp_lut", "one_over_one_plus_x_lut"):
        if s16:
            c.array(lut)
        fields[lut] = ArrayRef(lut) if lut in c.arrays else None
    return fields


def reduce_params(c: OpContext) -> dict[str, Any]:
    try:
        reduced_axes(c.in_shapes[0], c.out_shape)
    except ValueError as exc:
        raise CParamsError(str(exc)) from None
    kind = c.scalar("kind")
    if kind not in REDUCE_KINDS.values():
        raise CParamsError(f"params field 'kind' = {kind} is not one of {REDUCE_KINDS} (fp_reduce_kind_t)")
    neutral = {"multiplier": 0, "shift": 0}
    fields = {
        "input": dims(c.in_shapes[0]),
        "output": dims(c.out_shape),
        "kind": kind,
        "input_offset": c.scalar("input_offset", 0),
        "output_offset": c.scalar("output_offset", 0),
        "scale": c.scale("scale") if "scale" in c.scalars or kind != REDUCE_KINDS["max"] else neutral,
    }
    c._used.add("scale")
    fields.update(c.act_range())
    fields["mode"] = dict(c.mode)
    return fields


def leaky_relu_params(c: OpContext) -> dict[str, Any]:
    fields = {
        "size": c.derived("size", _count(c.in_shapes[0])),
        "input_offset": c.offset("input_offset"),
        "output_offset": c.offset("output_offset"),
        "identity_scale": c.scale("identity_scale"),
        "alpha_scale": c.scale("alpha_scale"),
    }
    fields.update(c.act_range())
    fields["mode"] = dict(c.mode)
    return fields
