"""Calibration data loading: formats, batching and one-line errors naming the culprit."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fixpoint.calibrate.data import DEFAULT_MAX_SAMPLES, CalibrationData, load_samples
from fixpoint.calibrate.errors import (
    CalibrationDataError,
    DataFileError,
    DataShapeError,
    DataTypeError,
    EmptyDataError,
    NonFiniteDataError,
)
from fixpoint.ir import ModelError

SHAPE = [2, 3]


def _samples(n: int, start: float = 0.0) -> np.ndarray:
    return (start + np.arange(n * 6, dtype=np.float32)).reshape(n, *SHAPE)


def _all(data: CalibrationData, batch: int) -> np.ndarray:
    return np.concatenate(list(data.batches(batch)))


def _expect_error(cls: type, match: list[str], fn, *args, **kwargs) -> str:
    with pytest.raises(cls) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert isinstance(info.value, ModelError)
    assert "\n" not in message
    for part in match:
        assert part in message, f"{part!r} not in {message!r}"
    return message


# --- formats -------------------------------------------------------------------------------


def test_npz_prefers_input_name_then_input_then_single_key(tmp_path: Path) -> None:
    a, b = _samples(3), _samples(4, 100.0)
    np.savez(tmp_path / "named.npz", x=a, input=b)
    assert np.array_equal(_all(load_samples(tmp_path / "named.npz", "x", SHAPE), 2), a)
    assert np.array_equal(_all(load_samples(tmp_path / "named.npz", "other", SHAPE), 2), b)
    np.savez_compressed(tmp_path / "single.npz", whatever=a)
    assert np.array_equal(_all(load_samples(tmp_path / "single.npz", "x", SHAPE), 2), a)


def test_npz_without_matching_key_lists_keys(tmp_path: Path) -> None:
    np.savez(tmp_path / "two.npz", alpha=_samples(2), beta=_samples(2))
    _expect_error(DataFileError, ["two.npz", "'x'", "alpha, beta"], load_samples, tmp_path / "two.npz", "x", SHAPE)


def test_npy_batch_and_single_sample(tmp_path: Path) -> None:
    np.save(tmp_path / "batch.npy", _samples(5))
    data = load_samples(tmp_path / "batch.npy", "x", SHAPE)
    assert len(data) == 5
    assert [len(b) for b in data.batches(2)] == [2, 2, 1]
    np.save(tmp_path / "one.npy", _samples(1)[0])
    assert len(load_samples(tmp_path / "one.npy", "x", SHAPE)) == 1


def test_folder_sorted_by_name_mixing_samples_and_batches(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    np.save(folder / "b.npy", _samples(3, 10.0))  # a batch
    np.save(folder / "a.npy", _samples(1, 0.0)[0])  # one sample
    np.save(folder / "c.npy", _samples(2, 50.0))
    (folder / "notes.txt").write_text("ignored")
    data = load_samples(folder, "x", SHAPE)
    assert len(data) == 6
    expected = np.concatenate([_samples(1, 0.0), _samples(3, 10.0), _samples(2, 50.0)])
    for batch in (1, 4, 7):  # batches cross file boundaries
        assert np.array_equal(_all(data, batch), expected)


def test_uint8_and_float64_are_cast_to_float32(tmp_path: Path) -> None:
    np.save(tmp_path / "u8.npy", np.arange(12, dtype=np.uint8).reshape(2, *SHAPE))
    batch = next(load_samples(tmp_path / "u8.npy", "x", SHAPE).batches(8))
    assert batch.dtype == np.float32 and batch[1, 1, 2] == 11.0
    np.save(tmp_path / "f64.npy", _samples(2).astype(np.float64))
    assert next(load_samples(tmp_path / "f64.npy", "x", SHAPE).batches(8)).dtype == np.float32


def test_fortran_ordered_npy(tmp_path: Path) -> None:
    np.save(tmp_path / "f.npy", np.asfortranarray(_samples(4)))
    assert np.array_equal(_all(load_samples(tmp_path / "f.npy", "x", SHAPE), 3), _samples(4))


def test_batches_are_fresh_arrays(tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", _samples(4))
    batches = list(load_samples(tmp_path / "s.npy", "x", SHAPE).batches(2))
    assert not np.shares_memory(batches[0], batches[1])
    assert np.array_equal(np.concatenate(batches), _samples(4))


def test_from_array() -> None:
    data = CalibrationData.from_array(_samples(3), "x")
    assert len(data) == 3 and data.input_shape == SHAPE


# --- errors --------------------------------------------------------------------------------


def test_empty_sets(tmp_path: Path) -> None:
    np.save(tmp_path / "empty.npy", np.zeros((0, *SHAPE), np.float32))
    _expect_error(
        EmptyDataError, ["empty.npy", "no calibration samples"], load_samples, tmp_path / "empty.npy", "x", SHAPE
    )
    (tmp_path / "nothing").mkdir()
    _expect_error(EmptyDataError, ["nothing", "no .npy"], load_samples, tmp_path / "nothing", "x", SHAPE)


def test_nan_names_file_and_sample_index(tmp_path: Path) -> None:
    values = _samples(300)
    values[261, 1, 0] = np.nan  # beyond the first validation chunk
    np.save(tmp_path / "bad.npy", values)
    _expect_error(NonFiniteDataError, ["bad.npy", "sample 261", "NaN"], load_samples, tmp_path / "bad.npy", "x", SHAPE)


def test_inf_in_npz_and_in_single_sample_file(tmp_path: Path) -> None:
    values = _samples(5)
    values[3, 0, 0] = -np.inf
    np.savez_compressed(tmp_path / "calib.npz", input=values)
    _expect_error(
        NonFiniteDataError,
        ["calib.npz[input]", "sample 3", "Inf"],
        load_samples,
        tmp_path / "calib.npz",
        "input",
        SHAPE,
    )
    folder = tmp_path / "dir"
    folder.mkdir()
    np.save(folder / "000.npy", _samples(1)[0])
    single = _samples(1)[0]
    single[0, 0] = np.inf
    np.save(folder / "001.npy", single)
    _expect_error(NonFiniteDataError, ["001.npy", "Inf"], load_samples, folder, "x", SHAPE)


def test_float64_overflow_is_reported(tmp_path: Path) -> None:
    values = _samples(2).astype(np.float64)
    values[1, 0, 0] = 1e300
    np.save(tmp_path / "big.npy", values)
    _expect_error(
        NonFiniteDataError, ["big.npy", "sample 1", "float32 range"], load_samples, tmp_path / "big.npy", "x", SHAPE
    )


def test_shape_mismatch_shows_expected_and_got(tmp_path: Path) -> None:
    np.save(tmp_path / "wrong.npy", np.zeros((4, 3, 2), np.float32))
    _expect_error(
        DataShapeError, ["wrong.npy", "[4, 3, 2]", "[N, 2, 3]"], load_samples, tmp_path / "wrong.npy", "x", SHAPE
    )


def test_unsafe_integer_dtype_and_object_arrays(tmp_path: Path) -> None:
    np.save(tmp_path / "i64.npy", np.zeros((2, *SHAPE), np.int64))
    _expect_error(DataTypeError, ["i64.npy", "int64", "float32"], load_samples, tmp_path / "i64.npy", "x", SHAPE)
    objects = np.empty((2, *SHAPE), dtype=object)
    np.save(tmp_path / "obj.npy", objects, allow_pickle=True)
    _expect_error(DataTypeError, ["obj.npy", "object"], load_samples, tmp_path / "obj.npy", "x", SHAPE)
    np.save(tmp_path / "c.npy", np.zeros((2, *SHAPE), np.complex64))
    _expect_error(DataTypeError, ["c.npy", "complex64"], load_samples, tmp_path / "c.npy", "x", SHAPE)


def test_unreadable_files(tmp_path: Path) -> None:
    _expect_error(DataFileError, ["missing.npz", "no such file"], load_samples, tmp_path / "missing.npz", "x", SHAPE)
    (tmp_path / "garbage.npy").write_bytes(b"this is not numpy")
    _expect_error(DataFileError, ["garbage.npy"], load_samples, tmp_path / "garbage.npy", "x", SHAPE)
    (tmp_path / "garbage.npz").write_bytes(b"PK nope")
    _expect_error(DataFileError, ["garbage.npz"], load_samples, tmp_path / "garbage.npz", "x", SHAPE)
    (tmp_path / "data.csv").write_text("1,2,3")
    _expect_error(DataFileError, ["data.csv", ".csv"], load_samples, tmp_path / "data.csv", "x", SHAPE)


def test_truncated_files(tmp_path: Path) -> None:
    np.save(tmp_path / "cut.npy", _samples(10))
    raw = (tmp_path / "cut.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(raw[:-20])
    _expect_error(DataFileError, ["cut.npy", "truncated"], load_samples, tmp_path / "cut.npy", "x", SHAPE)
    np.savez(tmp_path / "cut.npz", input=_samples(10))
    raw = (tmp_path / "cut.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    _expect_error(DataFileError, ["cut.npz"], load_samples, tmp_path / "cut.npz", "x", SHAPE)


def test_corrupt_npz_member_is_reported_while_streaming(tmp_path: Path) -> None:
    path = tmp_path / "crc.npz"
    np.savez(path, input=_samples(50))
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("input.npy")
    raw[info.header_offset + 30 + len("input.npy") + 200] ^= 0xFF  # flip a data byte
    path.write_bytes(bytes(raw))
    _expect_error(CalibrationDataError, ["crc.npz"], load_samples, path, "input", SHAPE)


def test_dynamic_input_shape_rejected(tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", _samples(2))
    _expect_error(CalibrationDataError, ["'x'", "static"], load_samples, tmp_path / "s.npy", "x", [-1, 3])


# --- sample cap ------------------------------------------------------------------------------


def test_only_the_first_max_samples_are_read(tmp_path: Path, caplog) -> None:
    values = _samples(30)
    values[20, 0, 0] = np.nan  # beyond the cap: never read, so no error
    np.save(tmp_path / "s.npy", values)
    with caplog.at_level(logging.INFO, logger="fixpoint.calibrate.data"):
        data = load_samples(tmp_path / "s.npy", "x", SHAPE, max_samples=12)
    assert len(data) == 12 and np.array_equal(_all(data, 5), values[:12])
    assert "using the first 12 of 30 samples, the other 18 are ignored" in caplog.text
    assert len(load_samples(tmp_path / "s.npy", "x", SHAPE, max_samples=None, validate=False)) == 30
    _expect_error(
        NonFiniteDataError, ["s.npy", "sample 20"], load_samples, tmp_path / "s.npy", "x", SHAPE, max_samples=None
    )


def test_cap_spans_files_of_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    np.save(folder / "a.npy", _samples(4, 0.0))
    np.save(folder / "b.npy", _samples(4, 100.0))
    np.save(folder / "c.npy", _samples(4, 200.0))
    data = load_samples(folder, "x", SHAPE, max_samples=6)
    assert np.array_equal(_all(data, 4), np.concatenate([_samples(4, 0.0), _samples(2, 100.0)]))


def test_default_cap_and_bad_cap(tmp_path: Path) -> None:
    assert DEFAULT_MAX_SAMPLES == 1000
    np.save(tmp_path / "s.npy", _samples(2))
    _expect_error(
        CalibrationDataError, ["must be >= 1, got 0"], load_samples, tmp_path / "s.npy", "x", SHAPE, max_samples=0
    )


# --- files that are not files ---------------------------------------------------------------


def test_fifo_and_devices_are_refused_without_opening(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.npz")  # opening it for reading would block forever
    _expect_error(DataFileError, ["pipe.npz", "FIFO"], load_samples, tmp_path / "pipe.npz", "x", SHAPE)
    _expect_error(DataFileError, ["/dev/null", "character device"], load_samples, Path("/dev/null"), "x", SHAPE)


def test_labels_member_is_not_taken_for_samples(tmp_path: Path) -> None:
    np.savez(tmp_path / "l.npz", samples=_samples(3), label=np.arange(3))
    assert len(load_samples(tmp_path / "l.npz", "x", SHAPE)) == 3
    np.savez(tmp_path / "only.npz", label=np.arange(3))
    _expect_error(EmptyDataError, ["only.npz", "no sample array"], load_samples, tmp_path / "only.npz", "x", SHAPE)
