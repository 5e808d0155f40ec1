"""The zoo's data script: deterministic, torch-free, files keyed by the models' input names with
shapes matching the ONNX inputs, labels only for classifier outputs, only stale files rewritten."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import onnx
import pytest

from zoo_helpers import ZOO, zoo_data

MODELS = sorted(zoo_data.DATA)


def _onnx_io(name: str) -> tuple[dict[str, list], list[str]]:
    m = onnx.load(str(ZOO / name / "model.onnx"))
    inits = {i.name for i in m.graph.initializer}
    inputs = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim][1:] for v in m.graph.input if v.name not in inits
    }
    return inputs, [v.name for v in m.graph.output]


def test_every_model_has_data_and_every_data_set_a_model() -> None:
    assert MODELS == sorted(p.parent.name for p in ZOO.glob("*/model.onnx"))
    assert set(zoo_data.DESCRIPTIONS) == set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_generators_are_deterministic_and_splits_differ(name) -> None:
    a_in, a_t = zoo_data.generate(name, "calib", 6)
    b_in, b_t = zoo_data.generate(name, "calib", 6)
    e_in, _ = zoo_data.generate(name, "eval", 6)
    for k in a_in:
        np.testing.assert_array_equal(a_in[k], b_in[k])
        assert a_in[k].dtype == np.float32 and np.isfinite(a_in[k]).all()
        assert not np.array_equal(a_in[k], e_in[k])
    for k in a_t:
        np.testing.assert_array_equal(a_t[k], b_t[k])


@pytest.mark.parametrize("name", MODELS)
def test_files_match_the_model_inputs_and_outputs(name, zoo_files) -> None:
    inputs, outputs = _onnx_io(name)
    spec = zoo_data.DATA[name]
    assert set(spec.classifier_outputs) <= set(outputs)
    for split, n in (("calib", spec.n_calib), ("eval", spec.n_eval)):
        with np.load(zoo_files / name / f"{split}.npz") as data:
            labels = {k for k in data.files if k.startswith("label")}
            assert set(data.files) - labels == set(inputs), data.files
            for k, shape in inputs.items():
                assert data[k].shape == (n, *shape) and data[k].dtype == np.float32
            if split == "calib":
                assert not labels
                continue
            expected = (
                {"label"}
                if spec.classifier_outputs and len(outputs) == 1
                else {f"label/{o}" for o in spec.classifier_outputs}
            )
            assert labels == expected
            for k in labels:
                assert data[k].shape == (n,) and data[k].dtype == np.int64
                assert len(np.unique(data[k])) > 1


def test_only_missing_or_stale_files_are_written(tmp_path) -> None:
    assert len(zoo_data.write_files(["autoencoder_tanh", "two_inputs"], root=tmp_path)) == 4
    assert zoo_data.write_files(["autoencoder_tanh", "two_inputs"], root=tmp_path) == []
    stale = tmp_path / "two_inputs" / "eval.npz"
    os.utime(stale, (0, 0))
    (tmp_path / "autoencoder_tanh" / "calib.npz").unlink()
    assert sorted(zoo_data.write_files(["autoencoder_tanh", "two_inputs"], root=tmp_path)) == sorted(
        [tmp_path / "autoencoder_tanh" / "calib.npz", stale]
    )
    with np.load(stale) as a, np.load(ZOO / "two_inputs" / "eval.npz") as b:
        assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)


def test_the_script_runs_without_torch(tmp_path) -> None:
    """CI has no torch: the data script must not import it (a poisoned `torch` module proves it)."""
    (tmp_path / "torch.py").write_text("raise ImportError('torch is not available in CI')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, str(ZOO / "zoo_data.py"), "--only", "autoencoder_tanh"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def test_docs_table_lists_every_model() -> None:
    """docs/zoo.md (written by `make zoo-check`) has a row and a section per zoo model."""
    doc = (ZOO.parents[1] / "docs" / "zoo.md").read_text()
    for name in MODELS:
        assert f"| {name} |" in doc and f"## {name}\n" in doc, name
