"""`--encodings FILE`: AIMET 0.6.1 and 2.0.0 files (1.0.0: test_export_roundtrip) pin activations and weights."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from fixpoint.cli import main
from fixpoint.plan import load_plan

from qdq_models import EXAMPLES

MLP = EXAMPLES / "mlp" / "model.onnx"
WEIGHT = "net.2.weight"  # [64, 128], Gemm transB=1: output channels on axis 0
LAYER = "/net/net.2/Gemm"


def _weight_scales() -> np.ndarray:
    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(MLP)).graph.initializer}
    return np.abs(inits[WEIGHT]).max(axis=1).astype(np.float64) / 127.0


def _v061() -> dict:
    return {
        "version": "0.6.1",
        "activation_encodings": {
            "logits": [
                {
                    "bitwidth": 8,
                    "dtype": "int",
                    "is_symmetric": "False",
                    "min": -10.0,
                    "max": 10.0,
                    "offset": -128,
                    "scale": 0.08,
                }
            ]
        },
        "param_encodings": {
            WEIGHT: [
                {
                    "bitwidth": 8,
                    "dtype": "int",
                    "is_symmetric": "True",
                    "offset": -128,
                    "scale": float(s),
                    "min": -127 * float(s),
                    "max": 127 * float(s),
                }
                for s in _weight_scales()
            ]
        },
    }


def _v200() -> dict:
    return {
        "version": "2.0.0",
        "encodings": [
            {"name": "logits", "output_dtype": "int8", "y_scale": 0.08, "y_zero_point": 3},
            {
                "name": WEIGHT,
                "output_dtype": "int8",
                "y_scale": [float(s) for s in _weight_scales()],
                "y_zero_point": [0] * 64,
                "axis": 0,
            },
        ],
    }


def _run(tmp_path, data: dict, capsys) -> tuple[int, str]:
    enc = tmp_path / "enc.json"
    enc.write_text(json.dumps(data))
    code = main(
        [
            "-q",
            "calibrate",
            str(MLP),
            "--data",
            str(EXAMPLES / "mlp" / "calib.npz"),
            "--board",
            "host",
            "-o",
            str(tmp_path / "out"),
            "--encodings",
            str(enc),
        ]
    )
    return code, capsys.readouterr().err


@pytest.mark.parametrize("make,zero_point", [(_v061, 0), (_v200, 3)])
def test_encodings_pin_activation_and_weights(tmp_path, capsys, make, zero_point):
    code, err = _run(tmp_path, make(), capsys)
    assert code == 0, err
    plan = load_plan(tmp_path / "out" / "plan.fxplan")
    logits = next(t for t in plan.tensors if t.name == "logits")
    assert (logits.scale, logits.zero_point) == (0.08, zero_point)
    layers = plan.meta["lowering"]["layers"]
    assert "given_weights" in layers[LAYER]["refinements"]
    np.testing.assert_array_equal(layers[LAYER]["weight_scale"], _weight_scales())
    assert "given_weights" not in layers["/net/net.0/Gemm"]["refinements"]  # not in the file: calibrated


def test_encodings_for_another_model_list_the_names(tmp_path, capsys):
    data = _v200()
    data["encodings"] += [
        {"name": "conv9_out", "output_dtype": "uint8", "y_scale": 0.1},
        {"name": "conv9.weight", "output_dtype": "int8", "y_scale": 0.1},
    ]
    code, err = _run(tmp_path, data, capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "2 encoding name(s) match no tensor" in lines[0] and "conv9_out, conv9.weight" in lines[0]
    assert not (tmp_path / "out" / "plan.fxplan").exists()


@pytest.mark.parametrize(
    "entry,needle",
    [
        ({"name": "logits", "output_dtype": "int8", "y_scale": 0.0}, "tensor 'logits': quantization scale 0.0"),
        (
            {"name": "logits", "output_dtype": "uint8", "y_scale": 0.1, "y_zero_point": 300},
            "tensor 'logits': zero point 300 is outside its type's range [0, 255]",
        ),
    ],
)
def test_bad_encoding_names_the_tensor(tmp_path, capsys, entry, needle):
    code, err = _run(tmp_path, {"version": "2.0.0", "encodings": [entry]}, capsys)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
