"""Errors of the analysis package: one base class and the retry decision."""

from __future__ import annotations

import asyncio
import socket

from logship.errors import LogshipError


class AnalysisError(LogshipError):
    """Base class of every error the analysis package raises on purpose."""


class StateError(AnalysisError):
    """A persisted template-miner state is unreadable or not a state file (a data error)."""


class ReportError(AnalysisError):
    """A report could not be made: bad arguments or an unreachable database."""


def is_retriable(exc: BaseException) -> bool:
    """True for errors that may pass on retry (connection loss, timeouts), False for data errors.

    Used by the periodic detection task: a lost database connection is retried next period,
    a bug or bad data is not retried in a loop.
    """
    if isinstance(exc, AnalysisError):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError, socket.gaierror)):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a server dependency
        return isinstance(exc, OSError)
    if isinstance(
        exc,
        (
            asyncpg.exceptions.ConnectionDoesNotExistError,
            asyncpg.exceptions.ConnectionFailureError,
            asyncpg.exceptions.CannotConnectNowError,
            asyncpg.exceptions.TooManyConnectionsError,
            asyncpg.exceptions.AdminShutdownError,
            asyncpg.exceptions.SerializationError,
            asyncpg.exceptions.DeadlockDetectedError,
        ),
    ):
        return True
    return isinstance(exc, OSError)
