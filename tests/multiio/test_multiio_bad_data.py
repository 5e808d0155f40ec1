"""Bad data for a two-input model: every command gives exit 2 and one `error:` line naming file and key."""

from __future__ import annotations

import numpy as np
import pytest

COMMANDS = ("calibrate", "simulate", "eval", "hil")


def _arrays(n: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "image": rng.normal(size=(n, 2, 8, 8)).astype(np.float32),
        "aux": rng.normal(size=(n, 3, 8, 8)).astype(np.float32),
    }


def _bad_files(d) -> dict[str, tuple]:
    a = _arrays()
    nan_aux = a["aux"].copy()
    nan_aux[4, 1, 2, 3] = np.nan
    cases = {
        "missing_key": ({"image": a["image"]}, "no array 'aux' for model input 'aux' (keys: image)"),
        "extra_key": ({**a, "Aux": a["aux"]}, "array 'Aux' is not a model input"),
        "wrong_shape": ({**a, "aux": a["aux"][..., :7]}, "[aux]: array shape [10, 3, 8, 7] does not match"),
        "sample_counts": ({**a, "aux": a["aux"][:7]}, "array 'aux' has 7 samples, 'image' has 10"),
        "nan": ({**a, "aux": nan_aux}, "[aux]: sample 4 contains NaN"),
    }
    files = {}
    for name, (arrays, says) in cases.items():
        np.savez(d / f"{name}.npz", **arrays)
        files[name] = (d / f"{name}.npz", says)
    np.save(d / "one_array.npy", a["image"])
    files["npy_for_two_inputs"] = (d / "one_array.npy", "the model has 2 inputs (image, aux); give an .npz")
    return files


def _label_files(d) -> dict[str, tuple]:
    a = _arrays()
    np.savez(d / "unknown_label.npz", **a, **{"label/nope": np.zeros(10, np.int64)})
    np.savez(d / "short_label.npz", **a, label=np.zeros(9, np.int64))
    return {
        "unknown_label": (d / "unknown_label.npz", "labels 'label/nope' name no model output"),
        "short_label": (d / "short_label.npz", "[label]: labels of shape [9] for 10 samples"),
    }


def _command(which: str, files: dict, plan, data, tmp_path) -> list:
    return {
        "calibrate": ["calibrate", files["model"], "--board", "host", "-o", tmp_path / "out", "--data", data],
        "simulate": ["simulate", "--plan", plan, "-o", tmp_path / "sim.npz", "--data", data],
        "eval": ["eval", files["model"], "--plan", plan, "--data", data],
        "hil": ["hil", "--board", "host", "--plan", plan, "--work-dir", tmp_path / "hil", "--data", data],
    }[which]


def _assert_one_error(proc, path, says: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("INFO")]
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), proc.stderr
    assert says in lines[0], lines[0]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    "case", ["missing_key", "extra_key", "wrong_shape", "sample_counts", "nan", "npy_for_two_inputs"]
)
def test_bad_inputs(case, command, model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    path, says = _bad_files(tmp_path)[case]
    proc = fixpoint_cli(*_command(command, model_files("two_inputs"), plan_for("two_inputs", "host"), path, tmp_path))
    _assert_one_error(proc, path, says)
    assert not (tmp_path / "sim.npz").exists() and not (tmp_path / "out" / "plan.fxplan").exists()


@pytest.mark.parametrize("command", ["simulate", "eval", "hil"])
@pytest.mark.parametrize("case", ["unknown_label", "short_label"])
def test_bad_labels(case, command, model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    path, says = _label_files(tmp_path)[case]
    proc = fixpoint_cli(*_command(command, model_files("two_inputs"), plan_for("two_inputs", "host"), path, tmp_path))
    _assert_one_error(proc, path, says)


def test_single_input_model_keeps_its_formats(model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    """One input: the 'input' key, a bare .npy and extra keys are accepted as before."""
    files = model_files("two_outputs")
    with np.load(files["eval"]) as data:
        x = data["x"]
    np.savez(tmp_path / "input_key.npz", input=x, notes=np.zeros(3))
    np.save(tmp_path / "bare.npy", x)
    for data in (tmp_path / "input_key.npz", tmp_path / "bare.npy"):
        proc = fixpoint_cli(
            "-q",
            "simulate",
            "--plan",
            plan_for("two_outputs", "host"),
            "--data",
            data,
            "-o",
            tmp_path / f"{data.stem}.out.npz",
        )
        assert proc.returncode == 0, proc.stderr
        with np.load(tmp_path / f"{data.stem}.out.npz") as got:
            assert got["output/class"].shape == (48, 5) and got["output/box"].shape == (48, 2)
