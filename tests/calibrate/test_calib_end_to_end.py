"""calibrate() on a real ONNX model (conv -> relu -> gemm) run by onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from calib_models import CONV_OUT, FLAT_OUT, LOGITS, RELU_OUT, build_conv_relu_gemm

from fixpoint.calibrate import (
    CalibrationConfig,
    CalibrationData,
    CalibrationError,
    CalibrationResult,
    calibrate,
    collect_statistics,
    model_input_spec,
)
from fixpoint.ir import Graph, Node, Value

ALL = ["input", CONV_OUT, RELU_OUT, FLAT_OUT, LOGITS]


def _reference_outputs(model: Path, samples: np.ndarray) -> dict[str, np.ndarray]:
    """Every tensor of interest straight from onnxruntime, in one go."""
    import onnx

    proto = onnx.load(str(model))
    for name in (CONV_OUT, RELU_OUT, FLAT_OUT):
        proto.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return {"input": samples, **dict(zip(names, session.run(names, {"input": samples})))}


def _normalized_graph() -> Graph:
    """What the normalizer makes of the model: conv+relu fused, flatten absorbed by the FC."""
    values = {
        "input": Value("input", [1, 6, 6, 1], source_layout="NCHW"),
        RELU_OUT: Value(RELU_OUT, [1, 6, 6, 4], source_layout="NCHW"),
        LOGITS: Value(LOGITS, [1, 1, 1, 5], source_layout="NC"),
    }
    nodes = [
        Node("conv1", "conv2d", ["input", "W0", "B0"], [RELU_OUT], fused=["relu1"]),
        Node("fc", "fully_connected", [RELU_OUT, "W1", "B1"], [LOGITS], fused=["flatten"]),
    ]
    return Graph("m", nodes, values, ["input"], [LOGITS], opset=13, stage="normalized")


def test_model_input_spec(small_model: Path) -> None:
    assert model_input_spec(small_model) == ("input", [1, 6, 6])


def test_statistics_match_onnxruntime(small_model: Path, small_samples: np.ndarray) -> None:
    data = CalibrationData.from_array(small_samples)
    stats = collect_statistics(small_model, ALL, data, batch_size=7, progress=False)
    reference = _reference_outputs(small_model, small_samples)
    for name in ALL:
        assert stats[name].min == pytest.approx(float(reference[name].min()), abs=1e-6), name
        assert stats[name].max == pytest.approx(float(reference[name].max()), abs=1e-6), name
        assert stats[name].count == reference[name].size
        assert stats[name].hist.sum() == reference[name].size


def test_calibrate_every_onnx_activation(small_model: Path, small_samples: np.ndarray) -> None:
    data = CalibrationData.from_array(small_samples)
    result = calibrate(small_model, None, data, CalibrationConfig(policy="auto", progress=False))
    assert list(result.quant) == ALL
    relu = result.quant[RELU_OUT]
    assert relu.lo == 0.0 and relu.zero_point == -128 and relu.scheme == "asymmetric"
    conv = result.quant[CONV_OUT]
    assert conv.lo < 0.0 < conv.hi and conv.observed_min < 0.0
    for name, q in result.quant.items():
        assert q.scale > 0 and q.qmin <= q.zero_point <= q.qmax and q.bits == 8
        assert result.requested[name] == "auto" and q.policy in ("max", "percentile", "kl", "l1", "l2")
    assert result.num_samples == len(small_samples)


def test_calibrate_normalized_graph_with_overrides(small_model: Path, small_samples: np.ndarray) -> None:
    data = CalibrationData.from_array(small_samples)
    config = CalibrationConfig(
        policy="l2",
        progress=False,
        per_tensor_policy={
            "relu1": "max",  # a fused layer's name
            "log*": "percentile:99.0",
        },
    )  # a pattern
    result = calibrate(small_model, _normalized_graph(), data, config)
    assert list(result.quant) == ["input", RELU_OUT, LOGITS]  # conv/flatten outputs are gone
    assert result.quant[RELU_OUT].policy == "max"
    assert result.quant[RELU_OUT].hi == result.stats[RELU_OUT].max
    assert result.quant[LOGITS].policy == "percentile"
    assert result.quant["input"].policy == "l2"


def test_sixteen_bit_defaults_to_symmetric(small_model: Path, small_samples: np.ndarray) -> None:
    result = calibrate(
        small_model,
        None,
        CalibrationData.from_array(small_samples),
        CalibrationConfig(bits=16, policy="kl", progress=False),
    )
    for q in result.quant.values():
        assert q.bits == 16 and q.scheme == "symmetric" and q.zero_point == 0


def test_stats_round_trip(small_model: Path, small_samples: np.ndarray, tmp_path: Path) -> None:
    result = calibrate(small_model, None, CalibrationData.from_array(small_samples), CalibrationConfig(progress=False))
    path = result.save_stats(tmp_path / "out" / "stats.npz")
    assert [p.name for p in path.parent.iterdir()] == ["stats.npz"]  # no temp file left
    loaded = CalibrationResult.load_stats(path)
    assert loaded.quant == result.quant and loaded.requested == result.requested
    for name, stats in result.stats.items():
        other = loaded.stats[name]
        assert np.array_equal(other.hist, stats.hist)
        assert (other.min, other.max, other.count, other.range_exp, other.zeros) == (
            stats.min,
            stats.max,
            stats.count,
            stats.range_exp,
            stats.zeros,
        )


def test_bad_stats_file(tmp_path: Path) -> None:
    (tmp_path / "x.npz").write_bytes(b"nope")
    with pytest.raises(CalibrationError, match="x.npz"):
        CalibrationResult.load_stats(tmp_path / "x.npz")


def test_errors_name_the_culprit(small_model: Path, small_samples: np.ndarray) -> None:
    data = CalibrationData.from_array(small_samples, input_name="image")
    with pytest.raises(CalibrationError, match="model inputs are \\['input'\\].*'image'"):
        calibrate(small_model, None, data, CalibrationConfig(progress=False))
    data = CalibrationData.from_array(small_samples)
    with pytest.raises(CalibrationError, match="unknown range policy 'entropy'"):
        calibrate(small_model, None, data, CalibrationConfig(policy="entropy"))
    with pytest.raises(CalibrationError, match="policy for 'conv\\*'.*'kl' takes no parameter"):
        calibrate(small_model, None, data, CalibrationConfig(per_tensor_policy={"conv*": "kl:3"}))
    with pytest.raises(CalibrationError, match="not activations.*'nope'"):
        collect_statistics(small_model, ["nope"], data, progress=False)
    wrong = CalibrationData.from_array(small_samples[:, :, :5, :5])
    with pytest.raises(CalibrationError, match="onnxruntime failed on samples 0..31"):
        collect_statistics(small_model, [LOGITS], wrong, progress=False)


def test_model_with_fixed_batch_of_one(tmp_path: Path, small_samples: np.ndarray) -> None:
    build_conv_relu_gemm(tmp_path / "b1.onnx", batch=1)
    data = CalibrationData.from_array(small_samples[:5])
    stats = collect_statistics(tmp_path / "b1.onnx", ALL, data, batch_size=32, progress=False)
    reference = _reference_outputs(tmp_path / "b1.onnx", small_samples[:1])
    assert stats[LOGITS].count == 5 * 5 and stats["input"].count == 5 * 36
    assert stats[CONV_OUT].max >= float(reference[CONV_OUT].max())
