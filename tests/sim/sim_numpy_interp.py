"""A pure-numpy interpreter of lowered plans, built on fixpoint.reference only.

It reads ``layer.params`` / ``layer.arrays`` directly (never fixpoint.cparams
or the C runtime), so comparing it with ``fixpoint.sim.executor.run_plan``
checks the whole C path: cparams field values, the cffi structs, the graph
executor's dispatch and pointer resolution, the memory plan and the kernels.
Tensors carry a leading batch axis [B, H, W, C] (plan tensors have N = 1).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from fixpoint.plan import DTYPES, Plan, PlanLayer
from fixpoint.reference import attention, data_movement, elementwise, lut, movement, pooling, reduce, softmax
from fixpoint.reference.conv import conv2d
from fixpoint.reference.depthwise import depthwise_conv2d
from fixpoint.reference.fully_connected import fully_connected
from fixpoint.reference.gru import GruParams, gru_s8
from fixpoint.reference.lstm import LstmParams, lstm_s8
from fixpoint.reference.transpose_conv import transpose_conv2d

RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}


class _Ctx:
    def __init__(self, plan: Plan, layer: PlanLayer):
        self.plan, self.layer, self.p = plan, layer, layer.params
        out = plan.tensors[layer.output]
        self.out_shape, self.out_dtype = out.shape, out.dtype
        self.rq = {"rounding": plan.profile.rounding, "multiplier_bits": plan.profile.multiplier_bits}

    def act(self) -> dict:
        lo, hi = RANGE[self.out_dtype]
        return {"act_min": self.p.get("act_min", lo), "act_max": self.p.get("act_max", hi)}

    def scale(self, name: str) -> tuple[int, int]:
        return self.p[name]["multiplier"], self.p[name]["shift"]

    def spatial(self) -> dict:
        keys = {"stride_h": 1, "stride_w": 1, "dilation_h": 1, "dilation_w": 1, "pad_top": 0, "pad_left": 0}
        return {k: self.p.get(k, v) for k, v in keys.items()}

    def weighted(self) -> dict:
        a = self.layer.arrays
        return dict(
            multiplier=a["multiplier"],
            shift=a["shift"],
            datapath=self.layer.datapath,
            input_offset=self.p.get("input_offset", 0),
            output_offset=self.p.get("output_offset", 0),
            **self.act(),
            **self.rq,
        )


def _conv2d(c: _Ctx, xs):
    return conv2d(
        xs[0],
        c.layer.arrays["weights"],
        c.layer.arrays.get("bias"),
        out_h=c.out_shape[1],
        out_w=c.out_shape[2],
        groups=c.p.get("groups", 1),
        **c.spatial(),
        **c.weighted(),
    )


def _depthwise(c: _Ctx, xs):
    w = c.layer.arrays["weights"]
    return depthwise_conv2d(
        xs[0],
        w,
        c.layer.arrays.get("bias"),
        out_h=c.out_shape[1],
        out_w=c.out_shape[2],
        depth_multiplier=w.shape[3] // xs[0].shape[3],
        **c.spatial(),
        **c.weighted(),
    )


def _transpose_conv2d(c: _Ctx, xs):
    return transpose_conv2d(
        xs[0],
        c.layer.arrays["weights"],
        c.layer.arrays.get("bias"),
        out_h=c.out_shape[1],
        out_w=c.out_shape[2],
        groups=c.p.get("groups", 1),
        **c.spatial(),
        **c.weighted(),
    )


def _fully_connected(c: _Ctx, xs):
    w = c.layer.arrays["weights"]
    x = xs[0].reshape(-1, w.shape[1])  # one row per sample, or per step of a rank-3 input
    out = fully_connected(x, w, c.layer.arrays.get("bias"), filter_offset=c.p.get("filter_offset", 0), **c.weighted())
    return out.reshape(xs[0].shape[0], *c.out_shape[1:])


def _second(c: _Ctx, xs):
    return xs[1] if len(xs) == 2 else c.layer.arrays["weights"]


def _add(c: _Ctx, xs):
    p = c.p
    return elementwise.add(
        xs[0],
        _second(c, xs),
        input1_offset=p.get("input1_offset", 0),
        input2_offset=p.get("input2_offset", 0),
        output_offset=p.get("output_offset", 0),
        left_shift=p["left_shift"],
        input1_scale=c.scale("input1_scale"),
        input2_scale=c.scale("input2_scale"),
        output_scale=c.scale("output_scale"),
        subtract=p.get("subtract", 0),
        **c.act(),
        **c.rq,
    )


def _mul(c: _Ctx, xs):
    p = c.p
    return elementwise.mul(
        xs[0],
        _second(c, xs),
        input1_offset=p.get("input1_offset", 0),
        input2_offset=p.get("input2_offset", 0),
        output_offset=p.get("output_offset", 0),
        output_scale=c.scale("output_scale"),
        **c.act(),
        **c.rq,
    )


def _pool(fn: Callable) -> Callable:
    def run(c: _Ctx, xs):
        s = c.spatial()
        return fn(
            xs[0],
            filter_h=c.p["filter_h"],
            filter_w=c.p["filter_w"],
            stride_h=s["stride_h"],
            stride_w=s["stride_w"],
            pad_top=s["pad_top"],
            pad_left=s["pad_left"],
            out_h=c.out_shape[1],
            out_w=c.out_shape[2],
            **c.act(),
        )

    return run


def _softmax(c: _Ctx, xs):
    p = c.p
    x = xs[0]
    # [B, outer, depth, inner]: the reference normalizes its last axis
    depth, inner = p.get("depth", x.shape[-1]), p.get("inner", 1)
    rows = np.moveaxis(x.reshape(x.shape[0], -1, depth, inner), 2, -1)
    if c.layer.datapath == "s16":
        y = softmax.softmax_s16(
            rows,
            input_multiplier=p["input_multiplier"],
            input_left_shift=p["input_left_shift"],
            exp_lut=c.layer.arrays["exp_lut"],
            one_over_one_plus_x_lut=c.layer.arrays["one_over_one_plus_x_lut"],
        )
    else:
        y = softmax.softmax_s8(
            rows, input_multiplier=p["input_multiplier"], input_left_shift=p["input_left_shift"], diff_min=p["diff_min"]
        )
    return np.moveaxis(np.asarray(y), -1, 2).reshape(x.shape)


def _concat(c: _Ctx, xs):
    shapes = [c.plan.tensors[i].shape for i in c.layer.inputs]
    axis = next((a for a in range(4) if any(s[a] != c.out_shape[a] for s in shapes)), 3)
    lo, hi = RANGE[c.out_dtype]
    samples = []
    for b in range(xs[0].shape[0]):
        flat = data_movement.concat(
            [x[b] for x in xs],
            outer=int(np.prod(c.out_shape[:axis])),
            inner=int(np.prod(c.out_shape[axis + 1 :])),
            input_offsets=c.p.get("input_offset", [0] * len(xs)),
            input_scales=[(s["multiplier"], s["shift"]) for s in c.p["input_scale"]],
            output_offset=c.p.get("output_offset", 0),
            type_min=lo,
            type_max=hi,
            **c.rq,
        )
        samples.append(flat.reshape(c.out_shape[1:]))
    return np.stack(samples)


def _pad(c: _Ctx, xs):
    before = c.p["pad_before"]
    assert before[0] == 0, "the interpreter batches over N: no padding of N"
    return data_movement.pad(
        xs[0],
        pad_before=before,
        out_shape=(xs[0].shape[0], *c.out_shape[1:]),
        pad_value=c.p["pad_value"],
        mode=c.p.get("mode", 0),
    )


def _leaky_relu(c: _Ctx, xs):
    p = c.p
    return elementwise.leaky_relu(
        xs[0],
        input_offset=p.get("input_offset", 0),
        output_offset=p.get("output_offset", 0),
        identity_scale=c.scale("identity_scale"),
        alpha_scale=c.scale("alpha_scale"),
        **c.act(),
        **c.rq,
    )


def _lut(c: _Ctx, xs):
    table = c.layer.arrays["table"]
    return lut.lut_s8(xs[0], table) if c.out_dtype == "int8" else lut.lut_s16(xs[0], table)


def _prelu(c: _Ctx, xs):
    p = c.p
    return lut.prelu(
        xs[0],
        c.layer.arrays["alpha"].astype(np.int64),
        input_offset=p.get("input_offset", 0),
        alpha_offset=p.get("alpha_offset", 0),
        output_offset=p.get("output_offset", 0),
        identity_scale=c.scale("identity_scale"),
        alpha_scale=c.scale("alpha_scale"),
        **c.act(),
        **c.rq,
    )


def _minmax(fn):
    def run(c: _Ctx, xs):
        p = c.p
        x2 = xs[1] if len(xs) > 1 else c.layer.arrays["weights"]  # a constant operand: 'weights'
        return fn(
            xs[0],
            x2,
            input1_offset=p.get("input1_offset", 0),
            input2_offset=p.get("input2_offset", 0),
            output_offset=p.get("output_offset", 0),
            input1_scale=c.scale("input1_scale"),
            input2_scale=c.scale("input2_scale"),
            **c.act(),
            **c.rq,
        )

    return run


def _requantize(c: _Ctx, xs):
    p = c.p
    return data_movement.requantize(
        xs[0],
        input_offset=p["input_offset"],
        output_offset=p["output_offset"],
        scale=c.scale("scale"),
        **c.act(),
        **c.rq,
    )


def _reduce(c: _Ctx, xs):
    p = c.p
    kind = next(k for k, v in reduce.KINDS.items() if v == p["kind"])
    scale = c.scale("scale") if "scale" in p else (0, 0)
    return reduce.reduce(
        xs[0],
        out_shape=(xs[0].shape[0], *c.out_shape[1:]),
        kind=kind,
        input_offset=p.get("input_offset", 0),
        output_offset=p.get("output_offset", 0),
        scale=scale,
        **c.act(),
        **c.rq,
    )


def _copy(c: _Ctx, xs):
    # -1: a copy into a row-major sequence tensor [T, 1, 1, C] (lstm input) keeps B * T rows
    return xs[0].reshape(-1, *c.out_shape[1:])


def _per_sample(fn: Callable) -> Callable:
    """Apply ``fn(c, sample [1, H, W, C])`` to every sample of the batch (plan tensors have N = 1)."""

    def run(c: _Ctx, xs):
        assert c.out_shape[0] == 1, "the interpreter batches over N: plan outputs have N = 1"
        return np.concatenate([fn(c, xs[0][b : b + 1]) for b in range(xs[0].shape[0])])

    return run


@_per_sample
def _transpose(c: _Ctx, x):
    return movement.transpose(x, perm=c.p["perm"])


@_per_sample
def _slice(c: _Ctx, x):
    return movement.slice_(x, begin=c.p["begin"], stride=c.p["stride"], out_shape=c.out_shape)


@_per_sample
def _resize(c: _Ctx, x):
    p = c.p
    return movement.resize(
        x,
        out_hw=c.out_shape[1:3],
        method=p["method"],
        coord=p["coord"],
        nearest_mode=p["nearest_mode"],
        ratio_num=p["ratio_num"],
        ratio_den=p["ratio_den"],
    )


def _lstm(c: _Ctx, xs):
    """One sequence per sample: the input tensor's N is the sequence length, so the batch of B
    samples arrives as B * N rows."""
    p, a = c.p, c.layer.arrays
    pair = lambda d: (d["multiplier"], d["shift"])  # noqa: E731
    params = LstmParams(
        p["input_offset"],
        p["hidden_offset"],
        p["output_offset"],
        tuple(pair(s) for s in p["input_scale"]),
        tuple(pair(s) for s in p["recurrent_scale"]),
        pair(p["hidden_scale"]),
        p["cell_frac_bits"],
        p.get("cell_clip", 0),
        p.get("output_sequence", 1),
        p.get("reverse", 0),
        **c.rq,
    )
    n_in = a["weights"].shape[1] - a["weights"].shape[0] // 4
    steps = int(np.prod(c.plan.tensors[c.layer.inputs[0]].shape)) // n_in
    seqs = xs[0].reshape(-1, steps, n_in)
    outs = [
        lstm_s8(seq, a["weights"], a["bias"], a["sigmoid_lut"], a["tanh_lut"], a["cell_tanh_lut"], params)
        for seq in seqs
    ]
    return np.stack(outs).reshape(-1, *c.out_shape[1:])


def _gru(c: _Ctx, xs):
    """As _lstm: one sequence per sample, B * N rows."""
    p, a = c.p, c.layer.arrays
    pair = lambda d: (d["multiplier"], d["shift"])  # noqa: E731
    params = GruParams(
        p["input_offset"],
        p["hidden_offset"],
        p["output_offset"],
        tuple(pair(s) for s in p["input_scale"]),
        tuple(pair(s) for s in p["recurrent_scale"]),
        pair(p["hidden_scale"]),
        p.get("output_sequence", 1),
        p.get("reverse", 0),
        **c.rq,
    )
    n_in = a["weights"].shape[1] - a["weights"].shape[0] // 3
    steps = int(np.prod(c.plan.tensors[c.layer.inputs[0]].shape)) // n_in
    outs = [
        gru_s8(seq, a["weights"], a["bias"], a["sigmoid_lut"], a["tanh_lut"], params)
        for seq in xs[0].reshape(-1, steps, n_in)
    ]
    return np.stack(outs).reshape(-1, *c.out_shape[1:])


def _batch_matmul_one(c: _Ctx, xs):
    p = c.p
    keys = ("batch", "rows", "depth", "cols", "input1_stride", "input2_stride", "output_stride")
    flat = attention.batch_matmul(
        xs[0],
        xs[1],
        **{k: p[k] for k in keys},
        output_size=int(np.prod(c.out_shape)),
        input1_offset=p.get("input1_offset", 0),
        input2_offset=p.get("input2_offset", 0),
        output_offset=p.get("output_offset", 0),
        output_scale=c.scale("output_scale"),
        acc64=c.layer.datapath == "s16",
        **c.act(),
        **c.rq,
    )
    return flat.reshape(c.out_shape)


def _batch_matmul(c: _Ctx, xs):
    """Both operands carry the batch axis: one sample of each per call."""
    assert c.out_shape[0] == 1, "the interpreter batches over N: plan outputs have N = 1"
    if len(xs) == 1:  # a constant B: the layer's 'weights'
        return np.concatenate(
            [_batch_matmul_one(c, [xs[0][b : b + 1], c.layer.arrays["weights"]]) for b in range(xs[0].shape[0])]
        )
    return np.concatenate([_batch_matmul_one(c, [xs[0][b : b + 1], xs[1][b : b + 1]]) for b in range(xs[0].shape[0])])


def _layer_norm(c: _Ctx, xs):
    p, a = c.p, c.layer.arrays
    x = xs[0]
    depth, inner = p["depth"], p.get("inner", 1)
    rows = x.reshape(x.shape[0], -1, depth, inner)
    y = attention.layer_norm(
        rows,
        gamma=a["gamma"],
        beta=a["beta"],
        eps_term=p["eps_term"],
        input_offset=p.get("input_offset", 0),
        output_offset=p.get("output_offset", 0),
        output_scale=c.scale("output_scale"),
        axis=2,
        **c.act(),
        **c.rq,
    )
    return np.asarray(y).reshape(x.shape)


OPS: dict[str, Callable] = {
    "conv2d": _conv2d,
    "depthwise_conv2d": _depthwise,
    "fully_connected": _fully_connected,
    "add": _add,
    "mul": _mul,
    "max_pool": _pool(pooling.max_pool),
    "avg_pool": _pool(pooling.avg_pool),
    "softmax": _softmax,
    "concat": _concat,
    "pad": _pad,
    "leaky_relu": _leaky_relu,
    "requantize": _requantize,
    "copy": _copy,
    "lut": _lut,
    "prelu": _prelu,
    "minimum": _minmax(lut.minimum),
    "maximum": _minmax(lut.maximum),
    "transpose": _transpose,
    "slice": _slice,
    "resize": _resize,
    "reduce": _reduce,
    "transpose_conv2d": _transpose_conv2d,
    "lstm": _lstm,
    "gru": _gru,
    "batch_matmul": _batch_matmul,
    "layer_norm": _layer_norm,
}


def interpret(plan: Plan, inputs: list[np.ndarray]) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """Outputs ([B, ...] per plan output) and every layer output by tensor name."""
    values = {t: np.asarray(x) for t, x in zip(plan.inputs, inputs)}
    by_name = {}
    for layer in plan.layers:
        out = np.asarray(OPS[layer.op](_Ctx(plan, layer), [values[i] for i in layer.inputs]))
        tensor = plan.tensors[layer.output]
        values[layer.output] = out.astype(DTYPES[tensor.dtype])
        by_name[tensor.name] = values[layer.output]
    return [values[t] for t in plan.outputs], by_name
