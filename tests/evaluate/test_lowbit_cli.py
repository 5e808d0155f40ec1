"""`fixpoint calibrate --weight-bits 1|2` and per-layer overrides through the real command."""
from __future__ import annotations

from cli_run import MLP, run_fixpoint

from fixpoint.plan import load_plan


def test_binary_with_a_ternary_override_then_simulate(tmp_path):
    out = tmp_path / "plan"
    proc = run_fixpoint("-q", "calibrate", MLP / "model.onnx", "--data", MLP / "calib.npz", "--board", "host",
                        "--weight-bits", "1", "--weight-bits-override", "/net/net.2/*=2", "-o", out)
    assert proc.returncode == 0, proc.stderr
    plan = load_plan(out / "plan.fxplan")
    datapaths = [layer.datapath for layer in plan.layers if layer.op == "fully_connected"]
    assert datapaths == ["s1", "s2", "s1"], datapaths
    sim = run_fixpoint("-q", "simulate", "--plan", out / "plan.fxplan", "--data", MLP / "eval.npz",
                       "-o", tmp_path / "sim.npz")
    assert sim.returncode == 0, sim.stderr


def test_an_unsupported_override_width_is_one_error_line(tmp_path):
    proc = run_fixpoint("-q", "calibrate", MLP / "model.onnx", "--data", MLP / "calib.npz", "--board", "host",
                        "--weight-bits-override", "/net/net.2/*=3", "-o", tmp_path / "plan")
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "/net/net.2/*" in lines[0] and "1, 2, 4 or 8" in lines[0]
    assert not (tmp_path / "plan" / "plan.fxplan").exists()
