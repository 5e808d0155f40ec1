"""Streamed data in and out: `simulate` and `eval` give exactly the in-memory results, the output
.npz is written atomically, and calibration reads only its first samples."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from cli_run import MLP
from fixpoint.commands._common import load_labeled
from fixpoint.commands.simulate_cmd import BATCH
from fixpoint.dataio import DataError, label_batches, open_labels, open_samples, stream_npz
from fixpoint.evaluate import evaluate
from fixpoint.pipeline import load_graph
from fixpoint.plan import load_plan
from fixpoint.sim.executor import dequantize, quantize_input, run_plan


def _samples(n: int, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (n, 64)).astype(np.float32)


def _listing(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_simulate_streams_batches_exactly(tmp_path, mlp_plan, fixpoint_cli, suffix) -> None:
    x = _samples(BATCH + 904)  # more than one batch, the last one short
    data = tmp_path / f"x{suffix}"
    if suffix == ".npy":
        np.save(data, x)
    else:
        np.savez_compressed(data, input=x)
    out = tmp_path / "out" / "y.npz"
    proc = fixpoint_cli("simulate", "--plan", mlp_plan, "--data", data, "-o", out)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    plan = load_plan(mlp_plan)
    want = run_plan(plan, [quantize_input(plan, x)]).outputs[0]
    with np.load(out) as got:
        assert got.files == ["output_int", "output"]
        diff = np.flatnonzero((got["output_int"] != want).reshape(len(x), -1).any(axis=1))
        assert diff.size == 0, f"samples differ: {diff[:10]}"
        assert np.array_equal(got["output"], dequantize(plan, plan.outputs[0], want))
    assert _listing(out.parent) == ["y.npz"]  # no temporary left behind


def test_simulate_capture_streams_every_layer(tmp_path, mlp_plan, fixpoint_cli) -> None:
    x = _samples(300)
    np.savez(tmp_path / "x.npz", input=x)
    out = tmp_path / "y.npz"
    proc = fixpoint_cli("simulate", "--plan", mlp_plan, "--data", tmp_path / "x.npz", "-o", out, "--capture")
    assert proc.returncode == 0, proc.stderr
    plan = load_plan(mlp_plan)
    want = run_plan(plan, [quantize_input(plan, x)], capture=True).intermediates
    with np.load(out) as got:
        assert got.files == ["output_int", "output", *(f"tensor/{name}" for name in want)]
        for name, values in want.items():
            assert np.array_equal(got[f"tensor/{name}"], values), name


def test_eval_streamed_equals_evaluate_on_arrays(tmp_path, mlp_plan, fixpoint_cli) -> None:
    proc = fixpoint_cli(
        "-q",
        "eval",
        MLP / "model.onnx",
        "--plan",
        mlp_plan,
        "--data",
        MLP / "eval.npz",
        "--batch-size",
        "48",
        "--json",
        tmp_path / "m.json",
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads((tmp_path / "m.json").read_text())
    with np.load(MLP / "eval.npz") as data:
        want = evaluate(
            MLP / "model.onnx",
            load_graph(MLP / "model.onnx"),
            load_plan(mlp_plan),
            data["input"],
            data["label"],
            batch_size=48,
        )
    assert got["n_samples"] == want.n_samples == 1000
    for key in ("float_metric", "int_metric", "drop", "agreement", "output_sqnr_db"):
        assert got[key] == getattr(want, key), key
    assert [e["sqnr_db"] for e in got["per_layer"]] == [e.sqnr_db for e in want.per_layer]


def test_load_labeled_reads_whole_arrays_with_the_same_checks(tmp_path) -> None:
    x, labels = load_labeled(MLP / "eval.npz", None)
    with np.load(MLP / "eval.npz") as data:
        assert np.array_equal(x, data["input"]) and np.array_equal(labels, data["label"])
    assert x.dtype == np.float32 and labels.dtype == np.int64
    bad = _samples(5)
    bad[3, 1] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(DataError, match=r"bad\.npy: sample 3 contains NaN"):
        load_labeled(tmp_path / "bad.npy", None)


def test_labels_stream_aligned_with_samples(tmp_path) -> None:
    x, y = _samples(103), np.arange(103).reshape(103, 1)
    np.savez(tmp_path / "d.npz", input=x, label=y)
    samples = open_samples(tmp_path / "d.npz", "input", [64])
    labels = open_labels(tmp_path / "d.npz", len(samples))
    pairs = list(zip(samples.batches(10), label_batches(labels, 10)))
    assert [len(a) for a, _ in pairs] == [len(b) for _, b in pairs] == [10] * 10 + [3]
    assert np.array_equal(np.concatenate([b for _, b in pairs]), y.reshape(-1))
    assert np.array_equal(np.concatenate([a for a, _ in pairs]), x)


def test_head_reads_only_the_first_samples(tmp_path) -> None:
    x = _samples(50)
    x[40, 0] = np.nan  # beyond the head: never read
    np.save(tmp_path / "x.npy", x)
    head = open_samples(tmp_path / "x.npy", "x", [64]).head(33)
    head.scan()
    assert len(head) == 33 and np.array_equal(np.concatenate(list(head.batches(8))), x[:33])


def test_stream_npz_is_atomic_and_keeps_keys(tmp_path) -> None:
    out = tmp_path / "o.npz"
    with stream_npz(out, 5) as writer:
        writer.append("a//b", np.arange(3, dtype=np.int8).reshape(3, 1))
        writer.append("a//b", np.arange(3, 5, dtype=np.int8).reshape(2, 1))
    with np.load(out) as got:
        assert got.files == ["a//b"] and got["a//b"].ravel().tolist() == [0, 1, 2, 3, 4]
    with zipfile.ZipFile(out) as zf:
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
    before = out.read_bytes()
    with pytest.raises(RuntimeError, match="stop"), stream_npz(out, 5) as writer:
        writer.append("x", np.zeros((2, 3), np.float32))
        raise RuntimeError("stop")
    with pytest.raises(ValueError, match="2 of 5 rows"), stream_npz(out, 5) as writer:
        writer.append("x", np.zeros((2, 3), np.float32))
    assert out.read_bytes() == before and _listing(tmp_path) == ["o.npz"]
    with pytest.raises(DataError, match="is a directory"), stream_npz(tmp_path, 1):
        pass


def test_calibrate_reads_only_the_first_samples(tmp_path, fixpoint_cli) -> None:
    x = _samples(1200, seed=9)
    x[1100, 5] = np.nan  # beyond the default cap of 1000: ignored
    np.savez(tmp_path / "big.npz", input=x)
    np.savez(tmp_path / "first.npz", input=x[:1000])
    proc = fixpoint_cli(
        "calibrate", MLP / "model.onnx", "--data", tmp_path / "big.npz", "--board", "host", "-o", tmp_path / "big"
    )
    assert proc.returncode == 0, proc.stderr
    assert "using the first 1000 of 1200 samples, the other 200 are ignored" in proc.stderr
    proc = fixpoint_cli(
        "-q",
        "calibrate",
        MLP / "model.onnx",
        "--data",
        tmp_path / "first.npz",
        "--board",
        "host",
        "-o",
        tmp_path / "first",
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "big" / "ctable.json").read_text() == (tmp_path / "first" / "ctable.json").read_text()
    assert (
        load_plan(tmp_path / "big" / "plan.fxplan").compute_hash()
        == load_plan(tmp_path / "first" / "plan.fxplan").compute_hash()
    )


def test_calibrate_max_samples_option(tmp_path, fixpoint_cli) -> None:
    x = _samples(40, seed=4)
    np.savez(tmp_path / "x.npz", input=x)
    np.savez(tmp_path / "first.npz", input=x[:25])
    runs = {}
    for name, data, extra in (("capped", "x.npz", ("--max-samples", "25")), ("first", "first.npz", ())):
        proc = fixpoint_cli(
            "calibrate", MLP / "model.onnx", "--data", tmp_path / data, "--board", "host", "-o", tmp_path / name, *extra
        )
        assert proc.returncode == 0, proc.stderr
        runs[name] = proc.stderr
    assert "using the first 25 of 40 samples, the other 15 are ignored (--max-samples)" in runs["capped"]
    assert (
        load_plan(tmp_path / "capped" / "plan.fxplan").compute_hash()
        == load_plan(tmp_path / "first" / "plan.fxplan").compute_hash()
    )
    proc = fixpoint_cli(
        "-q",
        "calibrate",
        MLP / "model.onnx",
        "--data",
        tmp_path / "x.npz",
        "--board",
        "host",
        "-o",
        tmp_path / "bad",
        "--max-samples",
        "0",
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: "), proc.stderr
    assert "max-samples must be >= 1, got 0" in proc.stderr


@pytest.mark.parametrize("options", [["--kernels", "ref"], ["--kernels", "auto", "--sim-threads", "3"]])
def test_simulate_kernel_choice_and_threads_give_the_same_bytes(tmp_path, mlp_plan, fixpoint_cli, options) -> None:
    """--kernels ref (reference kernels) and --sim-threads N change how, never what."""
    x = _samples(301)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "y.npz"
    proc = fixpoint_cli("simulate", "--plan", mlp_plan, "--data", tmp_path / "x.npy", "-o", out, *options)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    plan = load_plan(mlp_plan)
    with np.load(out) as got:
        assert np.array_equal(got["output_int"], run_plan(plan, [quantize_input(plan, x)], kernels="ref").outputs[0])


def test_bad_kernels_option_is_one_error_line(tmp_path, mlp_plan, fixpoint_cli) -> None:
    np.save(tmp_path / "x.npy", _samples(3))
    proc = fixpoint_cli(
        "simulate", "--plan", mlp_plan, "--data", tmp_path / "x.npy", "-o", tmp_path / "y.npz", "--kernels", "fast"
    )
    assert proc.returncode == 2
    assert proc.stderr.count("error:") == 1 and "--kernels" in proc.stderr, proc.stderr
