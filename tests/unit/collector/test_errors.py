"""is_retriable: connection problems are retried, data errors are not."""

from __future__ import annotations

import pytest
from kombu.exceptions import EncodeError, OperationalError

from collector.errors import ArchiveError, CollectorError, PoolError, PublishError, is_retriable
from logship.errors import RecordError


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(),
        ConnectionResetError(),
        TimeoutError(),
        TimeoutError(),
        OperationalError("broker gone"),
        OSError("network unreachable"),
    ],
)
def test_connection_errors_are_retriable(exc: BaseException) -> None:
    """Connection failures and timeouts are retried."""
    assert is_retriable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        RecordError("bad"),
        ValueError("x"),
        TypeError("x"),
        KeyError("x"),
        EncodeError("x"),
        RuntimeError("x"),
    ],
)
def test_data_errors_are_not_retriable(exc: BaseException) -> None:
    """Data errors (and unknown bugs) are not retried."""
    assert not is_retriable(exc)


def test_error_hierarchy() -> None:
    """Every collector error derives from CollectorError."""
    for cls in (ArchiveError, PoolError, PublishError):
        assert issubclass(cls, CollectorError)
