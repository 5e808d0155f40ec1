"""Child processes the runner starts (QEMU, the host firmware): spawn with a
log file and a parent-death signal, report death, reap reliably by PID."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: SIGKILL this child when the thread that forked it exits, so a
    killed test run cannot leave QEMU behind. (Hence: start and stop a board
    from the same thread.)"""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class BoardProcess:
    """A started child: its PID, its combined stdout/stderr log, its fate."""

    def __init__(
        self,
        argv: Sequence[str],
        log_path: Path,
        *,
        stdin: int | None = None,
        stdout: int | None = None,
        pass_fds: Sequence[int] = (),
        cwd: Path | None = None,
    ) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in reap()
        try:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL if stdin is None else stdin,
                stdout=self._log if stdout is None else stdout,
                stderr=self._log,
                pass_fds=tuple(pass_fds),
                start_new_session=True,
                preexec_fn=_die_with_parent,
                cwd=cwd,
            )
        except OSError as exc:
            self._log.close()
            raise FileNotFoundError(f"cannot start {self.argv[0]}: {exc.strerror}") from None
        log.debug("started pid %d: %s", self.pid, " ".join(self.argv))

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def name(self) -> str:
        return Path(self.argv[0]).name

    def death(self) -> str | None:
        """None while running, else how it ended (for BoardCrashed)."""
        code = self.popen.poll()
        if code is None:
            return None
        how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
        return f"{self.name} (pid {self.pid}) {how}"

    def log_tail(self, max_lines: int = 20) -> str:
        try:
            text = self.log_path.read_bytes()[-8192:].decode("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-max_lines:])

    def reap(self, grace: float = 3.0) -> None:
        """SIGTERM, wait ``grace`` seconds, SIGKILL; always waits for the PID.

        A stopped process (SIGSTOP, e.g. a stalled-link test) cannot act on
        SIGTERM, so it gets SIGCONT first.
        """
        try:
            if self.popen.poll() is None:
                self._signal(signal.SIGTERM)
                self._signal(signal.SIGCONT)
                try:
                    self.popen.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    log.warning("pid %d ignored SIGTERM for %.1f s, killing it", self.pid, grace)
        finally:
            if self.popen.poll() is None:
                self._signal(signal.SIGKILL)
                self.popen.wait()
            self._log.close()
            log.debug("reaped pid %d (%s)", self.pid, self.death())

    def _signal(self, sig: int) -> None:
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
