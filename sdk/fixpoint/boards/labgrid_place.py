"""Boards on other hosts, through an existing labgrid coordinator.

A board file with a ``[labgrid]`` table names a place. :func:`acquired_place`
connects to the coordinator with labgrid's own client library, acquires the
place (waiting up to ``acquire_timeout`` while another user holds it),
finds the place's exported serial port (a ``NetworkSerialPort``: ser2net on
the exporter, RFC2217 or raw TCP) and yields it as a pyserial URL. The place
is released on leaving the block -- normally, on an error or on
KeyboardInterrupt -- and the coordinator connection closed.

labgrid is an optional dependency (``pip install fixpoint[lab]``); it is
imported only when a board names a place.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fixpoint.serial.errors import BoardError

from .board import Board, Labgrid

log = logging.getLogger(__name__)

DEFAULT_COORDINATOR = "127.0.0.1:20408"
CONNECT_TIMEOUT = 30.0
RFC2217_NEGOTIATION_TIMEOUT = 10
_RETRY_INTERVAL = 1.0


class LabgridError(BoardError):
    """The coordinator is unreachable, the place is unknown, busy or has no usable serial port."""


@dataclass(frozen=True)
class PlacePort:
    """The serial port a place exports, as the exporter published it."""

    place: str
    coordinator: str
    url: str  # rfc2217://host:port?... or socket://host:port
    speed: int  # the exporter's baud rate (0: not published)


def coordinator_address(lab: Labgrid) -> str:
    """The board file's address, else ``$LG_COORDINATOR`` (labgrid's own variable), else labgrid's default."""
    return lab.coordinator or os.environ.get("LG_COORDINATOR") or DEFAULT_COORDINATOR


@contextmanager
def acquired_place(board: Board) -> Iterator[PlacePort]:
    """Acquire ``board.labgrid.place`` for the duration of the block and yield its serial port."""
    lab = board.labgrid
    if lab is None:
        raise LabgridError(f"{board.name}: the board file names no labgrid place")
    address = coordinator_address(lab)
    session = _connect(board, address)
    try:
        _acquire(board, session, lab, address)
        try:
            yield _serial_port(board, session, lab, address)
        finally:
            _release(board, session, lab.place)
    finally:
        _disconnect(session)


def _client_module() -> Any:
    try:
        from labgrid.remote import client
    except ImportError as exc:
        raise LabgridError(f"labgrid is not installed ({exc}); pip install 'fixpoint[lab]'") from None
    return client


def _connect(board: Board, address: str) -> Any:
    client = _client_module()
    from labgrid.util.proxy import proxymanager

    loop = client.ensure_event_loop()
    # acquire()/release() read the place and their flags from an argparse namespace (the CLI's)
    args = argparse.Namespace(place=board.labgrid.place, allow_unmatched=False, kick=False)
    grpc_address = proxymanager.get_grpc_address(address, default_port=20408)
    session = client.ClientSession(grpc_address, loop, args=args)
    try:
        with _labgrid_logs_demoted():
            loop.run_until_complete(asyncio.wait_for(session.start(), CONNECT_TIMEOUT))
    except (asyncio.TimeoutError, client.Error, OSError) as exc:
        _disconnect(session)
        raise LabgridError(
            f"{board.name}: cannot reach labgrid coordinator {address}: {_text(exc) or 'no answer'}"
        ) from None
    log.debug("%s: connected to labgrid coordinator %s", board.name, address)
    return session


class _Demote(logging.Filter):
    """labgrid's client reports a refused connection with logging.error on the root
    logger; the user gets our one ``error:`` line instead, the detail goes to debug."""

    def filter(self, record: logging.LogRecord) -> bool:
        if f"{os.sep}labgrid{os.sep}" in record.pathname and record.levelno >= logging.WARNING:
            log.debug("labgrid: %s", record.getMessage())
            return False
        return True


@contextmanager
def _labgrid_logs_demoted() -> Iterator[None]:
    root = logging.getLogger()
    demote = _Demote()
    handlers = list(root.handlers)
    for handler in handlers:
        handler.addFilter(demote)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(demote)


def _run(session: Any, coroutine: Any) -> str:
    """Run one of the client's CLI coroutines; their progress messages go to the log, not stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        session.loop.run_until_complete(coroutine)
    return out.getvalue().strip()


def _acquire(board: Board, session: Any, lab: Labgrid, address: str) -> None:
    client = _client_module()
    deadline = time.monotonic() + lab.acquire_timeout
    while True:
        try:
            said = _run(session, session.acquire())
            log.info("%s: %s (coordinator %s)", board.name, said or f"acquired place {lab.place}", address)
            return
        except client.Error as exc:
            reason = _text(exc)
            busy = "already acquired by" in reason
            if not busy or time.monotonic() >= deadline:
                raise LabgridError(f"{board.name}: labgrid place '{lab.place}' at {address}: {reason}") from None
        log.info("%s: place %s is busy, waiting", board.name, lab.place)
        time.sleep(_RETRY_INTERVAL)
        _run(session, session.sync_with_coordinator())


def _serial_port(board: Board, session: Any, lab: Labgrid, address: str) -> PlacePort:
    place = session.get_place(lab.place)
    ports = {
        name: entry for (name, cls), entry in session.get_target_resources(place).items() if cls == "NetworkSerialPort"
    }
    if lab.serial_resource:
        ports = {k: v for k, v in ports.items() if k == lab.serial_resource}
    where = f"{board.name}: labgrid place '{lab.place}' at {address}"
    if len(ports) != 1:
        which = f" named '{lab.serial_resource}'" if lab.serial_resource else ""
        found = ", ".join(sorted(ports)) or "none"
        raise LabgridError(
            f"{where}: expected one NetworkSerialPort{which}, found {found} (set labgrid.serial_resource)"
            if len(ports) > 1
            else f"{where}: no NetworkSerialPort{which} among the place's resources"
        )
    name, entry = next(iter(ports.items()))
    if not entry.avail:
        raise LabgridError(f"{where}: serial port '{name}' is not available (exporter offline?)")
    params = entry.args
    address_part = f"{_host(params['host'])}:{int(params['port'])}"
    # as labgrid's own SerialDriver: ser2net does not acknowledge SET_CONTROL on every
    # device (ptys, some USB UARTs), and option negotiation may be slow on a busy exporter
    url = (
        f"socket://{address_part}"
        if params.get("protocol") == "raw"
        else f"rfc2217://{address_part}?ign_set_control&timeout={RFC2217_NEGOTIATION_TIMEOUT}"
    )
    log.info("%s: place %s serial port %s", board.name, lab.place, url)
    return PlacePort(lab.place, address, url, int(params.get("speed") or 0))


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _release(board: Board, session: Any, place: str) -> None:
    """Never raises: a release that fails is logged (the coordinator also frees
    a place whose client went away only on request, so say it loudly)."""
    try:
        said = _run(session, session.release())
        log.info("%s: %s", board.name, said or f"released place {place}")
    except Exception as exc:  # noqa: BLE001 - releasing must not hide the original error
        log.error("%s: could not release labgrid place %s: %s", board.name, place, _text(exc))


def _disconnect(session: Any) -> None:
    try:
        session.loop.run_until_complete(session.stop())
        session.loop.run_until_complete(session.close())
    except Exception as exc:  # noqa: BLE001 - best effort on the way out
        log.debug("labgrid session close: %s", exc)


def _text(exc: BaseException) -> str:
    args = getattr(exc, "args", ())
    return " ".join(str(a) for a in args) if args else str(exc)
