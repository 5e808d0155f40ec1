"""Range search: each tensor's range re-chosen by the simulated network output's error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calib_models import LOGITS, RELU_OUT
from fixpoint.calibrate import CalibrationConfig, calibrate
from fixpoint.calibrate.data import CalibrationData
from fixpoint.frontend import load_model
from fixpoint.ir import ModelError
from fixpoint.lower import LowerOptions
from fixpoint.normalize import normalize
from fixpoint.plan import RequantProfile
from fixpoint.range_search import SearchOptions, _OutputScorer, _search_lowering, search_ranges

# Clipping half of every tensor's values away: a range choice the output error must reject.
BAD = "percentile:50"


def _setup(model: Path, samples: np.ndarray, config: CalibrationConfig):
    graph = normalize(load_model(model))
    data = CalibrationData.from_array(samples, "input")
    return graph, calibrate(model, graph, data, config), data


def test_search_repairs_a_bad_calibration(small_model: Path, small_samples: np.ndarray) -> None:
    config = CalibrationConfig(policy=BAD, progress=False)
    graph, calib, data = _setup(small_model, small_samples, config)
    quant, report = search_ranges(
        graph, calib, config, RequantProfile(), LowerOptions(), data, SearchOptions(num_samples=32, progress=False)
    )
    assert report.final_error < report.start_error / 10
    assert [c.tensor for c in report.choices] == [n for n in graph.activation_names() if n in calib.quant]
    for choice in report.choices:
        assert choice.errors[choice.chosen] == min(choice.errors.values())
        assert quant[choice.tensor].policy == choice.chosen
    assert quant[RELU_OUT].hi > calib.quant[RELU_OUT].hi  # the clipped ReLU range is widened again
    # the reported error is the error of the returned ranges
    scorer = _OutputScorer(graph, RequantProfile(), _search_lowering(LowerOptions()), small_samples[:32])
    assert scorer.error(quant) == pytest.approx(report.final_error, rel=1e-12)


def test_search_never_makes_the_output_worse(small_model: Path, small_samples: np.ndarray) -> None:
    config = CalibrationConfig(progress=False)
    graph, calib, data = _setup(small_model, small_samples, config)
    _, report = search_ranges(
        graph, calib, config, RequantProfile(), LowerOptions(), data, SearchOptions(num_samples=40, progress=False)
    )
    assert report.final_error <= report.start_error
    assert report.evaluations >= 1 + len(report.choices)  # the start, plus at least one try each


def test_pinned_tensors_keep_their_policy(small_model: Path, small_samples: np.ndarray) -> None:
    config = CalibrationConfig(policy=BAD, per_tensor_policy={LOGITS: "max"}, progress=False)
    graph, calib, data = _setup(small_model, small_samples, config)
    quant, report = search_ranges(
        graph,
        calib,
        config,
        RequantProfile(),
        LowerOptions(),
        data,
        SearchOptions(candidates=("max", "l2"), num_samples=16, progress=False),
    )
    assert LOGITS not in {c.tensor for c in report.choices}
    assert quant[LOGITS] == calib.quant[LOGITS]


def test_bad_options_are_model_errors(small_model: Path, small_samples: np.ndarray) -> None:
    config = CalibrationConfig(progress=False)
    graph, calib, data = _setup(small_model, small_samples, config)
    for options, message in (
        (SearchOptions(candidates=()), "no candidate"),
        (SearchOptions(candidates=("max", "median")), "median"),
        (SearchOptions(num_samples=0), "num_samples"),
    ):
        with pytest.raises(ModelError, match=message):
            search_ranges(graph, calib, config, RequantProfile(), LowerOptions(), data, options)


def test_a_candidate_the_board_cannot_represent_is_skipped(
    small_model: Path, small_samples: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fixpoint.range_search as range_search

    real_lower = range_search.lower

    def lower_refusing_max(graph, quant, profile, options):
        if quant[RELU_OUT].policy == "max":
            raise ModelError("layer 'conv1': output scale needs a shift the board lacks")
        return real_lower(graph, quant, profile, options)

    monkeypatch.setattr(range_search, "lower", lower_refusing_max)
    config = CalibrationConfig(policy=BAD, progress=False)
    graph, calib, data = _setup(small_model, small_samples, config)
    quant, report = search_ranges(
        graph, calib, config, RequantProfile(), LowerOptions(), data, SearchOptions(num_samples=16, progress=False)
    )
    relu = next(c for c in report.choices if c.tensor == RELU_OUT)
    assert relu.errors["max"] == float("inf") and relu.chosen != "max"
    assert quant[RELU_OUT].policy != "max"
