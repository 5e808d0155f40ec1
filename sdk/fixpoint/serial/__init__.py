"""The host side of the Fixpoint serial protocol (docs/serial-protocol.md)."""

from __future__ import annotations

from .client import FixpointClient, LinkStats
from .errors import BoardCrashed, BoardError, BoardProtocolError, BoardReset, BoardTimeout, WrongModel
from .protocol import (
    Command,
    CounterUnit,
    Frame,
    FrameDecoder,
    IdentifyInfo,
    RunResult,
    Status,
    TimingInfo,
    crc32,
    encode_frame,
)

__all__ = [
    "BoardCrashed",
    "BoardError",
    "BoardProtocolError",
    "BoardReset",
    "BoardTimeout",
    "Command",
    "CounterUnit",
    "FixpointClient",
    "Frame",
    "FrameDecoder",
    "IdentifyInfo",
    "LinkStats",
    "RunResult",
    "Status",
    "TimingInfo",
    "WrongModel",
    "crc32",
    "encode_frame",
]
