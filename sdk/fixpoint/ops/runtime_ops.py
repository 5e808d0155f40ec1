"""The runtime op table: one row per integer op of the C runtime.

Lowering, the host simulator and the code generator all read this table to
know an op's C enum, params struct, union member and kernel per datapath;
nothing else in the code base switches on op names.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RuntimeOp:
    key: str                    # plan / normalized-IR op key
    enum: str                   # fp_op_t value
    params_struct: str          # C params struct type
    union_member: str           # member of fp_layer_params_t
    kernels: dict[str, str]     # datapath -> C kernel function
    has_weights: bool = False   # weights + bias arrays, scratch-taking kernel
    multi_input: bool = False   # kernel takes an array of input pointers
    doc: str = ""
    datapaths: tuple[str, ...] = field(default=("s8", "s4", "s16"))


def _elementwise(name: str) -> dict[str, str]:
    return {"s8": f"fp_{name}_s8", "s4": f"fp_{name}_s8", "s16": f"fp_{name}_s16"}


RUNTIME_OPS: dict[str, RuntimeOp] = {
    op.key: op
    for op in (
        RuntimeOp("conv2d", "FP_OP_CONV2D", "fp_conv2d_params_t", "conv2d",
                  {"s8": "fp_conv2d_s8", "s4": "fp_conv2d_s4", "s16": "fp_conv2d_s16"},
                  has_weights=True, doc="2-D convolution (stride, padding, dilation, groups)"),
        RuntimeOp("depthwise_conv2d", "FP_OP_DEPTHWISE_CONV2D", "fp_depthwise_conv2d_params_t",
                  "depthwise_conv2d",
                  {"s8": "fp_depthwise_conv2d_s8", "s4": "fp_depthwise_conv2d_s4",
                   "s16": "fp_depthwise_conv2d_s16"},
                  has_weights=True, doc="depthwise convolution with channel multiplier"),
        RuntimeOp("fully_connected", "FP_OP_FULLY_CONNECTED", "fp_fully_connected_params_t",
                  "fully_connected",
                  {"s8": "fp_fully_connected_s8", "s4": "fp_fully_connected_s4",
                   "s16": "fp_fully_connected_s16"},
                  has_weights=True, doc="fully connected (Gemm / MatMul with constant weights)"),
        RuntimeOp("add", "FP_OP_ADD", "fp_add_params_t", "add", _elementwise("add"),
                  doc="elementwise add with broadcasting"),
        RuntimeOp("mul", "FP_OP_MUL", "fp_mul_params_t", "mul", _elementwise("mul"),
                  doc="elementwise mul with broadcasting"),
        RuntimeOp("max_pool", "FP_OP_MAX_POOL", "fp_pool_params_t", "pool", _elementwise("max_pool"),
                  doc="max pool"),
        RuntimeOp("avg_pool", "FP_OP_AVG_POOL", "fp_pool_params_t", "pool", _elementwise("avg_pool"),
                  doc="average pool (global included), padding taps excluded"),
        RuntimeOp("softmax", "FP_OP_SOFTMAX", "fp_softmax_params_t", "softmax", _elementwise("softmax"),
                  doc="softmax over the channel axis"),
        RuntimeOp("concat", "FP_OP_CONCAT", "fp_concat_params_t", "concat", _elementwise("concat"),
                  multi_input=True, doc="concatenation of up to 8 tensors, inputs requantized"),
        RuntimeOp("pad", "FP_OP_PAD", "fp_pad_params_t", "pad", _elementwise("pad"),
                  doc="constant padding"),
        RuntimeOp("leaky_relu", "FP_OP_LEAKY_RELU", "fp_leaky_relu_params_t", "leaky_relu",
                  _elementwise("leaky_relu"), doc="leaky relu"),
        RuntimeOp("requantize", "FP_OP_REQUANTIZE", "fp_requantize_params_t", "requantize",
                  {"s8": "fp_requantize_s8_s8", "s4": "fp_requantize_s8_s8",
                   "s16": "fp_requantize_s16_s8"},
                  doc="rescale or change activation type (s8<->s16)"),
        RuntimeOp("copy", "FP_OP_COPY", "fp_copy_params_t", "copy", {},
                  doc="layout-neutral reshape between arena slots"),
    )
}
