"""Double buffering over one :class:`FixpointClient` (docs/serial-protocol.md,
"Double buffering").

A firmware built with a staging buffer (IDENTIFY flag ``staging``) takes the
next sample while the current one is still being computed or read:

    host: RUN_NEXT(i) LOAD_NEXT(i+1)...    [wait]      compare i ...   RUN_NEXT(i+1) LOAD_NEXT(i+2)...
    board:            run i ............ -> output i -> take LOAD_NEXT(i+1) ...

RUN_NEXT copies the staging buffer into the model input and runs; its
response carries the output, so a sample costs one round trip instead of
three, and the next sample's bytes are already on their way. The staging
frames are sent without waiting for their answers: their correctness is
proven by RUN_NEXT's input CRC, exactly as for RUN. Anything unusual -- a
stale or damaged staging buffer, a lost response, a reset -- falls back to
the plain path (``client.infer``: LOAD_INPUT, RUN, READ_OUTPUT with all its
retries) for that sample, so a result is still either exact or an exception.
A board without staging gets the plain path throughout.
"""

from __future__ import annotations

import logging
import time

from . import protocol as p
from .client import FixpointClient
from .errors import BoardProtocolError, BoardReset
from .link import Transient

log = logging.getLogger(__name__)


class StagedInference:
    """``infer(data, next_data)``: the output of exactly ``data``; ``next_data`` is staged meanwhile."""

    def __init__(self, client: FixpointClient) -> None:
        self.client = client
        self.enabled = bool(client.info is not None and client.info.staging)
        self._staged_crc: int | None = None

    def infer(self, data: bytes, next_data: bytes | None = None) -> tuple[bytes, p.RunResult]:
        client = self.client
        if not self.enabled:
            return client.infer(data)
        crc = p.crc32(data)
        try:
            outcome = self._staged(data, crc, next_data)
        except BoardReset as exc:
            client._resume_after_reset(exc)
            outcome = None
        except Transient as exc:
            log.debug("RUN_NEXT not sent (%s)", exc)
            outcome = None
        if outcome is not None:
            client.stats.staged_runs += 1
            return outcome
        client.stats.staging_fallbacks += 1
        self._staged_crc = None
        return client.infer(data)

    def _staged(self, data: bytes, crc: int, next_data: bytes | None) -> tuple[bytes, p.RunResult] | None:
        client = self.client
        start = time.perf_counter()
        if self._staged_crc != crc:
            self._stage(data, wait=True)
        client._input = bytearray(data)  # what the board's input holds after RUN_NEXT's copy
        client._token = (client._token + 1) & 0xFFFFFFFF or 1
        token = client._token
        seq = client._send(p.Command.RUN_NEXT, p.run_payload(token, crc))
        self._staged_crc = None
        if next_data is not None:
            self._stage(next_data, wait=False)
            self._staged_crc = p.crc32(next_data)
        client.stats.transfer_seconds += time.perf_counter() - start
        deadline = time.monotonic() + client.run_timeout + client.timeout
        result = client._await_run(seq, token, deadline, cmd=p.Command.RUN_NEXT)
        if result is None or result.status == p.Status.INPUT_STALE:
            return None  # lost, or the staging buffer was not this sample
        if result.status != p.Status.OK:
            raise BoardProtocolError(
                f"RUN_NEXT: {result.status.name}, model returned {result.model_rc}", status=int(result.status)
            )
        if result.input_crc != crc:
            raise BoardProtocolError(f"RUN_NEXT: board ran on input CRC {result.input_crc:08x}, expected {crc:08x}")
        client._last_run = result
        output = client.inline_output
        if len(output) != client._info().output_size:
            start = time.perf_counter()
            output = client.read_output()  # too big to ride along, or the outcome came from a poll
            client.stats.transfer_seconds += time.perf_counter() - start
        return output, result

    def _stage(self, data: bytes, *, wait: bool) -> None:
        """LOAD_NEXT ``data`` in frame-sized chunks; without ``wait`` the answers are
        not awaited (they are skipped as stale later; RUN_NEXT's CRC is the proof)."""
        client = self.client
        step = client.max_payload - 4
        for pos in range(0, len(data), step):
            payload = p.load_input_payload(pos, data[pos : pos + step])
            if wait:
                client._ok(p.Command.LOAD_NEXT, payload)
            else:
                client._send(p.Command.LOAD_NEXT, payload)
