"""Errors of the agent. Every retry decision goes through `is_retriable`.

Retried (the collector may be back soon): connection refused/reset/aborted, timeouts, a peer
that closed the connection, DNS failures, and ERROR frames UNAVAILABLE, SHUTTING_DOWN and
INTERNAL. Not retried: AUTH_FAILED (a wrong token stays wrong), protocol bugs (BAD_MAGIC,
BAD_VERSION, FRAME_TOO_LARGE, BAD_MSGPACK, BAD_MESSAGE, UNEXPECTED), TLS certificate errors,
configuration mistakes and unreadable files. `describe(exc)` is how an error reads in a log
line.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

from logship.errors import ConfigError, LogshipError, ProtocolError
from logship.wire import ErrorCode

RETRIABLE_CODES = frozenset({ErrorCode.UNAVAILABLE, ErrorCode.SHUTTING_DOWN, ErrorCode.INTERNAL})


class AgentError(LogshipError):
    """Base class of the agent's own errors."""


class ConnectionClosed(AgentError, ConnectionError):
    """The collector closed the connection without an ERROR frame."""


class AckTimeout(AgentError, TimeoutError):
    """The collector answered neither ACK nor PONG for too long; the connection is abandoned."""


class CollectorError(AgentError):
    """The collector sent an ERROR frame. `code` is a `logship.wire.ErrorCode` value."""

    def __init__(self, code: int, message: str, ids: list[str] | None = None) -> None:
        try:
            name = ErrorCode(code).name
        except ValueError:
            name = f"code {code}"
        super().__init__(f"{name}: {message}")
        self.code = code
        self.name = name
        self.message = message
        self.ids = list(ids or [])


class AuthFailed(CollectorError):
    """The collector refused the agent's token (ERROR AUTH_FAILED). Fatal: never retried."""


class CollectorUnreachable(AgentError):
    """Retries are exhausted: the collector could not be reached or kept failing."""

    def __init__(self, address: str, attempts: int, cause: BaseException) -> None:
        super().__init__(f"collector {address} unreachable after {attempts} attempts ({cause})")
        self.address = address
        self.attempts = attempts
        self.cause = cause


class SourceError(AgentError):
    """A log file cannot be opened or read."""


def collector_error(code: int, message: str, ids: list[str] | None = None) -> CollectorError:
    """The exception for an ERROR frame (AuthFailed for AUTH_FAILED)."""
    if code == ErrorCode.AUTH_FAILED:
        return AuthFailed(code, message, ids)
    return CollectorError(code, message, ids)


def is_retriable(exc: BaseException) -> bool:
    """Whether sending may succeed if the agent reconnects and tries again."""
    if isinstance(exc, CollectorError):
        return exc.code in RETRIABLE_CODES
    if isinstance(exc, (ProtocolError, ConfigError, SourceError, CollectorUnreachable)):
        return False
    if isinstance(exc, ssl.SSLError):
        # A dropped TLS connection is a connection problem; a bad certificate is a setup problem.
        return isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError))
    if isinstance(exc, (asyncio.IncompleteReadError, EOFError)):
        return True  # the peer closed the connection mid-frame
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)):
        return True
    # Other socket-level OSErrors (network unreachable, host down, no route) are transient.
    return isinstance(exc, OSError) and not isinstance(
        exc, (FileNotFoundError, PermissionError, IsADirectoryError)
    )


def describe(exc: BaseException | None) -> str:
    """A short text for an error in a log line ("connection refused", "timed out", ...)."""
    if exc is None:
        return "unknown error"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError) and not str(exc):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text
