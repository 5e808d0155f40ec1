"""The float functions of the ``lut`` op and the tables that make them exact integer ops.

A unary function of one quantized input is exactly a table over the input's
integer values: 256 entries for int8 (TFLite's int8 LUT: dequantize every
input value, apply the function, quantize), and TFLite's interpolated int16
LUT of 513 entries (512 segments of 128 input values, linear interpolation
in the kernel). The tables are computed here, at lowering, in float64; the
kernels only read them.

Each ONNX op computed by table names its function in its registry row
(``OnnxOp.lut_function``); the normalized ``lut`` node carries the name and
the op's float attributes (``params``). A function may fix its output
quantization (bounded functions, as TFLite does for logistic and tanh);
otherwise the output is calibrated.

Domains: ``log`` evaluates inputs below the input scale (0 and negative
values) at the input scale, the smallest positive representable input;
``sqrt`` evaluates negative inputs at 0; ``reciprocal`` evaluates inputs with
``|x| < input scale`` at ``+/- input scale`` (0 at ``+input scale``). Results
beyond the output range saturate, so no table holds a NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from fixpoint.ir import ModelError

Array = np.ndarray
FloatFn = Callable[[Array, dict[str, Any], float], Array]  # (x, params, input scale) -> f(x)

S8_ENTRIES = 256
S16_ENTRIES = 513
_SQRT1_2 = 1.0 / math.sqrt(2.0)
_erf = np.vectorize(math.erf, otypes=[np.float64])


def round_half_away(x) -> Array:
    """TfLiteRound: half away from zero."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _sigmoid(x: Array) -> Array:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow for large |x|


def _hard_sigmoid(x: Array, p: dict[str, Any]) -> Array:
    return np.clip(float(p.get("alpha", 0.2)) * x + float(p.get("beta", 0.5)), 0.0, 1.0)


def _elu(x: Array, alpha: float) -> Array:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def _gelu(x: Array, p: dict[str, Any]) -> Array:
    if p.get("approximate", "none") == "tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + _erf(x * _SQRT1_2))


def _softplus(x: Array) -> Array:
    return np.logaddexp(0.0, x)


def _log(x: Array, s_in: float) -> Array:
    return np.log(np.maximum(x, s_in))


def _reciprocal(x: Array, s_in: float) -> Array:
    safe = np.where(np.abs(x) < s_in, np.where(x < 0, -s_in, s_in), x)
    return 1.0 / safe


def _exp(x: Array) -> Array:
    with np.errstate(over="ignore"):
        return np.exp(x)  # +inf saturates to the output maximum


@dataclass(frozen=True)
class LutFunction:
    """A float function computed by table; ``fixed`` is (int8 (scale, zp), int16 scale) or None."""

    fn: FloatFn
    doc: str
    fixed: tuple[tuple[float, int], float] | None = None


_UNIT = ((1.0 / 256.0, -128), 1.0 / 32768.0)  # [0, 1): TFLite's logistic output
_SYMMETRIC = ((1.0 / 128.0, 0), 1.0 / 32768.0)  # [-1, 1): TFLite's tanh output

FUNCTIONS: dict[str, LutFunction] = {
    "sigmoid": LutFunction(lambda x, p, s: _sigmoid(x), "1 / (1 + exp(-x))", _UNIT),
    "tanh": LutFunction(lambda x, p, s: np.tanh(x), "tanh(x)", _SYMMETRIC),
    "hard_sigmoid": LutFunction(lambda x, p, s: _hard_sigmoid(x, p), "max(0, min(1, alpha x + beta))", _UNIT),
    "hard_swish": LutFunction(
        lambda x, p, s: x * _hard_sigmoid(x, {"alpha": 1 / 6, "beta": 0.5}), "x max(0, min(1, x / 6 + 1/2))"
    ),
    "silu": LutFunction(lambda x, p, s: x * _sigmoid(x), "x sigmoid(x) (fused x * Sigmoid(x))"),
    "x_hard_sigmoid": LutFunction(
        lambda x, p, s: x * _hard_sigmoid(x, p), "x max(0, min(1, alpha x + beta)) (fused x * HardSigmoid(x))"
    ),
    "x_clip": LutFunction(
        lambda x, p, s: x * np.clip(x + float(p["shift"]), float(p["lo"]), float(p["hi"])),
        "x clip(x + shift, lo, hi) (fused x * Clip(x + c), PyTorch's decomposed HardSwish)",
    ),
    "elu": LutFunction(lambda x, p, s: _elu(x, float(p.get("alpha", 1.0))), "x > 0 ? x : alpha (exp(x) - 1)"),
    "selu": LutFunction(
        lambda x, p, s: float(p.get("gamma", 1.0507009873554805)) * _elu(x, float(p.get("alpha", 1.6732632423543772))),
        "gamma elu(x, alpha)",
    ),
    "celu": LutFunction(
        lambda x, p, s: (
            np.maximum(x, 0.0)
            + np.minimum(0.0, float(p.get("alpha", 1.0)) * np.expm1(np.minimum(x, 0.0) / float(p.get("alpha", 1.0))))
        ),
        "max(0, x) + min(0, alpha (exp(x / alpha) - 1))",
    ),
    "gelu": LutFunction(lambda x, p, s: _gelu(x, p), "x Phi(x), or its tanh approximation"),
    "softplus": LutFunction(lambda x, p, s: _softplus(x), "log(1 + exp(x))"),
    "softsign": LutFunction(lambda x, p, s: x / (1.0 + np.abs(x)), "x / (1 + |x|)", _SYMMETRIC),
    "mish": LutFunction(lambda x, p, s: x * np.tanh(_softplus(x)), "x tanh(softplus(x))"),
    "exp": LutFunction(lambda x, p, s: _exp(x), "exp(x)"),
    "log": LutFunction(lambda x, p, s: _log(x, s), "log(max(x, s_in))"),
    "sqrt": LutFunction(lambda x, p, s: np.sqrt(np.maximum(x, 0.0)), "sqrt(max(x, 0))"),
    "reciprocal": LutFunction(lambda x, p, s: _reciprocal(x, s), "1 / x, |x| >= s_in"),
    "abs": LutFunction(lambda x, p, s: np.abs(x), "|x|"),
    "neg": LutFunction(lambda x, p, s: -x, "-x"),
    "erf": LutFunction(lambda x, p, s: _erf(x), "erf(x)", _SYMMETRIC),
}

# x * f(x) of a table function is again a unary function of x: what exporters' SiLU / HardSwish become
TIMES_X: dict[str, str] = {"sigmoid": "silu", "hard_sigmoid": "x_hard_sigmoid"}


def function(name: str, where: str = "") -> LutFunction:
    if name not in FUNCTIONS:
        raise ModelError(f"{where}lut function '{name}' is not one of {sorted(FUNCTIONS)}")
    return FUNCTIONS[name]


def evaluate(name: str, x: Array, params: dict[str, Any], input_scale: float) -> Array:
    """f(x) in float64 with the function's documented domain handling."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        y = np.asarray(
            FUNCTIONS[name].fn(np.asarray(x, dtype=np.float64), params, float(input_scale)), dtype=np.float64
        )
    if np.isnan(y).any():
        raise ModelError(f"lut function '{name}' is not defined on part of the input range")
    return y


def table_s8(name: str, params: dict[str, Any], s_in: float, zp_in: int, s_out: float, zp_out: int) -> Array:
    """TFLite's int8 LUT: entry ``q + 128`` is ``clamp(round(f(s_in (q - zp_in)) / s_out) + zp_out)``."""
    q = np.arange(-128, 128, dtype=np.int64)
    y = evaluate(name, s_in * (q - zp_in), params, s_in)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.clip(y / s_out, -1e9, 1e9)  # +/-inf saturate; keeps round() finite
    return np.clip(round_half_away(scaled) + zp_out, -128, 127).astype(np.int8)


def table_s16(name: str, params: dict[str, Any], s_in: float, s_out: float) -> Array:
    """TFLite's int16 LUT (zero points 0): 512 segments over the whole input range, each entry
    biased by half the interpolation error at the segment's midpoint, plus the last value."""
    in_min, in_max = s_in * -32768.0, s_in * 32767.0
    inv = 65536.0 / (s_out * 65535.0)  # TFLite: 2^16 / (output_max - output_min)
    step = (in_max - in_min) / 512.0
    i = np.arange(512, dtype=np.float64)

    def scaled(x: Array) -> Array:
        return np.clip(evaluate(name, x, params, s_in) * inv, -1e9, 1e9)

    val, mid, nxt = scaled(in_min + i * step), scaled(in_min + i * step + step / 2), scaled(in_min + (i + 1) * step)
    sample = round_half_away(val)
    midpoint_interp = round_half_away((nxt + sample) / 2.0)
    bias = round_half_away((midpoint_interp - round_half_away(mid)) / 2.0)
    table = np.empty(S16_ENTRIES, dtype=np.float64)
    table[:512] = sample - bias
    table[512] = round_half_away(scaled(np.array([in_max]))[0])
    return np.clip(table, -32768, 32767).astype(np.int16)


def fixed_output(name: str, dtype: str) -> tuple[float, int] | None:
    """The fixed (scale, zero point) of a bounded function's output, or None (calibrated)."""
    fixed = FUNCTIONS[name].fixed
    if fixed is None:
        return None
    return fixed[0] if dtype == "int8" else (fixed[1], 0)
