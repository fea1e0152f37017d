"""Errors of the collector. `is_retriable` decides what publishing retries."""

from __future__ import annotations

import socket

from logship.errors import LogshipError, RecordError


class CollectorError(LogshipError):
    """Base class of the collector's own errors."""


class PublishError(CollectorError):
    """A cleaned batch could not be handed to the broker (after retries)."""


class PoolError(CollectorError):
    """The pre-filter pool could not process a batch (a process died, the pool is closed)."""


class ArchiveError(CollectorError):
    """Received lines could not be archived under storage_path (disk full, permissions)."""


def is_retriable(exc: BaseException) -> bool:
    """Whether an operation that raised `exc` may succeed if tried again.

    Connection problems and timeouts are; data errors (a malformed record, a value the
    serializer refuses) are not.
    """
    if isinstance(exc, (RecordError, ValueError, TypeError, KeyError)):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout, socket.gaierror)):
        return True
    if isinstance(exc, OSError):
        return True
    try:  # kombu/amqp/redis connection errors, without importing them in the agent's world
        from kombu.exceptions import OperationalError

        if isinstance(exc, OperationalError):
            return True
    except ImportError:  # pragma: no cover
        pass
    try:
        from amqp.exceptions import ConnectionError as AmqpConnectionError
        from amqp.exceptions import RecoverableConnectionError

        if isinstance(exc, (AmqpConnectionError, RecoverableConnectionError)):
            return True
    except ImportError:  # pragma: no cover
        pass
    name = type(exc).__name__
    return name in ("MessageNacked", "ConnectionError", "TimeoutError")
