"""write_report: Markdown + PNGs, atomic, safe with existing folders."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from fixpoint.calibrate import CalibrationConfig, CalibrationError, CalibrationResult, tensor_quant
from fixpoint.calibrate.histogram import TensorObserver
from fixpoint.plan import Plan, PlanLayer, PlanTensor
from fixpoint.report import write_report
from fixpoint.report.markdown import clipped_fraction

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class LayerError:  # the fields fixpoint.evaluate documents
    name: str
    tensor: str
    sqnr_db: float
    max_abs_err: float
    mean_abs_err: float


@dataclass
class EvalResult:
    float_metric: float
    int_metric: float
    drop: float
    per_layer: list[LayerError] = field(default_factory=list)


def _calibration(policy: str = "l2") -> CalibrationResult:
    rng = np.random.default_rng(0)
    tensors = {
        "input": rng.uniform(0, 1, 5000),
        "conv1/relu:0": np.maximum(rng.standard_normal(20000), 0),  # needs a safe file name
        "fc|out": np.concatenate([rng.standard_normal(20000), [15.0]]),
        "dead": np.zeros(100),
    }
    config = CalibrationConfig(policy=policy)
    stats, quant = {}, {}
    for name, values in tensors.items():
        obs = TensorObserver(name)
        obs.update(values.astype(np.float32))
        stats[name] = obs.result()
        quant[name] = tensor_quant(stats[name], policy, {"percentile": 99.99}, config)
    return CalibrationResult(
        quant=quant,
        stats=stats,
        requested={n: policy for n in quant},
        config={"policy": policy, "bits": 8, "scheme": None},
        model_path="m.onnx",
        num_samples=100,
    )


def test_report_with_histograms(tmp_path: Path) -> None:
    calib = _calibration("auto")
    path = write_report(tmp_path / "report", calib)
    assert path == tmp_path / "report" / "report.md"
    text = path.read_text()
    images = sorted((tmp_path / "report" / "img").glob("*.png"))
    assert len(images) == 4
    for image in images:
        assert image.read_bytes()[:8] == PNG_MAGIC
        assert f"(img/{image.name})" in text
    assert "conv1/relu:0" in text and "fc\\|out" in text  # pipes escaped in tables
    assert "auto -> " in text  # the winning policy is named
    assert "## Accuracy" not in text
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no staging folder left


def test_report_with_evaluation_and_plan(tmp_path: Path) -> None:
    layers = [LayerError("conv1", "conv1/relu:0", 41.5, 0.02, 0.004), LayerError("fc", "fc|out", math.inf, 0.0, 0.0)]
    result = EvalResult(0.95, 0.94, 1.0, layers)
    plan = Plan(
        "m",
        [PlanTensor("input", [1, 1, 1, 4], "int8", 0.1, 0), PlanTensor("fc|out", [1, 1, 1, 2], "int8", 0.2, 3)],
        [PlanLayer("fc", "fully_connected", "s8", [0], 1)],
        [0],
        [1],
        arena_size=64,
    )
    path = write_report(tmp_path / "r", _calibration(), result, plan)
    text = path.read_text()
    assert "## Accuracy" in text and "94.00 %" in text and "1.00 pp" in text
    assert "(img/sqnr.png)" in text and (tmp_path / "r" / "img" / "sqnr.png").is_file()
    assert "| conv1 | conv1/relu:0 | 41.5 |" in text and "| inf |" in text
    assert "## Integer plan" in text and "arena: 64 bytes" in text


def test_rewrite_replaces_previous_report(tmp_path: Path) -> None:
    write_report(tmp_path / "r", _calibration())
    (tmp_path / "r" / "img" / "stale.png").write_bytes(b"old")
    write_report(tmp_path / "r", _calibration("max"))
    assert not (tmp_path / "r" / "img" / "stale.png").exists()
    assert "policy `max`" in (tmp_path / "r" / "report.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_refuses_to_replace_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "plan.fxplan").write_bytes(b"precious")
    with pytest.raises(CalibrationError, match="out.*not a Fixpoint report"):
        write_report(tmp_path / "out", _calibration())
    assert (tmp_path / "out" / "plan.fxplan").read_bytes() == b"precious"


def test_failure_leaves_no_partial_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fixpoint.report.writer as writer

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer.markdown, "histogram_lines", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(tmp_path / "r", _calibration())
    assert list(tmp_path.iterdir()) == []


def test_clipped_fraction() -> None:
    obs = TensorObserver("t")
    obs.update(np.linspace(0, 1, 10001, dtype=np.float32))
    assert clipped_fraction(obs.result(), 0.0, 0.9) == pytest.approx(0.1, abs=1e-3)
    assert clipped_fraction(obs.result(), 0.0, 1.0) == pytest.approx(0.0, abs=1e-4)


def test_report_from_saved_stats(tmp_path: Path) -> None:
    calib = _calibration()
    loaded = CalibrationResult.load_stats(calib.save_stats(tmp_path / "stats.npz"))
    text = write_report(tmp_path / "r", loaded).read_text()
    assert text == write_report(tmp_path / "r2", calib).read_text()
