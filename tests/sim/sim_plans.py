"""Hand-built lowered plans with random but legal register values, for the simulator tests."""

from __future__ import annotations

import numpy as np

from fixpoint.memory import plan_arena
from fixpoint.plan import Plan, PlanLayer, PlanTensor, RequantProfile
from fixpoint.reference.softmax_params import softmax_s8_params, softmax_s16_params

ACT = {"s8": "int8", "s4": "int8", "s16": "int16"}
BIAS = {"s8": np.int32, "s4": np.int32, "s16": np.int64}


class PlanBuilder:
    """Adds tensors and layers with random legal params; ``plan()`` plans the arena."""

    def __init__(
        self, rng: np.random.Generator, datapath: str = "s8", profile: RequantProfile | None = None, name: str = "test"
    ):
        self.rng, self.dp, self.name = rng, datapath, name
        self.profile = profile or RequantProfile()
        self.tensors: list[PlanTensor] = []
        self.layers: list[PlanLayer] = []
        self.inputs: list[int] = []
        self.mag: dict[int, float] = {}  # rough log2 of a tensor's typical magnitude

    def target(self, t: int) -> float:
        """log2 magnitude a well-scaled tensor of t's type has (about half its range)."""
        return 6.0 if self.tensors[t].dtype == "int8" else 13.0

    def _fit_shift(self, out: int, acc_bits: float, lo: int = -40, hi: int = 14) -> int:
        """A shift mapping accumulators of ~2^acc_bits to out's useful range."""
        self.mag[out] = self.target(out)
        return int(np.clip(round(self.target(out) - acc_bits) + int(self.rng.integers(-1, 2)), lo, hi))

    # ---- tensors ----------------------------------------------------------
    def tensor(self, shape, dtype: str | None = None, layout: str = "NHWC") -> int:
        dtype = dtype or ACT[self.dp]
        zp = 0 if dtype == "int16" else int(self.rng.integers(-20, 21))
        self.tensors.append(
            PlanTensor(
                f"t{len(self.tensors)}",
                [int(d) for d in shape],
                dtype,
                float(self.rng.uniform(0.01, 0.1)),
                zp,
                source_layout=layout,
            )
        )
        return len(self.tensors) - 1

    def input(self, shape, dtype: str | None = None, layout: str = "NHWC") -> int:
        t = self.tensor(shape, dtype, layout)
        self.inputs.append(t)
        self.mag[t] = self.target(t) + 0.5
        return t

    def shape(self, t: int) -> list[int]:
        return self.tensors[t].shape

    def plan(self, outputs: list[int], memory: bool = True) -> Plan:
        plan = Plan(self.name, self.tensors, self.layers, list(self.inputs), list(outputs), profile=self.profile)
        return plan_arena(plan) if memory else plan

    def random_inputs(self, plan: Plan, batch: int) -> list[np.ndarray]:
        out = []
        for t in plan.inputs:
            info = np.iinfo(np.dtype(plan.tensors[t].dtype))
            out.append(
                self.rng.integers(info.min, int(info.max) + 1, (batch, *plan.tensors[t].shape[1:])).astype(
                    plan.tensors[t].dtype
                )
            )
        return out

    # ---- register values --------------------------------------------------
    def _mult(self, n: int = 1) -> np.ndarray:
        bits = self.profile.multiplier_bits
        if self.profile.rounding == "shift_only":
            return np.full(n, (1 << (bits - 1)) - 1, dtype=np.int32)
        return self.rng.integers(1 << (bits - 2), 1 << (bits - 1), n).astype(np.int32)

    def scale(self, lo: int, hi: int) -> dict:
        return {"multiplier": int(self._mult()[0]), "shift": int(self.rng.integers(lo, hi + 1))}

    def _offsets(self, inputs: list[int], out: int, names=("input_offset",)) -> dict:
        if self.dp == "s16":
            return {}
        params = {name: -self.tensors[t].zero_point for name, t in zip(names, inputs)}
        params["output_offset"] = self.tensors[out].zero_point
        return params

    def _act(self, dtype: str) -> dict:
        """Full range, or sometimes a relu-like clamp (keeps most of the range)."""
        lo, hi = (-128, 127) if dtype == "int8" else (-32768, 32767)
        if self.rng.random() < 0.25:
            span = hi - lo
            return {
                "act_min": int(lo + self.rng.integers(0, span // 2)),
                "act_max": int(hi - self.rng.integers(0, span // 8)),
            }
        return {"act_min": lo, "act_max": hi}

    def _add_layer(self, op: str, inputs: list[int], out: int, params: dict, arrays=None, dp=None) -> int:
        self.layers.append(
            PlanLayer(f"{op}{len(self.layers)}", op, dp or self.dp, list(inputs), out, params, arrays or {})
        )
        return out

    def _weighted_arrays(self, x: int, out: int, w_shape, c_out: int) -> dict:
        lo, hi = (-8, 7) if self.dp == "s4" else (-127, 127)
        n = c_out if self.profile.per_channel else 1
        taps = int(np.prod(w_shape)) // c_out
        acc_bits = self.mag[x] + (2 if self.dp == "s4" else 6) + 0.5 * np.log2(taps)
        shifts = [self._fit_shift(out, acc_bits) for _ in range(n)]
        return {
            "weights": self.rng.integers(lo, hi + 1, w_shape).astype(np.int8),
            "bias": self.rng.integers(-(2 ** int(acc_bits)), 2 ** int(acc_bits), c_out).astype(BIAS[self.dp]),
            "multiplier": self._mult(n),
            "shift": np.asarray(shifts, dtype=np.int32),
        }

    # ---- layers -----------------------------------------------------------
    def conv(
        self, x: int, c_out: int, k: int = 3, stride: int = 1, pad: int = 1, dilation: int = 1, groups: int = 1
    ) -> int:
        n, h, w, c = self.shape(x)
        oh = (h + 2 * pad - dilation * (k - 1) - 1) // stride + 1
        ow = (w + 2 * pad - dilation * (k - 1) - 1) // stride + 1
        out = self.tensor([n, oh, ow, c_out])
        params = {
            "stride_h": stride,
            "stride_w": stride,
            "dilation_h": dilation,
            "dilation_w": dilation,
            "pad_top": pad,
            "pad_left": pad,
            "groups": groups,
            **self._offsets([x], out),
            **self._act(self.tensors[out].dtype),
        }
        arrays = self._weighted_arrays(x, out, [c_out, k, k, c // groups], c_out)
        return self._add_layer("conv2d", [x], out, params, arrays)

    def depthwise(self, x: int, mult: int = 1, k: int = 3, stride: int = 1, pad: int = 1) -> int:
        n, h, w, c = self.shape(x)
        out = self.tensor([n, (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1, c * mult])
        params = {
            "stride_h": stride,
            "stride_w": stride,
            "dilation_h": 1,
            "dilation_w": 1,
            "pad_top": pad,
            "pad_left": pad,
            "depth_multiplier": mult,
            **self._offsets([x], out),
            **self._act(self.tensors[out].dtype),
        }
        return self._add_layer(
            "depthwise_conv2d", [x], out, params, self._weighted_arrays(x, out, [1, k, k, c * mult], c * mult)
        )

    def fc(self, x: int, c_out: int) -> int:
        depth = int(np.prod(self.shape(x)[1:]))
        out = self.tensor([1, 1, 1, c_out], layout="NC")
        params = {"filter_offset": 0, **self._offsets([x], out), **self._act(self.tensors[out].dtype)}
        arrays = self._weighted_arrays(x, out, [c_out, depth], c_out)
        return self._add_layer("fully_connected", [x], out, params, arrays)

    def _binary_shape(self, a: int, b_shape) -> list[int]:
        return [max(x, y) for x, y in zip(self.shape(a), b_shape)]

    def add(self, a: int, b: int | None = None, const_shape=None) -> int:
        b_shape = self.shape(b) if b is not None else const_shape
        out = self.tensor(self._binary_shape(a, b_shape))
        left = 15 if self.dp == "s16" else 20
        shift = self._fit_shift(out, max(self.mag[a], self._mag_b(b)) + left - 1, lo=-31, hi=0)
        params = {
            "left_shift": left,
            "input1_scale": self.scale(-1, 0),
            "input2_scale": self.scale(-1, 0),
            "output_scale": {"multiplier": int(self._mult()[0]), "shift": shift},
            **self._act(self.tensors[out].dtype),
        }
        params.update(self._binary_offsets(a, b, out))
        return self._add_layer("add", [a] if b is None else [a, b], out, params, self._const(b_shape, b))

    def mul(self, a: int, b: int | None = None, const_shape=None) -> int:
        b_shape = self.shape(b) if b is not None else const_shape
        out = self.tensor(self._binary_shape(a, b_shape))
        shift = self._fit_shift(out, self.mag[a] + self._mag_b(b), lo=-31, hi=0)
        params = {
            "output_scale": {"multiplier": int(self._mult()[0]), "shift": shift},
            **self._act(self.tensors[out].dtype),
        }
        params.update(self._binary_offsets(a, b, out))
        return self._add_layer("mul", [a] if b is None else [a, b], out, params, self._const(b_shape, b))

    def _mag_b(self, b: int | None) -> float:
        return self.mag[b] if b is not None else (6.5 if self.dp != "s16" else 14.5)

    def _binary_offsets(self, a: int, b: int | None, out: int) -> dict:
        if self.dp == "s16":
            return {}
        return {
            "input1_offset": -self.tensors[a].zero_point,
            "input2_offset": 0 if b is None else -self.tensors[b].zero_point,
            "output_offset": self.tensors[out].zero_point,
        }

    def _const(self, shape, b: int | None) -> dict:
        if b is not None:
            return {}
        dtype = np.int16 if self.dp == "s16" else np.int8
        info = np.iinfo(dtype)
        return {"weights": self.rng.integers(info.min + 1, int(info.max) + 1, shape).astype(dtype)}

    def pool(self, x: int, kind: str = "max_pool", k: int = 2, stride: int = 2, pad: int = 0) -> int:
        n, h, w, c = self.shape(x)
        out = self.tensor([n, (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1, c])
        params = {
            "filter_h": k,
            "filter_w": k,
            "stride_h": stride,
            "stride_w": stride,
            "pad_top": pad,
            "pad_left": pad,
            **self._act(self.tensors[out].dtype),
        }
        self.mag[out] = self.mag[x]
        return self._add_layer(kind, [x], out, params)

    def softmax(self, x: int) -> int:
        out = self.tensor(self.shape(x), layout="NC" if self.shape(x)[1:3] == [1, 1] else "NHWC")
        scale = self.tensors[x].scale
        if self.dp == "s16":
            sp = softmax_s16_params(scale)
            params = {"input_multiplier": sp.input_multiplier, "input_left_shift": sp.input_left_shift}
            arrays = {"exp_lut": sp.exp_lut, "one_over_one_plus_x_lut": sp.one_over_one_plus_x_lut}
        else:
            sp = softmax_s8_params(scale)
            params = {
                "input_multiplier": sp.input_multiplier,
                "input_left_shift": sp.input_left_shift,
                "diff_min": sp.diff_min,
            }
            arrays = {}
        self.mag[out] = self.target(out)
        return self._add_layer("softmax", [x], out, params, arrays)

    def concat(self, xs: list[int], axis: int = 3) -> int:
        shape = list(self.shape(xs[0]))
        shape[axis] = sum(self.shape(x)[axis] for x in xs)
        out = self.tensor(shape)
        self.mag[out] = min(self.mag[x] for x in xs)
        params = {"input_scale": [self.scale(0, 0) for _ in xs]}
        if self.dp != "s16":
            params.update(
                input_offset=[-self.tensors[x].zero_point for x in xs], output_offset=self.tensors[out].zero_point
            )
        return self._add_layer("concat", xs, out, params)

    def pad(self, x: int, before, after) -> int:
        out = self.tensor([d + b + a for d, b, a in zip(self.shape(x), before, after)])
        self.mag[out] = self.mag[x]
        return self._add_layer("pad", [x], out, {"pad_before": list(before), "pad_value": self.tensors[out].zero_point})

    def leaky_relu(self, x: int) -> int:
        out = self.tensor(self.shape(x))
        self.mag[out] = self.mag[x]
        params = {
            "identity_scale": self.scale(0, 0),
            "alpha_scale": self.scale(-3, -1),
            **self._offsets([x], out),
            **self._act(self.tensors[out].dtype),
        }
        return self._add_layer("leaky_relu", [x], out, params)

    def requantize(self, x: int, out_dtype: str) -> int:
        in_dtype = self.tensors[x].dtype
        out = self.tensor(self.shape(x), dtype=out_dtype)
        shift = self._fit_shift(out, self.mag[x], lo=-31, hi=30)
        params = {
            "input_offset": -self.tensors[x].zero_point,
            "output_offset": self.tensors[out].zero_point,
            "scale": {"multiplier": int(self._mult()[0]), "shift": shift},
            **self._act(out_dtype),
        }
        dp = "s16" if in_dtype == "int16" else "s8"
        return self._add_layer("requantize", [x], out, params, dp=dp)

    def copy(self, x: int, shape) -> int:
        t = self.tensors[x]
        out = self.tensor(shape, dtype=t.dtype)
        self.tensors[out].scale, self.tensors[out].zero_point = t.scale, t.zero_point
        self.mag[out] = self.mag[x]
        return self._add_layer("copy", [x], out, {})


# ---- plan recipes ------------------------------------------------------------


def chain(b: PlanBuilder):
    """conv -> add (residual) -> pool -> fc, the classic small CNN."""
    x = b.input([1, 7, 7, 3], layout="NCHW")
    c1 = b.conv(x, 5)
    c2 = b.conv(c1, 5, k=1, pad=0)
    added = b.add(c1, c2)
    pooled = b.pool(added, "max_pool")
    return b.plan([b.fc(pooled, 6)])


def branches(b: PlanBuilder):
    """two branches (strided conv, depthwise + avg pool) concatenated, then softmax."""
    x = b.input([1, 8, 8, 4])
    left = b.conv(x, 3, stride=2, pad=1)
    right = b.pool(b.depthwise(x, mult=2), "avg_pool", k=3, stride=2, pad=1)
    cat = b.concat([left, right])
    return b.plan([b.softmax(b.fc(cat, 7))])


def every_op(b: PlanBuilder):
    """every runtime op once (constant operands for mul / add included)."""
    x = b.input([1, 6, 6, 3])
    y = b.input([1, 3, 3, 1])
    c = b.conv(x, 4, dilation=2, pad=2)
    g = b.conv(c, 4, groups=2)
    p = b.pool(g, "max_pool", k=3, stride=2, pad=1)
    m = b.mul(p, y)
    lr = b.leaky_relu(m)
    cm = b.mul(lr, const_shape=[1, 1, 1, 4])
    ca = b.add(cm, const_shape=[1, 1, 1, 1])
    cat = b.concat([ca, p], axis=1)
    pd = b.pad(cat, [0, 1, 0, 0], [0, 0, 1, 2])
    f = b.fc(b.copy(pd, [1, 1, 1, int(np.prod(b.shape(pd)))]), 5)
    return b.plan([b.softmax(f), p])
