"""`--policy fixed` / `--override NAME=fixed:MIN,MAX`: the given range, no statistics policy."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.calibrate import CalibrationConfig, CalibrationError, calibrate
from fixpoint.calibrate.data import CalibrationData

from qdq_models import EXAMPLES

MLP = EXAMPLES / "mlp" / "model.onnx"


def _data() -> CalibrationData:
    with np.load(EXAMPLES / "mlp" / "calib.npz") as data:
        return CalibrationData.from_array(data["input"][:32], "input")


def test_override_fixed_range_is_kept():
    config = CalibrationConfig(per_tensor_policy={"logits": "fixed:-20,12.75"}, progress=False)
    result = calibrate(MLP, None, _data(), config)
    q = result.quant["logits"]
    assert (q.policy, q.lo, q.hi) == ("fixed", -20.0, 12.75)
    assert q.scale == pytest.approx(32.75 / 255)
    assert result.quant["input"].policy != "fixed"


def test_policy_fixed_without_a_range_names_the_tensor():
    with pytest.raises(CalibrationError, match="tensor 'input': policy 'fixed' but no range given"):
        calibrate(MLP, None, _data(), CalibrationConfig(policy="fixed", progress=False))


@pytest.mark.parametrize("spec", ["fixed:1", "fixed:3,1", "fixed:a,b", "fixed:-inf,2"])
def test_bad_fixed_range_is_refused(spec):
    with pytest.raises(CalibrationError, match="policy 'fixed' needs a finite range MIN,MAX"):
        CalibrationConfig(per_tensor_policy={"logits": spec}).validate()
