"""Two-input and two-output models through the real command line on the host:
calibrate -> simulate (every output) -> eval (with labels, without, user metric) -> hil on the host board."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fixpoint.iospec import plan_input_specs, plan_output_names
from fixpoint.plan import load_plan
from fixpoint.sim.executor import dequantize, quantize_input, run_plan

from multiio_models import MODELS


def _inputs(path, plan) -> list[np.ndarray]:
    with np.load(path) as data:
        return [data[name] for name, _ in plan_input_specs(plan)]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_simulate_writes_every_output(model, model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    plan_path = plan_for(model, "host")
    plan = load_plan(plan_path)
    out = tmp_path / "sim.npz"
    proc = fixpoint_cli("-q", "simulate", "--plan", plan_path, "--data", model_files(model)["eval"], "-o", out)
    assert proc.returncode == 0, proc.stderr
    x = _inputs(model_files(model)["eval"], plan)
    want = run_plan(plan, [quantize_input(plan, a, k) for k, a in enumerate(x)]).outputs
    names = plan_output_names(plan)
    with np.load(out) as got:
        if len(names) == 1:
            assert sorted(got.files) == ["output", "output_int"]
            assert np.array_equal(got["output_int"], want[0])
        else:
            assert sorted(got.files) == sorted([f"output/{n}" for n in names] + [f"output_int/{n}" for n in names])
            for k, name in enumerate(names):
                assert np.array_equal(got[f"output_int/{name}"], want[k])
                assert np.array_equal(got[f"output/{name}"], dequantize(plan, plan.outputs[k], want[k]))


def test_two_output_simulation_is_not_truncated(model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    """The regressor head comes out too, close to the float model (the issue: it was dropped)."""
    import onnxruntime as ort

    files = model_files("two_outputs")
    out = tmp_path / "sim.npz"
    assert (
        fixpoint_cli(
            "-q", "simulate", "--plan", plan_for("two_outputs", "host"), "--data", files["eval"], "-o", out
        ).returncode
        == 0
    )
    with np.load(files["eval"]) as data:
        x = data["x"]
    box = ort.InferenceSession(str(files["model"]), providers=["CPUExecutionProvider"]).run(["box"], {"x": x})[0]
    with np.load(out) as got:
        assert got["output/box"].shape == box.shape == (48, 2)
        noise = float(np.sum((got["output/box"].astype(np.float64) - box) ** 2))
        assert 10 * np.log10(float(np.sum(box.astype(np.float64) ** 2)) / noise) > 20  # SQNR, dB


@pytest.mark.parametrize("model", sorted(MODELS))
def test_eval_reports_every_output(model, model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    plan = load_plan(plan_for(model, "host"))
    js = tmp_path / "eval.json"
    proc = fixpoint_cli(
        "-q",
        "eval",
        model_files(model)["model"],
        "--plan",
        plan_for(model, "host"),
        "--data",
        model_files(model)["eval"],
        "--json",
        js,
        "--report",
        tmp_path / "report",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(js.read_text())
    names = plan_output_names(plan)
    assert [o["name"] for o in result["outputs"]] == names
    labeled = {k.partition("/")[2] or names[0] for k in MODELS[model][2]}
    for out in result["outputs"]:
        assert out["labeled"] == (out["name"] in labeled)
        assert (out["float_top1"] is not None) == out["labeled"]
        assert out["sqnr_db"] > 20 and 0.8 <= out["agreement"] <= 1.0
        assert f"output '{out['name']}'" in proc.stdout
    report = (tmp_path / "report" / "report.md").read_text()
    assert "### Per output" in report and all(f"`{n}`" in report for n in names)


@pytest.mark.parametrize("model", ["two_outputs", "dense"])
def test_eval_without_labels_reports_agreement(model, model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    js = tmp_path / "eval.json"
    proc = fixpoint_cli(
        "-q",
        "eval",
        model_files(model)["model"],
        "--plan",
        plan_for(model, "host"),
        "--data",
        model_files(model)["eval_nolabels"],
        "--json",
        js,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    result = json.loads(js.read_text())
    assert result["float_metric"] is None and result["drop"] is None
    for out in result["outputs"]:
        assert not out["labeled"] and out["float_top1"] is None
        assert 0.8 <= out["agreement"] <= 1.0 and out["sqnr_db"] > 20 and out["mse"] >= 0
        assert f"output '{out['name']}': no labels; top-1 agreement with float" in proc.stdout


def test_eval_user_metric(model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    metric = tmp_path / "my_metric.py"
    metric.write_text(
        "import numpy as np\n"
        "def box_error(floats, ints, labels):\n"
        "    return {'box_mae': float(np.mean(np.abs(floats['box'] - ints['box']))),\n"
        "            'n_labeled': len(labels), 'rows': len(floats['class'])}\n"
    )
    js = tmp_path / "eval.json"
    files = model_files("two_outputs")
    proc = fixpoint_cli(
        "-q",
        "eval",
        files["model"],
        "--plan",
        plan_for("two_outputs", "host"),
        "--data",
        files["eval"],
        "--metric",
        f"{metric}:box_error",
        "--json",
        js,
    )
    assert proc.returncode == 0, proc.stderr
    user = json.loads(js.read_text())["user_metric"]
    assert user["n_labeled"] == 1 and user["rows"] == 48 and 0 < user["box_mae"] < 0.1
    assert "metric box_mae:" in proc.stdout


@pytest.mark.parametrize(
    "spec, says",
    [
        ("nomodule_xyz:f", "cannot import 'nomodule_xyz'"),
        ("json:no_such_function", "has no function 'no_such_function'"),
        ("justtext", "expected MODULE:FUNCTION"),
    ],
)
def test_eval_bad_user_metric_is_one_error_line(spec, says, model_files, plan_for, fixpoint_cli) -> None:
    files = model_files("two_outputs")
    proc = fixpoint_cli(
        "eval", files["model"], "--plan", plan_for("two_outputs", "host"), "--data", files["eval"], "--metric", spec
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], proc.stderr


@pytest.mark.parametrize("model", sorted(MODELS))
def test_hil_on_the_host_board(model, model_files, plan_for, fixpoint_cli, tmp_path) -> None:
    js = tmp_path / "hil.json"
    proc = fixpoint_cli(
        "-q",
        "hil",
        "--board",
        "host",
        "--plan",
        plan_for(model, "host"),
        "--data",
        model_files(model)["eval"],
        "--model",
        model_files(model)["model"],
        "--json",
        js,
        "--work-dir",
        tmp_path / "work",
        "--max-drop",
        "100",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(js.read_text())
    assert result["bit_exact"] == result["n_samples"] == 48 and result["passed"]
    plan = load_plan(plan_for(model, "host"))
    assert [o["name"] for o in result["outputs"]] == plan_output_names(plan)
    assert all(o["bit_exact"] == 48 for o in result["outputs"])
    sizes = [plan.tensors[i].nbytes for i in plan.outputs]
    assert [o["bytes_per_sample"] for o in result["outputs"]] == sizes
