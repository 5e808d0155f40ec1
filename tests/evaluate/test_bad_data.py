"""A corpus of bad data files, generated at test time, through the real `fixpoint` command.

Every bad file given to `simulate`, `eval` or `calibrate` must give exit code 2 and exactly one
stderr line `error: <file>: <what>` naming the file (and the key, field or sample index), no
traceback, no output file -- and must not hang (FIFO) nor inflate a zip bomb into memory.
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cli_run import MLP

FEATURES = 64  # the mlp example takes [N, 64]
HUGE = 3 << 30  # bytes a sparse .npy claims
BOMB = 2 << 30  # bytes the zip bomb's member inflates to


def _samples(n: int = 40) -> np.ndarray:
    return np.random.default_rng(5).normal(0, 1, (n, FEATURES)).astype(np.float32)


def _npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _zip_bomb(path: Path) -> None:
    """A few MB whose 'input' member inflates to BOMB bytes of zeros: a consistent [N, 64] float32."""
    rows = BOMB // (4 * FEATURES)
    zeros = bytes(1 << 24)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open("input.npy", "w", force_zip64=True) as member,
    ):
        member.write(_npy_header((rows, FEATURES)))
        for _ in range(rows * 4 * FEATURES // len(zeros)):
            member.write(zeros)


def _sparse_npy(path: Path, shape: tuple[int, ...], size: int) -> None:
    """An .npy whose header claims ``shape`` float32, ``size`` bytes long, sparse (takes no disk)."""
    with open(path, "wb") as fp:
        fp.write(_npy_header(shape))
        fp.truncate(size)


def _cut(source: Path, path: Path, keep: int) -> None:
    path.write_bytes(source.read_bytes()[:keep])


def _npz_variants(d: Path, good_npz: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    raw = good_npz.read_bytes()
    for k, keep in enumerate((10, 200, len(raw) // 2, len(raw) - 30, len(raw) - 1)):
        files[f"cut{k}_npz"] = d / f"cut{k}.npz"
        _cut(good_npz, files[f"cut{k}_npz"], keep)
    central = raw.rindex(b"PK\x01\x02")
    garbled = bytearray(raw)
    garbled[central + 4 : central + 40] = bytes(range(200, 236))
    files["cd_garbage_npz"] = d / "cd_garbage.npz"
    files["cd_garbage_npz"].write_bytes(bytes(garbled))
    method = bytearray(raw)
    method[central + 10 : central + 12] = (99).to_bytes(2, "little")  # compression method 99
    files["cd_method_npz"] = d / "cd_method.npz"
    files["cd_method_npz"].write_bytes(bytes(method))
    with zipfile.ZipFile(good_npz) as archive:
        info = archive.getinfo("input.npy")
    crc = bytearray(raw)
    crc[info.header_offset + 30 + len("input.npy") + 500] ^= 0xFF  # a data byte: CRC error at the end
    files["crc_npz"] = d / "crc.npz"
    files["crc_npz"].write_bytes(bytes(crc))
    files["lying_npz"] = d / "lying.npz"  # header promises 100 rows, the member holds 50
    with zipfile.ZipFile(files["lying_npz"], "w") as zf:
        zf.writestr("input.npy", _npy_header((100, FEATURES)) + _samples(50).tobytes())
    return files


def _npy_variants(d: Path, good_npy: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    size = good_npy.stat().st_size
    for k, keep in enumerate((4, 40, 200, size - 1)):
        files[f"cut{k}_npy"] = d / f"cut{k}.npy"
        _cut(good_npy, files[f"cut{k}_npy"], keep)
    files["huge_shape_npy"] = d / "huge_shape.npy"  # 3 GB claimed, rows of 65 values
    _sparse_npy(files["huge_shape_npy"], (HUGE // (4 * 65), 65), HUGE)
    files["huge_cut_npy"] = d / "huge_cut.npy"  # 3 GB claimed, 1 GB present
    _sparse_npy(files["huge_cut_npy"], (HUGE // (4 * FEATURES), FEATURES), 1 << 30)
    return files


def _value_variants(d: Path) -> dict[str, Path]:
    x = _samples()
    nan, inf, big = x.copy(), x.copy(), x.astype(np.float64)
    nan[7, 3] = np.nan
    inf[11, 0] = -np.inf
    big[13, 5] = 1e300
    arrays = {
        "strings_npz": np.array([["a"] * FEATURES] * 4),
        "complex_npz": x.astype(np.complex64),
        "int64_npz": x.astype(np.int64),
        "trailing_npz": x[:, :63],
        "rank_npz": x.reshape(40, 8, 8),
        "nan_npz": nan,
        "inf_npz": inf,
        "big_npz": big,
        "empty_rows_npz": x[:0],
    }
    files = {}
    for name, array in arrays.items():
        files[name] = d / f"{name[:-4]}.npz"
        np.savez(files[name], input=array)
    files["nan_npy"] = d / "nan.npy"
    np.save(files["nan_npy"], nan)
    files["objects_npy"] = d / "objects.npy"
    np.save(files["objects_npy"], np.empty((4, FEATURES), dtype=object), allow_pickle=True)
    files["objects_npz"] = d / "objects.npz"
    np.savez(files["objects_npz"], input=np.empty((4, FEATURES), dtype=object))
    files["missing_key_npz"] = d / "missing_key.npz"
    np.savez(files["missing_key_npz"], alpha=x, beta=x)
    files["labels_only_npz"] = d / "labels_only.npz"
    np.savez(files["labels_only_npz"], label=np.zeros(40, np.int64))
    files["float_labels_npz"] = d / "float_labels.npz"
    np.savez(files["float_labels_npz"], input=x, label=np.zeros(40, np.float32))
    files["few_labels_npz"] = d / "few_labels.npz"
    np.savez(files["few_labels_npz"], input=x, label=np.zeros(39, np.int64))
    return files


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad_data")
    np.savez(d / "good.npz", input=_samples(200))
    np.save(d / "good.npy", _samples(200))
    files = {**_npz_variants(d, d / "good.npz"), **_npy_variants(d, d / "good.npy"), **_value_variants(d)}
    for name in ("empty.npz", "empty.npy"):
        (d / name).touch()
        files[name.replace(".", "_")] = d / name
    files["bomb_npz"] = d / "bomb.npz"
    _zip_bomb(files["bomb_npz"])
    files["directory_npz"] = d / "directory.npz"
    files["directory_npz"].mkdir()
    files["empty_folder"] = d / "empty_folder"
    files["empty_folder"].mkdir()
    files["fifo_npz"] = d / "fifo.npz"
    os.mkfifo(files["fifo_npz"])
    files["csv"] = d / "data.csv"
    files["csv"].write_text("1,2,3\n")
    files["missing_npz"] = d / "missing.npz"
    return files


# (file, words the one error line must contain besides the file name); for every command
COMMON = [
    ("strings_npz", ["[input]", "strings", "<U1"]),
    ("objects_npy", ["object"]),
    ("objects_npz", ["[input]", "object"]),
    ("complex_npz", ["[input]", "complex64"]),
    ("int64_npz", ["[input]", "int64"]),
    ("trailing_npz", ["[input]", "[40, 63]", "[N, 64]"]),
    ("rank_npz", ["[input]", "[40, 8, 8]", "[N, 64]"]),
    ("empty_npz", ["empty file"]),
    ("empty_npy", ["empty file"]),
    ("empty_rows_npz", ["no "]),
    *[(f"cut{k}_npz", []) for k in range(5)],
    *[(f"cut{k}_npy", []) for k in range(4)],
    ("cd_garbage_npz", []),
    ("cd_method_npz", []),
    ("crc_npz", ["[input]"]),
    ("lying_npz", ["[input]", "declares", "promises"]),
    ("bomb_npz", ["[input]", "zip bomb"]),
    ("huge_shape_npy", [f"[{HUGE // (4 * 65)}, 65]", "[N, 64]"]),
    ("huge_cut_npy", ["truncated"]),
    ("missing_key_npz", ["'input'", "alpha, beta"]),
    ("labels_only_npz", ["no sample array", "label"]),
    ("nan_npz", ["[input]", "sample 7", "NaN"]),
    ("nan_npy", ["sample 7", "NaN"]),
    ("inf_npz", ["[input]", "sample 11", "Inf"]),
    ("big_npz", ["[input]", "sample 13", "float32 range"]),
    ("fifo_npz", ["FIFO"]),
    ("csv", [".csv"]),
    ("missing_npz", ["no such file"]),
]
NOT_A_FOLDER = [("directory_npz", ["directory"])]
LABELS = [
    ("float_labels_npz", ["[label]", "integer", "float32"]),
    ("few_labels_npz", ["[label]", "[39]", "40 samples"]),
]
CALIBRATE_ONLY = [("empty_folder", ["no .npy files"])]


def _assert_one_error_line(proc: subprocess.CompletedProcess, path: Path, words: list[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for word in [path.name, *words]:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


def _ids(cases: list) -> list[str]:
    return [c[0] for c in cases]


@pytest.mark.parametrize("name, words", COMMON + NOT_A_FOLDER, ids=_ids(COMMON + NOT_A_FOLDER))
def test_simulate_refuses_bad_data(tmp_path, bad, mlp_plan, fixpoint_cli, name, words) -> None:
    out = tmp_path / "out" / "y.npz"
    proc = fixpoint_cli("simulate", "--plan", mlp_plan, "--data", bad[name], "-o", out, timeout=120)
    _assert_one_error_line(proc, bad[name], words)
    assert not out.parent.exists() or not any(out.parent.iterdir())  # no output, no temporary left


@pytest.mark.parametrize("name, words", COMMON + NOT_A_FOLDER + LABELS, ids=_ids(COMMON + NOT_A_FOLDER + LABELS))
def test_eval_refuses_bad_data(tmp_path, bad, mlp_plan, fixpoint_cli, name, words) -> None:
    out = tmp_path / "out"
    proc = fixpoint_cli(
        "eval",
        MLP / "model.onnx",
        "--plan",
        mlp_plan,
        "--data",
        bad[name],
        "--json",
        out / "metrics.json",
        "--report",
        out / "report",
        timeout=120,
    )
    _assert_one_error_line(proc, bad[name], words)
    assert not out.exists()


@pytest.mark.parametrize("name, words", COMMON + CALIBRATE_ONLY, ids=_ids(COMMON + CALIBRATE_ONLY))
def test_calibrate_refuses_bad_data(tmp_path, bad, fixpoint_cli, name, words) -> None:
    out = tmp_path / "out"
    proc = fixpoint_cli(
        "-q", "calibrate", MLP / "model.onnx", "--data", bad[name], "--board", "host", "-o", out, timeout=120
    )
    _assert_one_error_line(proc, bad[name], words)
    assert not out.exists() or not any(out.iterdir())
