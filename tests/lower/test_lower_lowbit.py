"""Ternary (2-bit) and binary (1-bit) weights: quantization rules, lowering options and errors."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.ir import ModelError
from fixpoint.lower import LowerOptions, lower, quantize_weights
from fixpoint.lower.lowbit_weights import binary_scales, ternary_scales
from fixpoint.plan import RequantProfile

from lower_graphs import GraphBuilder

RNG = np.random.default_rng(13)


class _Chain:
    """Two fully connected layers (h_node, logits_node), calibrated for ``bits``-bit activations."""

    def __init__(self, bits: int = 8):
        self.b = GraphBuilder(bits=bits)
        x = self.b.input("x", [1, 1, 1, 16], scale=0.02)
        self.b.const("W1", RNG.normal(size=(8, 16))), self.b.const("B1", np.zeros(8))
        self.b.node("fully_connected", [x, "W1", "B1"], "h", [1, 1, 1, 8], scale=0.05, attrs={"act": "none"})
        self.b.const("W2", RNG.normal(size=(4, 8))), self.b.const("B2", RNG.normal(size=4))
        self.b.node("fully_connected", ["h", "W2", "B2"], "logits", [1, 1, 1, 4], scale=0.1, attrs={"act": "none"})
        self.quant = self.b.quant

    def graph(self):
        return self.b.graph(["logits"])


def fc_chain(bits: int = 8) -> _Chain:
    return _Chain(bits)


def _brute_force_ternary(row: np.ndarray) -> tuple[float, float]:
    """(best squared error, its scale) over every threshold that keeps the k largest |w|."""
    a = np.sort(np.abs(row))[::-1]
    best = (float(np.sum(row**2)), 0.0)
    for k in range(1, a.size + 1):
        scale = float(a[:k].mean())
        q = np.where(np.abs(row) >= a[k - 1], np.sign(row), 0)
        err = float(np.sum((row - scale * q) ** 2))
        best = min(best, (err, scale))
    return best


def test_ternary_scale_is_mse_optimal_per_channel():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((6, 3, 3, 4)) * rng.uniform(0.1, 2.0, (6, 1, 1, 1))
    qw = quantize_weights(w, axis=0, bits=2)
    assert set(np.unique(qw.values)) <= {-1, 0, 1} and qw.qmax == 1
    for c in range(6):
        err, scale = _brute_force_ternary(w[c].reshape(-1))
        assert qw.scale[c] == pytest.approx(scale, rel=1e-12)
        got = float(np.sum((w[c] - qw.dequantize()[c]) ** 2))
        assert got == pytest.approx(err, rel=1e-9)
    assert np.allclose(ternary_scales(w, 0), qw.scale)


def test_binary_is_sign_times_mean_abs():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((5, 7))
    w[0, 0] = 0.0  # zero maps to +1: binary weights have no zero
    qw = quantize_weights(w, axis=0, bits=1)
    assert np.array_equal(qw.values, np.where(w >= 0, 1, -1))
    assert np.allclose(qw.scale, np.abs(w).mean(axis=1)) and np.allclose(binary_scales(w, 0), qw.scale)
    per_tensor = quantize_weights(w, axis=0, bits=1, per_channel=False)
    assert per_tensor.scale.shape == (1,) and per_tensor.scale[0] == pytest.approx(np.abs(w).mean())


def test_all_zero_channel_and_pow2_scheme():
    w = np.zeros((3, 4))
    w[1] = [0.3, -0.2, 0.5, 0.1]
    for bits in (1, 2):
        qw = quantize_weights(w, axis=0, bits=bits)
        assert np.all(qw.scale > 0)
        pw = quantize_weights(w, axis=0, bits=bits, scheme="pow2")
        assert np.all(np.log2(pw.scale) == np.round(np.log2(pw.scale)))


@pytest.mark.parametrize("bits, datapath", [(2, "s2"), (1, "s1")])
def test_lowering_puts_weighted_layers_on_the_lowbit_datapath(bits, datapath):
    g = fc_chain()
    plan = lower(g.graph(), g.quant, RequantProfile(), LowerOptions(plan_memory=False, weight_bits=bits))
    weighted = [layer for layer in plan.layers if layer.op == "fully_connected"]
    assert weighted and all(layer.datapath == datapath for layer in weighted)
    for layer in weighted:
        values = set(np.unique(layer.arrays["weights"]).tolist())
        assert values <= ({-1, 1} if bits == 1 else {-1, 0, 1})
    report = plan.meta["lowering"]["layers"]
    assert all(report[layer.name]["weight_bits"] == bits for layer in weighted)


def test_per_layer_override_mixes_widths():
    g = fc_chain()
    names = [n.name for n in g.graph().nodes if n.op == "fully_connected"]
    options = LowerOptions(plan_memory=False, weight_bits_overrides={names[0]: 1, names[-1]: 2})
    plan = lower(g.graph(), g.quant, RequantProfile(), options)
    by_name = {layer.name: layer.datapath for layer in plan.layers}
    assert by_name[names[0]] == "s1" and by_name[names[-1]] == "s2"


def test_bad_widths_are_model_errors():
    with pytest.raises(ModelError, match="weight_bits must be 1, 2, 4 or 8, got 3"):
        LowerOptions(weight_bits=3)
    with pytest.raises(ModelError, match="override 'fc' must be 1, 2, 4 or 8, got 16"):
        LowerOptions(weight_bits_overrides={"fc": 16})
    g = fc_chain(bits=16)
    with pytest.raises(ModelError, match="2-bit weights need 8-bit activations"):
        lower(g.graph(), g.quant, RequantProfile(), LowerOptions(plan_memory=False, weight_bits=2))


@pytest.mark.parametrize("bits", [2, 1])
def test_ctable_of_a_lowbit_plan_validates_against_the_schema(bits):
    import json
    from pathlib import Path

    import jsonschema

    from fixpoint.ctable import build_ctable
    from fixpoint.lower import lower_with_report

    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "ctable.schema.json").read_text())
    g = fc_chain()
    plan, report = lower_with_report(g.graph(), g.quant, RequantProfile(), LowerOptions(weight_bits=bits))
    ctable = build_ctable(plan, g.quant, report)
    jsonschema.validate(ctable, schema)
    assert {layer["datapath"] for layer in ctable["layers"]} == {f"s{bits}"}
