"""Worker errors and the one retry decision: `is_retriable(exc)`.

Retriable: the database or the network is unavailable for a while (connection refused or lost,
timeouts, server starting or shutting down, too many connections, serialization failures and
deadlocks). The task is retried with backoff and the batch stays in the broker.

Not retriable: the batch itself is wrong (malformed record, values PostgreSQL refuses). Retrying
would loop forever, so the batch goes to the `dead_letters` table with its error instead.
"""

from __future__ import annotations

import asyncpg

from logship.errors import LogshipError, RecordError


class WorkerError(LogshipError):
    """Base class of the errors the workers raise on purpose."""


class SchemaNotFoundError(WorkerError):
    """schema.sql could not be found in any of the places searched."""


# PostgreSQL error classes meaning "try again later" (SQLSTATE classes 08, 40, 53, 57 and
# timeouts); asyncpg maps each class to a base exception.
_RETRIABLE_PG: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # class 08, includes "connection does not exist"
    asyncpg.exceptions.TransactionRollbackError,  # class 40: serialization failure, deadlock
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: too many connections, disk full
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutdown, cannot connect now
    asyncpg.exceptions.LockNotAvailableError,  # 55P03
    asyncpg.exceptions.IdleInTransactionSessionTimeoutError,
    asyncpg.exceptions.IdleSessionTimeoutError,
    asyncpg.exceptions.TransactionTimeoutError,
)

# Errors of the data: never retried.
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    RecordError,
    asyncpg.DataError,  # class 22: invalid text, out of range, bad encoding
    asyncpg.IntegrityConstraintViolationError,  # class 23: NOT NULL, CHECK
    UnicodeError,
    ValueError,
    TypeError,
    OverflowError,
)


def is_data_error(exc: BaseException) -> bool:
    """True when `exc` says the batch itself cannot be stored as it is."""
    return isinstance(exc, _DATA_ERRORS)


def is_retriable(exc: BaseException) -> bool:
    """True when storing the same batch again later may succeed (connection errors, timeouts)."""
    if is_data_error(exc):
        return False
    if isinstance(exc, _RETRIABLE_PG):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        # Client-side: "connection is closed", "pool is closing" after a lost connection.
        text = str(exc).lower()
        return "closed" in text or "connection" in text
    # OSError covers ConnectionError (refused, reset) and socket errors; TimeoutError is an
    # OSError too, asyncio.TimeoutError is the same class on Python 3.11.
    return isinstance(exc, (OSError, TimeoutError, ConnectionError))
