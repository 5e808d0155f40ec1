"""Exceptions of the board link. All derive from :class:`BoardError`."""

from __future__ import annotations


class BoardError(RuntimeError):
    """Anything that went wrong talking to a board."""


class BoardTimeout(BoardError):
    """No (valid) answer within the configured timeout, after all retries."""


class BoardProtocolError(BoardError):
    """The board answered, but not as the protocol says (bad status, bad frame)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BoardCrashed(BoardError):
    """The board's process died or the link dropped; carries the log tail."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(f"{message}\n--- board log (tail) ---\n{log_tail}" if log_tail else message)
        self.log_tail = log_tail


class WrongModel(BoardError):
    """The firmware runs a different model than the host expects."""


class BoardReset(BoardError):
    """A response carried another session id: the board was reset (or another
    host took it over) since the session began. The client resumes where it
    can (a new session, input reloaded, the run repeated) and raises this only
    where it cannot."""
