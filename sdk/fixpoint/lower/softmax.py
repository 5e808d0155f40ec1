"""Softmax register values from the shared TFLite-exact reference (fixpoint.reference.softmax_params)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fixpoint.ir import ModelError
from fixpoint.reference.softmax_params import softmax_s8_params, softmax_s16_params


def softmax_registers(
    layer: str, dtype: str, input_scale: float, beta: float = 1.0
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(scalar params, arrays) of fp_softmax_params_t for an input of ``dtype`` and scale."""
    try:
        if dtype == "int8":
            p8 = softmax_s8_params(input_scale, beta)
            return {
                "input_multiplier": int(p8.input_multiplier),
                "input_left_shift": int(p8.input_left_shift),
                "diff_min": int(p8.diff_min),
            }, {}
        p16 = softmax_s16_params(input_scale, beta)
        params = {"input_multiplier": int(p16.input_multiplier), "input_left_shift": int(p16.input_left_shift)}
        arrays = {
            "exp_lut": np.asarray(p16.exp_lut, dtype=np.int16),
            "one_over_one_plus_x_lut": np.asarray(p16.one_over_one_plus_x_lut, dtype=np.int16),
        }
        return params, arrays
    except ValueError as exc:
        raise ModelError(f"layer '{layer}': {exc}") from None
