"""The byte link under the protocol client: reads that notice a dead board,
writes that cannot block forever, and the padding that flushes a half-received
frame out of the firmware's parser. No framing here (see protocol.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import serial

from .errors import BoardCrashed

log = logging.getLogger(__name__)

#: returns None while the board is alive, else a description of its death
Liveness = Callable[[], "str | None"]

_DEATH_GRACE = 1.0  # seconds to wait for a process whose link dropped to exit


class Transient(Exception):
    """A failed attempt that is worth retrying."""

    def __init__(self, reason: str, timed_out: bool) -> None:
        super().__init__(reason)
        self.timed_out = timed_out


class Link:
    """One pyserial port plus what is known about the board's process."""

    def __init__(
        self,
        port: serial.SerialBase,
        *,
        liveness: Liveness | None,
        log_tail: Callable[[], str] | None,
        poll_interval: float,
        write_timeout: float,
    ) -> None:
        self.port = port
        self._liveness = liveness
        self._log_tail = log_tail or (lambda: "")
        port.timeout = poll_interval  # reads return after at most one poll slice
        try:
            port.write_timeout = write_timeout  # a stalled reader must not block us forever
        except NotImplementedError:
            # pyserial's rfc2217:// has none; its writes go to a TCP socket whose send
            # buffer holds far more than one request, and a dead peer resets the link
            log.debug("%s: no write timeout on this port type", type(port).__name__)

    def read_some(self) -> bytes:
        """What arrived within one poll slice (maybe nothing); BoardCrashed if the board died."""
        try:
            data = self.port.read(1)
            waiting = self.port.in_waiting if data else 0
            if waiting:
                data += self.port.read(waiting)
        except serial.SerialException as exc:
            raise self.crashed(f"link lost ({exc})") from None
        if not data:
            self._check_alive()
        return data

    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except serial.SerialTimeoutException:
            raise Transient("write blocked", timed_out=True) from None
        except serial.SerialException as exc:
            raise self.crashed(f"link lost ({exc})") from None

    def pad(self, nbytes: int) -> None:
        """Complete whatever partial frame the firmware holds: ``nbytes`` is at
        least the longest frame, and zeros contain no sync byte."""
        try:
            self.write(bytes(nbytes))
        except Transient:
            log.debug("link padding blocked; the board is not reading")

    def close(self) -> None:
        self.port.close()

    def _check_alive(self) -> None:
        if self._liveness is not None:
            death = self._liveness()
            if death is not None:
                raise self.crashed(death)

    def crashed(self, what: str) -> BoardCrashed:
        """A dropped link usually means the process is exiting: give it a
        moment so the error can say how it ended (exit code, signal)."""
        if self._liveness is not None:
            deadline = time.monotonic() + _DEATH_GRACE
            while (death := self._liveness()) is None and time.monotonic() < deadline:
                time.sleep(0.02)
            what = death or what
        return BoardCrashed(f"board crashed: {what}", self._log_tail())
