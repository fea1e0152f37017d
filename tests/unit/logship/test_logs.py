"""Unit tests for logship.logs: text by default, JSON lines with LOGSHIP_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging

from logship.logs import JsonFormatter, wants_json


def test_json_formatter_lifts_key_value_fields() -> None:
    """A JSON record has time, level, logger, message and each key=value of the message."""
    record = logging.LogRecord(
        "logship.collector", logging.INFO, __file__, 1, "Agent connected. peer=%s agent=%s",
        ("127.0.0.1:5000", "web-1"), None,
    )  # fmt: skip
    data = json.loads(JsonFormatter().format(record))
    assert data["level"] == "info" and data["logger"] == "logship.collector"
    assert data["message"] == "Agent connected. peer=127.0.0.1:5000 agent=web-1"
    assert data["peer"] == "127.0.0.1:5000" and data["agent"] == "web-1"
    assert data["time"].endswith("+00:00")


def test_format_is_chosen_by_environment() -> None:
    """Only LOGSHIP_LOG_FORMAT=json (any case) selects JSON."""
    assert wants_json({"LOGSHIP_LOG_FORMAT": "JSON"})
    assert not wants_json({})
    assert not wants_json({"LOGSHIP_LOG_FORMAT": "text"})
