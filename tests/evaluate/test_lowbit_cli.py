"""`fixpoint calibrate --weight-bits 1|2` and per-layer overrides through the real command."""

from __future__ import annotations

from cli_run import MLP, run_fixpoint

from fixpoint.plan import load_plan


def test_binary_with_a_ternary_override(tmp_path):
    out = tmp_path / "plan"
    proc = run_fixpoint(
        "-q",
        "calibrate",
        MLP / "model.onnx",
        "--data",
        MLP / "calib.npz",
        "--board",
        "host",
        "--weight-bits",
        "1",
        "--weight-bits-override",
        "/net/net.2/*=2",
        "-o",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    plan = load_plan(out / "plan.fxplan")
    datapaths = [layer.datapath for layer in plan.layers if layer.op == "fully_connected"]
    assert datapaths == ["s1", "s2", "s1"], datapaths
