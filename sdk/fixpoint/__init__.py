"""Fixpoint: float ONNX model -> calibrated integer plan -> C on a board, checked bit for bit."""

__version__ = "0.1.0"
