"""The multi-input data layer: keys, counts, labels per output, any input rank, streaming in step."""

from __future__ import annotations

import numpy as np
import pytest

from fixpoint.dataio import DataError, open_inputs, open_output_labels, output_label_batches, read_output_labels
from fixpoint.iospec import SAMPLE_SHAPES, sample_shape


@pytest.mark.parametrize(
    "shapes",
    [
        {"a": (7,), "b": (3, 4, 5, 2)},  # ranks 2 and 5 (with the batch axis)
        {"a": (4, 6), "b": (2, 3, 4)},
    ],
)  # ranks 3 and 4
def test_inputs_of_any_rank_stream_in_step(tmp_path, shapes) -> None:
    rng = np.random.default_rng(0)
    arrays = {k: rng.normal(size=(23, *s)).astype(np.float32) for k, s in shapes.items()}
    np.savez(tmp_path / "d.npz", **arrays)
    specs = [(k, list(s)) for k, s in reversed(shapes.items())]  # plan order, not file order
    data = open_inputs(tmp_path / "d.npz", specs)
    assert data.input_names == [k for k, _ in specs] and len(data) == 23
    batches = list(data.batches(10))
    assert [len(b[0]) for b in batches] == [10, 10, 3]
    for k, (name, _) in enumerate(specs):
        assert np.array_equal(np.concatenate([b[k] for b in batches]), arrays[name])
    feeds = list(data.head(12).feeds(5))
    assert [len(f[specs[0][0]]) for f in feeds] == [5, 5, 2]
    assert all(set(f) == set(shapes) for f in feeds)


def test_labels_per_output(tmp_path) -> None:
    x = np.zeros((6, 3), np.float32)
    np.savez(tmp_path / "d.npz", a=x, b=x, label=np.arange(6), **{"label/q": np.arange(6)[::-1].copy()})
    labels = open_output_labels(tmp_path / "d.npz", 6, ["p", "q", "r"])
    assert list(labels) == ["p", "q"]  # 'label' is the first output's, plan order
    whole = read_output_labels(labels, 6)
    assert whole["p"].tolist() == list(range(6)) and whole["q"].tolist() == list(range(6))[::-1]
    batches = output_label_batches(labels, 4)
    assert [b["q"].tolist() for b in (next(batches), next(batches))] == [[5, 4, 3, 2], [1, 0]]
    assert next(output_label_batches({}, 4)) == {}


def test_first_output_labeled_twice_is_an_error(tmp_path) -> None:
    np.savez(tmp_path / "d.npz", a=np.zeros((3, 2)), label=np.zeros(3, np.int64), **{"label/p": np.zeros(3, np.int64)})
    with pytest.raises(DataError, match="both 'label' and 'label/p' label output 'p'"):
        open_output_labels(tmp_path / "d.npz", 3, ["p", "q"])


def test_sample_shapes_by_source_layout() -> None:
    assert sample_shape("t", [1, 4, 5, 3], "NCHW") == [3, 4, 5]
    assert sample_shape("t", [1, 4, 5, 3], "NHWC") == [4, 5, 3]
    assert sample_shape("t", [1, 1, 1, 9], "NC") == [9]
    assert set(SAMPLE_SHAPES) >= {"NCHW", "NHWC", "NC"}
    with pytest.raises(Exception, match="unknown source layout 'NCDHW'"):
        sample_shape("t", [1, 1, 1, 9], "NCDHW")
