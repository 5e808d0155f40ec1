"""Post-training calibration: float activations -> integer ranges (TensorQuant).

    data = load_samples("calib.npz", input_name, input_shape)
    result = calibrate("model.onnx", normalized_graph, data, CalibrationConfig())
    result.quant["conv1_out"]  # TensorQuant(scale, zero_point, lo, hi, policy, ...)

See docs/calibration.md.
"""
from fixpoint.calibrate.api import calibrate, calibration_targets, tensor_quant
from fixpoint.calibrate.collect import collect_statistics, model_input_spec
from fixpoint.calibrate.config import DEFAULT_POLICY, CalibrationConfig
from fixpoint.calibrate.data import CalibrationData, load_samples
from fixpoint.calibrate.errors import CalibrationDataError, CalibrationError
from fixpoint.calibrate.histogram import TensorStats
from fixpoint.calibrate.policies import POLICIES, ClipRange, choose_range
from fixpoint.calibrate.qparams import quant_from_range
from fixpoint.calibrate.result import CalibrationResult

__all__ = [
    "DEFAULT_POLICY", "POLICIES", "CalibrationConfig", "CalibrationData", "CalibrationDataError",
    "CalibrationError", "CalibrationResult", "ClipRange", "TensorStats", "calibrate",
    "calibration_targets", "choose_range", "collect_statistics", "load_samples",
    "model_input_spec", "quant_from_range", "tensor_quant",
]
