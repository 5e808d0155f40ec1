"""The pruned search space of mixed precision keeps, for every budget, a mix at least as good as the
best one of a budget tighter by its stated bound (space.grid_steps), checked against every mix; with
two varying costs (flash, instructions) and with three (RAM too, as 16-bit activations make it)."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.mixed import space as mixed_space
from fixpoint.mixed.space import Choice, LayerOptions, build_space, grid_steps


def _layers(seed: int, count: int, options: int, ram: bool) -> list[LayerOptions]:
    rng = np.random.default_rng(seed)
    layers = []
    for j in range(count):
        choices = [Choice(b, e) for b in (8, 4, 2, 1) for e in ("cpu", "npu")][:options]
        layers.append(
            LayerOptions(
                f"l{j}",
                choices,
                list(rng.exponential(1.0, options)),
                [int(v) for v in rng.integers(500, 5000, options)],
                [int(v) for v in rng.integers(1000, 90000, options)],
                [int(v) * ram for v in rng.integers(0, 3000, options)],
            )
        )
    return layers


def _all_mixes(layers: list[LayerOptions]) -> dict[str, np.ndarray]:
    axes = [np.arange(len(layer.choices)) for layer in layers]
    grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(layers), -1).T
    return {
        key: sum(layer.values(key)[grid[:, j]] for j, layer in enumerate(layers))
        for key in ("loss", "flash", "instructions", "ram")
    }


@pytest.mark.parametrize("seed, ram", [(0, False), (1, False), (2, True)])
def test_pruned_front_is_within_its_bound_of_every_mix(seed, ram, monkeypatch):
    layers = _layers(seed, 7, 6, ram)  # 6^7 = 279,936 mixes: beyond EXHAUSTIVE_MIXES
    space = build_space(layers, 0.0, 0, 0, 0)
    keys = ("flash", "instructions", "ram") if ram else ("flash", "instructions")
    assert set(grid_steps(layers)) == set(keys)
    assert not space.exhaustive and len(space.grid) < 20000
    exact = _all_mixes(layers)
    steps = grid_steps(layers)
    n, bounded = len(layers), 0
    for q in (0.05, 0.2, 0.5, 0.8, 0.95):
        limits = {key: float(np.quantile(exact[key], q)) for key in keys}
        picked = space.fitting(limits)
        assert len(picked), limits
        best = int(picked[0])
        # the pruned space's costs are exact sums of its choices, within the limits
        assert all(getattr(space, key)[best] <= limits[key] for key in keys)
        choices = space.choices(best)
        assert space.loss[best] == pytest.approx(
            sum(layer.loss[layer.choices.index(choices[layer.name])] for layer in layers)
        )
        tighter = np.logical_and.reduce([exact[key] <= limits[key] - n * steps[key] for key in keys])
        within = np.logical_and.reduce([exact[key] <= limits[key] for key in keys])
        if tighter.any():
            bounded += 1
            assert space.loss[best] <= exact["loss"][tighter].min() + 1e-9
        assert space.loss[best] >= exact["loss"][within].min() - 1e-9
    assert bounded >= 2
    # a small space is enumerated whole, and then its best fitting mix is the exact optimum
    monkeypatch.setattr(mixed_space, "EXHAUSTIVE_MIXES", 1 << 20)
    whole = build_space(layers, 0.0, 0, 0, 0)
    assert whole.exhaustive and len(whole.grid) == 6**7
