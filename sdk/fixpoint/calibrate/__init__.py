"""Post-training calibration: float activations -> integer ranges (TensorQuant).

    data = load_samples("calib.npz", input_name, input_shape)
    result = calibrate("model.onnx", normalized_graph, data, CalibrationConfig())
    result.quant["conv1_out"]  # TensorQuant(scale, zero_point, lo, hi, policy, ...)

See docs/calibration.md.
"""

from fixpoint.calibrate.api import calibrate, calibration_targets, tensor_quant
from fixpoint.calibrate.collect import collect_statistics, model_input_spec, model_input_specs
from fixpoint.calibrate.config import DEFAULT_POLICY, CalibrationConfig
from fixpoint.calibrate.data import CalibrationData, CalibrationInputs, load_inputs, load_samples
from fixpoint.calibrate.errors import CalibrationDataError, CalibrationError
from fixpoint.calibrate.histogram import TensorStats
from fixpoint.calibrate.policies import POLICIES, ClipRange, choose_range
from fixpoint.calibrate.qparams import quant_from_range
from fixpoint.calibrate.result import CalibrationResult

__all__ = [
    "DEFAULT_POLICY",
    "POLICIES",
    "CalibrationConfig",
    "CalibrationData",
    "CalibrationDataError",
    "CalibrationInputs",
    "CalibrationError",
    "CalibrationResult",
    "ClipRange",
    "TensorStats",
    "calibrate",
    "calibration_targets",
    "choose_range",
    "collect_statistics",
    "load_inputs",
    "load_samples",
    "model_input_spec",
    "model_input_specs",
    "quant_from_range",
    "tensor_quant",
]
