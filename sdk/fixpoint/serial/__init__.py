"""The host side of the Fixpoint serial protocol (docs/serial-protocol.md)."""
from __future__ import annotations

from .client import FixpointClient
from .errors import BoardCrashed, BoardError, BoardProtocolError, BoardTimeout, WrongModel
from .protocol import (Command, CounterUnit, Frame, FrameDecoder, IdentifyInfo, RunResult, Status,
                       TimingInfo, crc32, encode_frame)

__all__ = [
    "BoardCrashed", "BoardError", "BoardProtocolError", "BoardTimeout", "Command", "CounterUnit",
    "FixpointClient", "Frame", "FrameDecoder", "IdentifyInfo", "RunResult", "Status", "TimingInfo",
    "WrongModel", "crc32", "encode_frame",
]
