"""A host-board "lab unit" for the remote-board tests: the host firmware on a
pseudo-terminal that stays put while the firmware is re-flashed.

    python pty_board.py serve STATE_DIR IMAGE   # prints nothing; STATE_DIR/tty names the pty
    python pty_board.py flash STATE_DIR ELF     # the board's flash command: new image, restart

``serve`` creates a pty (raw), keeps both ends open, runs IMAGE with
stdin/stdout on the master and writes the slave's path to STATE_DIR/tty;
ser2net serves that path like any serial device. ``flash`` copies ELF into
STATE_DIR and sends SIGHUP; ``serve`` then stops the running firmware and
starts the new image, which prints its ready line (like a real board after
the flash tool resets it). SIGTERM stops firmware and server.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tty
from pathlib import Path


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _start(image: Path, master: int) -> subprocess.Popen:
    return subprocess.Popen([str(image)], stdin=master, stdout=master, preexec_fn=_die_with_parent)


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def serve(state: Path, image: Path) -> int:
    master, slave = os.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    requests: list[int] = []
    signal.signal(signal.SIGHUP, lambda *_: requests.append(signal.SIGHUP))
    signal.signal(signal.SIGTERM, lambda *_: requests.append(signal.SIGTERM))
    child = _start(image, master)
    (state / "pid").write_text(str(os.getpid()))
    tmp = state / "tty.tmp"
    tmp.write_text(os.ttyname(slave))
    tmp.replace(state / "tty")
    while True:
        signal.pause()
        while requests:
            if requests.pop(0) == signal.SIGTERM:
                _stop(child)
                return 0
            _stop(child)
            child = _start(state / "flashed.elf", master)
            (state / "flash-count").write_text(str(int(_read(state / "flash-count") or 0) + 1))


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def flash(state: Path, elf: Path) -> int:
    tmp = state / "flashed.elf.tmp"
    shutil.copyfile(elf, tmp)
    os.chmod(tmp, 0o755)
    tmp.replace(state / "flashed.elf")
    os.kill(int((state / "pid").read_text()), signal.SIGHUP)
    print(f"flashed {elf.name}")
    return 0


if __name__ == "__main__":
    verb, folder, path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    sys.exit(serve(folder, path) if verb == "serve" else flash(folder, path))
