"""`fixpoint hil --device URL` against boards that are already running: a QEMU
board listening on a TCP socket (socket://) and the host board behind ser2net
(rfc2217://). Nothing is launched by fixpoint; IDENTIFY proves the running
firmware is the plan's, and every sample must be bit-exact."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from lab_harness import BIN, EXAMPLES, scaled, start_pty_board, start_ser2net

from fixpoint.boards import load_board
from fixpoint.boards.process import BoardProcess
from fixpoint.boards.runner import qemu_argv
from fixpoint.hil.firmware import build_model_firmware

SAMPLES = 10


def _hil(board: str, plan, device: str, work: Path) -> dict:
    argv = [
        str(BIN / "fixpoint"),
        "--quiet",
        "hil",
        "--board",
        board,
        "--plan",
        str(plan.plan_path),
        "--data",
        str(EXAMPLES / "mlp" / "eval.npz"),
        "-n",
        str(SAMPLES),
        "--device",
        device,
        "--work-dir",
        str(work),
        "--json",
        str(work / "result.json"),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=scaled(600.0), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((work / "result.json").read_text())
    assert result["bit_exact"] == SAMPLES and not result["failures"], result
    return result


def test_device_socket_url_attaches_to_a_running_qemu_board(mlp_host_plan, tmp_path: Path) -> None:
    board = load_board("mps2-an386")  # the default requantization profile, as the host board's plan
    image, _ = build_model_firmware(mlp_host_plan.plan, board, tmp_path / "fw")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        qemu = BoardProcess(
            qemu_argv(board, image, listener.fileno()), tmp_path / "qemu.log", pass_fds=[listener.fileno()]
        )
        try:
            port = listener.getsockname()[1]
            result = _hil("mps2-an386", mlp_host_plan, f"socket://127.0.0.1:{port}", tmp_path / "work")
            assert result["counter_unit"] == "instructions"
            assert qemu.death() is None  # fixpoint did not start or stop it
        finally:
            qemu.reap()


def test_device_rfc2217_url_attaches_to_a_host_board_behind_ser2net(mlp_host_plan, tmp_path: Path) -> None:
    image, _ = build_model_firmware(mlp_host_plan.plan, "host", tmp_path / "fw")
    unit = start_pty_board(tmp_path / "unit", image, tmp_path)
    try:
        ser2net, port = start_ser2net((tmp_path / "unit" / "tty").read_text(), tmp_path)
        try:
            _hil("host", mlp_host_plan, f"rfc2217://127.0.0.1:{port}?ign_set_control", tmp_path / "work")
            assert unit.death() is None
        finally:
            ser2net.reap()
    finally:
        unit.reap()
