"""Generated C of plans with lut (int8 / int16 tables as const data), prelu (slope array),
minimum / maximum (constant operand) and Sub layers compiles for the host and matches the
simulation bit for bit."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fixpoint.calibrate import CalibrationConfig
from fixpoint.codegen import generate
from fixpoint.pipeline import CalibrationJob, run_calibration

from test_codegen_exact import check_bit_exact

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lower"))
from lut_models import MODELS, write_data  # noqa: E402

CASES = [
    ("unary_a", 8),
    ("unary_a", 16),
    ("unary_domain", 16),
    ("prelu", 8),
    ("prelu", 16),
    ("minmax", 8),
    ("minmax", 16),
    ("sub_div", 8),
]


@pytest.mark.parametrize("model,bits", CASES, ids=[f"{m}-a{b}" for m, b in CASES])
def test_generated_c_of_lut_prelu_minmax_sub_plans(model, bits, tmp_path):
    build, shapes = MODELS[model]
    onnx_path = build(tmp_path / "model.onnx")
    data = write_data(tmp_path / "calib.npz", shapes, 32, seed=1)
    job = CalibrationJob(model_path=onnx_path, data_path=data, calibration=CalibrationConfig(progress=False, bits=bits))
    plan = run_calibration(job, tmp_path / "out").plan
    generated = generate(plan, None, tmp_path / "gen")
    source = "\n".join(p.read_text() for p in (tmp_path / "gen").rglob("*.c"))
    if model.startswith("unary"):
        assert "fp_run_lut_s" in source
    check_bit_exact(plan, generated, seed=3)
