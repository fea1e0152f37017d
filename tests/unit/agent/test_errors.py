"""Unit tests for agent.errors: which failures `send`/`run` retry and which are fatal."""

from __future__ import annotations

import asyncio
import socket
import ssl

import pytest

from agent.errors import (
    AckTimeout,
    AuthFailed,
    CollectorError,
    CollectorUnreachable,
    ConnectionClosed,
    SourceError,
    collector_error,
    describe,
    is_retriable,
)
from logship.errors import ConfigError, ProtocolError
from logship.wire import ErrorCode


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        BrokenPipeError(32, "Broken pipe"),
        TimeoutError(),
        asyncio.IncompleteReadError(b"ab", 8),
        socket.gaierror(-3, "Temporary failure in name resolution"),
        OSError(113, "No route to host"),
        ConnectionClosed("collector closed the connection"),
        AckTimeout("no answer for 60 s"),
        ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
        collector_error(ErrorCode.UNAVAILABLE, "broker down"),
        collector_error(ErrorCode.SHUTTING_DOWN, "stopping"),
        collector_error(ErrorCode.INTERNAL, "bug"),
    ],
)
def test_connection_problems_are_retried(exc: BaseException) -> None:
    """Refused/reset connections, timeouts, DNS trouble and UNAVAILABLE/SHUTTING_DOWN/INTERNAL
    are retried: the collector may be back soon."""
    assert is_retriable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        collector_error(ErrorCode.AUTH_FAILED, "token refused"),
        collector_error(ErrorCode.BAD_MAGIC, "x"),
        collector_error(ErrorCode.BAD_VERSION, "x"),
        collector_error(ErrorCode.FRAME_TOO_LARGE, "x"),
        collector_error(ErrorCode.BAD_MSGPACK, "x"),
        collector_error(ErrorCode.BAD_MESSAGE, "x"),
        collector_error(ErrorCode.UNEXPECTED, "x"),
        collector_error(99, "a code from the future"),
        ProtocolError(ErrorCode.BAD_MAGIC, "bad magic"),
        ConfigError("key 'collector': bad"),
        SourceError("cannot read x"),
        ssl.SSLCertVerificationError(1, "certificate verify failed"),
        CollectorUnreachable("h:1", 5, ConnectionRefusedError()),
        PermissionError(13, "Permission denied"),
        ValueError("data"),
        asyncio.CancelledError(),
    ],
)
def test_fatal_errors_are_not_retried(exc: BaseException) -> None:
    """A refused token, protocol bugs, TLS certificate and config problems are not retried."""
    assert not is_retriable(exc)


def test_auth_failed_has_its_own_class_and_names_the_code() -> None:
    """ERROR AUTH_FAILED becomes AuthFailed; every collector error names its code."""
    exc = collector_error(ErrorCode.AUTH_FAILED, "token refused", ["a"])
    assert isinstance(exc, AuthFailed) and isinstance(exc, CollectorError)
    assert str(exc) == "AUTH_FAILED: token refused" and exc.ids == ["a"]
    assert str(collector_error(42, "odd")) == "code 42: odd"


def test_describe_gives_a_short_text_for_log_lines() -> None:
    """Refused and silent timeouts read as words; other errors as their text or class name."""
    assert describe(None) == "unknown error"
    assert describe(ConnectionRefusedError(111, "Connection refused")) == "connection refused"
    assert describe(TimeoutError()) == "timed out"
    assert describe(ConnectionClosed("collector closed the connection")) == (
        "collector closed the connection"
    )
    assert describe(ConnectionResetError()) == "ConnectionResetError"
