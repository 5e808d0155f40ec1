"""The plan cache (run_calibration's reuse of out_dir): reused only when the model, the
data, the options and the code that makes plans are all unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fixpoint import pipeline
from fixpoint.pipeline import CalibrationJob, run_calibration


def _job(small_model: Path, small_samples: np.ndarray, tmp_path: Path) -> CalibrationJob:
    data = tmp_path / "calib.npz"
    np.savez(data, input=small_samples)
    return CalibrationJob(model_path=small_model, data_path=data)


def test_plan_is_reused_when_nothing_changed(small_model, small_samples, tmp_path) -> None:
    job = _job(small_model, small_samples, tmp_path)
    first = run_calibration(job, tmp_path / "out")
    again = run_calibration(job, tmp_path / "out")
    assert not first.reused and again.reused
    assert again.plan.model_hash == first.plan.model_hash


def test_plan_made_by_other_code_is_not_reused(small_model, small_samples, tmp_path, monkeypatch) -> None:
    job = _job(small_model, small_samples, tmp_path)
    run_calibration(job, tmp_path / "out")
    # as if a lowering source file had been edited since the plan was written
    monkeypatch.setattr(pipeline, "code_digest", lambda: "edited")
    assert not run_calibration(job, tmp_path / "out").reused


def test_code_digest_covers_the_package_and_the_runtime() -> None:
    digest = pipeline.code_digest()
    assert len(digest) == 64 and digest == pipeline.code_digest()
