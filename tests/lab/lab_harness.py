"""Services of the remote-board tests, all on 127.0.0.1 and all reaped by PID:
a host-board unit on a pty (pty_board.py), ser2net serving it over RFC2217,
a labgrid coordinator and exporter. Readiness is polled with load-scaled
deadlines (CI is a busy 2-core machine); nothing here asserts wall time."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from fixpoint.boards import boards_dir, load_board
from fixpoint.boards.process import BoardProcess

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
EXAMPLES = HERE.parents[1] / "examples" / "models"


def scaled(seconds: float) -> float:
    """A generous deadline, stretched further when the machine is loaded."""
    load = os.getloadavg()[0] / max(1, os.cpu_count() or 1)
    return seconds * max(1.0, load)


def free_port() -> int:
    """A TCP port that was free a moment ago (for servers that cannot take a bound socket)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check: Callable[[], bool], within: float, process: BoardProcess | None = None) -> None:
    deadline = time.monotonic() + scaled(within)
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and process.death():
            raise AssertionError(f"{what}: {process.death()}\n{process.log_tail()}")
        time.sleep(0.1)
    tail = process.log_tail() if process else ""
    raise AssertionError(f"{what}: not ready within {scaled(within):.0f} s\n{tail}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def tool(name: str) -> str:
    """A required tool: the test fails (not skips) when it is missing."""
    path = shutil.which(name, path=f"{BIN}:{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    assert path, f"{name} not found: run tools/setup.sh (apt ser2net, pip fixpoint[lab])"
    return path


def start_pty_board(state: Path, image: Path, logs: Path) -> BoardProcess:
    """The host firmware on a pty; returns when STATE/tty names the pty."""
    state.mkdir(parents=True, exist_ok=True)
    proc = BoardProcess(
        [sys.executable, str(HERE / "pty_board.py"), "serve", str(state), str(image)], logs / "pty_board.log"
    )
    wait_for("pty board", (state / "tty").exists, 30.0, proc)
    return proc


def flash_command(state: Path) -> list[str]:
    return [sys.executable, str(HERE / "pty_board.py"), "flash", str(state), "{elf}"]


def start_ser2net(device: str, logs: Path, baud: int = 115200) -> tuple[BoardProcess, int]:
    """ser2net serving ``device`` as RFC2217 on 127.0.0.1:PORT (picked free; retried if taken meanwhile)."""
    for _ in range(5):
        port = free_port()
        argv = [
            tool("ser2net"),
            "-d",
            "-n",
            "-u",
            "-P",
            str(logs / f"ser2net-{port}.pid"),
            "-Y",
            f"connection: &fixpoint#  accepter: telnet(rfc2217,mode=server),tcp,127.0.0.1,{port}",
            "-Y",
            f"  connector: serialdev(nouucplock=true),{device},{baud}n81,local",
            "-Y",
            "  options:",
            "-Y",
            "    kickolduser: true",
        ]
        proc = BoardProcess(argv, logs / f"ser2net-{port}.log")
        try:
            wait_for("ser2net", lambda: port_open(port), 30.0, proc)
            return proc, port
        except AssertionError:
            proc.reap()
    raise AssertionError("ser2net did not start on any free port")


def labgrid_client(address: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [tool("labgrid-client"), "-x", address, *args],
        capture_output=True,
        text=True,
        timeout=scaled(60.0),
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"labgrid-client {' '.join(args)}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    return proc


def start_coordinator(logs: Path) -> tuple[BoardProcess, str]:
    for _ in range(5):
        port = free_port()
        # the coordinator keeps places.yaml / resources.yaml in its working directory
        home = logs / f"coordinator-{port}"
        home.mkdir()
        proc = BoardProcess(
            [tool("labgrid-coordinator"), "--listen", f"127.0.0.1:{port}"], logs / f"coordinator-{port}.log", cwd=home
        )
        try:
            wait_for("labgrid-coordinator", lambda: port_open(port), 60.0, proc)
            return proc, f"127.0.0.1:{port}"
        except AssertionError:
            proc.reap()
    raise AssertionError("labgrid-coordinator did not start on any free port")


def start_exporter(address: str, serial_port: int, logs: Path, name: str = "fixpoint-lab") -> BoardProcess:
    """An exporter publishing the running ser2net as a NetworkSerialPort (RFC2217) in group 'unit0'."""
    config = logs / "exporter.yaml"
    config.write_text(
        "unit0:\n  NetworkSerialPort:\n    host: 127.0.0.1\n"
        f"    port: {serial_port}\n    speed: 115200\n    protocol: rfc2217\n"
    )
    proc = BoardProcess(
        [tool("labgrid-exporter"), "--coordinator", address, "--name", name, "--hostname", "127.0.0.1", str(config)],
        logs / "exporter.log",
    )
    wait_for(
        "exporter resource at the coordinator",
        lambda: f"{name}/unit0/NetworkSerialPort" in labgrid_client(address, "resources", check=False).stdout,
        60.0,
        proc,
    )
    return proc


def lab_board_file(
    folder: Path, name: str, *, flash_command: list[str] | None = None, labgrid: dict[str, object] | None = None
) -> Path:
    """boards/host/board.toml as board NAME in FOLDER/NAME, with a flash command and/or a [labgrid] table."""
    text = (boards_dir() / "host" / "board.toml").read_text()
    text = text.replace('name = "host"', f'name = "{name}"', 1)
    if flash_command:
        argv = ", ".join(f'"{a}"' for a in flash_command)
        text = text.replace('method = "exec"', f'method = "exec"\nflash_command = [{argv}]', 1)
    if labgrid:
        text += "\n[labgrid]\n" + "".join(
            f"{k} = {v!r}\n" if not isinstance(v, str) else f'{k} = "{v}"\n' for k, v in labgrid.items()
        )
    board_dir = folder / name
    board_dir.mkdir(parents=True, exist_ok=True)
    (board_dir / "board.toml").write_text(text)
    load_board(board_dir)  # the file must be valid
    return board_dir / "board.toml"
