"""Errors shared by every role. Each package has its own errors module deriving from these."""

from __future__ import annotations


class LogshipError(Exception):
    """Base class of every error Logship raises on purpose."""


class ConfigError(LogshipError):
    """A configuration file, key or value is wrong. The message names the file and the key."""


class ProtocolError(LogshipError):
    """A frame or message broke the wire protocol. `code` is the ERROR code sent to the peer."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RecordError(LogshipError):
    """A cleaned-batch record does not have the shape the workers expect (a data error)."""
