"""Host side of the streaming commands (docs/serial-protocol.md, "Streaming"):
STATE_RESET, STEP and READ_STATE on a :class:`~fixpoint.serial.client.FixpointClient`.

STEP names its index in the stream, so a STEP the client resends after a lost response is
answered from the board's stored result instead of advancing the state twice; a board that is
at another index answers BAD_RANGE (:class:`StreamOutOfStep`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import protocol as p
from .client import FixpointClient
from .errors import BoardProtocolError

__all__ = ["StepResult", "StreamOutOfStep", "read_state", "state_reset", "step"]

STEP_REPLAYED = 1
STEP_STATE_INLINE = 2
_STEP_FIXED = struct.Struct("<IiB")  # index u32 | rc i32 | flags u8


class StreamOutOfStep(BoardProtocolError):
    """The board is not at the step index the host named (a reset was missed, or a step lost)."""


@dataclass(frozen=True)
class StepResult:
    index: int
    output: bytes
    state: bytes | None  # the state after the step when it fit in the response, else None
    replayed: bool  # answered from the stored result of an already executed step


def state_reset(client: FixpointClient) -> None:
    """Every recurrent layer back to its initial state; the stream index back to 0."""
    frame = client._ok(p.Command.STATE_RESET, accept=(p.Status.OK, p.Status.MODEL_ERROR))
    if frame.status != p.Status.OK:
        rc = struct.unpack_from("<i", frame.body)[0]
        raise BoardProtocolError(f"STATE_RESET: the model returned {rc}", status=frame.status)


def step(
    client: FixpointClient, index: int, data: bytes, output_size: int, state_size: int, timeout: float | None = None
) -> StepResult:
    """Run step ``index`` of the stream on ``data`` (one step's input bytes)."""
    frame = client._ok(
        p.Command.STEP,
        struct.pack("<I", index) + bytes(data),
        timeout=timeout or client.run_timeout,
        accept=(p.Status.OK, p.Status.MODEL_ERROR, p.Status.BAD_RANGE),
    )
    if frame.status == p.Status.BAD_RANGE:
        raise StreamOutOfStep(f"STEP {index}: the board is at another step of its stream", status=frame.status)
    body = frame.body
    if len(body) < _STEP_FIXED.size:
        raise BoardProtocolError(f"STEP {index}: short response ({len(body)} bytes)")
    got, rc, flags = _STEP_FIXED.unpack_from(body)
    if got != index:
        raise BoardProtocolError(f"STEP {index}: response for step {got}")
    if frame.status != p.Status.OK:
        raise BoardProtocolError(f"STEP {index}: the model returned {rc}", status=frame.status)
    rest = body[_STEP_FIXED.size :]
    want = output_size + (state_size if flags & STEP_STATE_INLINE else 0)
    if len(rest) != want:
        raise BoardProtocolError(f"STEP {index}: {len(rest)} bytes of output and state, expected {want}")
    state = rest[output_size:] if flags & STEP_STATE_INLINE else None
    return StepResult(index, rest[:output_size], state, bool(flags & STEP_REPLAYED))


def read_state(client: FixpointClient, size: int, offset: int = 0) -> bytes:
    """``size`` bytes of the board's recurrent state from ``offset``."""
    return client._read_region(p.Command.READ_STATE, offset, size, b"")
