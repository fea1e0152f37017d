"""The retry decision of the analysis package."""

from __future__ import annotations

import asyncpg
import pytest

from analysis.errors import AnalysisError, ReportError, StateError, is_retriable


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(),
        TimeoutError(),
        OSError("network down"),
        asyncpg.exceptions.ConnectionDoesNotExistError("gone"),
        asyncpg.exceptions.CannotConnectNowError("starting"),
    ],
)
def test_connection_errors_and_timeouts_are_retriable(exc: BaseException) -> None:
    """Lost connections and timeouts may pass on retry."""
    assert is_retriable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        StateError("bad file"),
        ReportError("bad since"),
        ValueError("bug"),
        asyncpg.exceptions.UndefinedTableError("no table"),
    ],
)
def test_data_errors_are_not_retriable(exc: BaseException) -> None:
    """Our own errors, bugs and SQL errors are not retried."""
    assert not is_retriable(exc)
    assert issubclass(StateError, AnalysisError)
