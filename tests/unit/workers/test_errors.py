"""Unit tests of workers.errors.is_retriable: connection errors retry, data errors do not."""

from __future__ import annotations

import asyncpg
import pytest

from logship.errors import RecordError
from workers.errors import WorkerError, is_data_error, is_retriable


def pg(cls: type[asyncpg.PostgresError], message: str = "boom") -> asyncpg.PostgresError:
    return cls(message)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "refused"),
        ConnectionResetError(104, "reset"),
        OSError(113, "no route to host"),
        TimeoutError(),
        pg(asyncpg.CannotConnectNowError, "the database system is starting up"),
        pg(asyncpg.PostgresConnectionError),
        pg(asyncpg.exceptions.ConnectionDoesNotExistError),
        pg(asyncpg.exceptions.AdminShutdownError),
        pg(asyncpg.exceptions.TooManyConnectionsError),
        pg(asyncpg.exceptions.DiskFullError, "could not extend file: No space left on device"),
        pg(asyncpg.exceptions.OutOfMemoryError),
        pg(asyncpg.exceptions.SerializationError),
        pg(asyncpg.exceptions.DeadlockDetectedError),
        pg(asyncpg.exceptions.QueryCanceledError, "canceling statement due to statement timeout"),
        asyncpg.InterfaceError("cannot call Connection.fetchval(): connection is closed"),
    ],
)
def test_transient_errors_are_retriable(exc: BaseException) -> None:
    """Connection errors, timeouts, server shutdown/startup, a full disk or memory on the
    server, serialization failures and deadlocks retry (the batch waits in the broker)."""
    assert is_retriable(exc)
    assert not is_data_error(exc)


@pytest.mark.parametrize(
    "exc",
    [
        RecordError("malformed batch record"),
        pg(asyncpg.DataError),
        pg(asyncpg.exceptions.InvalidTextRepresentationError),
        pg(asyncpg.exceptions.CharacterNotInRepertoireError),
        pg(asyncpg.exceptions.NumericValueOutOfRangeError),
        pg(asyncpg.exceptions.CheckViolationError),
        pg(asyncpg.exceptions.NotNullViolationError),
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
        ValueError("bad"),
        OverflowError("int too big"),
    ],
)
def test_data_errors_are_not_retriable(exc: BaseException) -> None:
    """Data errors (bad records, values PostgreSQL refuses) are never retried."""
    assert not is_retriable(exc)
    assert is_data_error(exc)


def test_other_errors_are_not_retriable() -> None:
    """Unknown errors and schema errors are not retried (they would loop)."""
    assert not is_retriable(pg(asyncpg.exceptions.UndefinedTableError))
    assert not is_retriable(WorkerError("x"))
    assert not is_retriable(asyncpg.InterfaceError("cannot perform operation: another operation"))
