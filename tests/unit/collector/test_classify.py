"""Severity normalization: words, syslog PRI, HTTP status, numeric levels."""

from __future__ import annotations

import pytest

from collector.classify import (
    find_level_word,
    level_from_pri,
    level_from_status,
    normalize_level,
)
from logship.records import LEVELS


@pytest.mark.parametrize(
    ("word", "level"),
    [
        ("INFO", "info"),
        ("info", "info"),
        ("Information", "info"),
        ("WARN", "warning"),
        ("Warning", "warning"),
        ("[warn]", "warning"),
        ("ERR", "error"),
        ("SEVERE", "error"),
        ("FATAL", "critical"),
        ("crit", "critical"),
        ("TRACE", "debug"),
        ("FINEST", "debug"),
        ("notice", "notice"),
        ("emerg", "emergency"),
        ("panic", "emergency"),
        ("alert", "alert"),
        ("<error>", "error"),
        ("bogus", None),
        ("", None),
        (None, None),
        (True, None),
        (3, "error"),
        (7, "debug"),
        (30, "info"),
        (40, "warning"),
        (50, "error"),
        (60, "critical"),
    ],
)
def test_normalize_level(word: object, level: str | None) -> None:
    """Common spellings, cases, brackets and pino/bunyan/syslog numbers map to LEVELS."""
    assert normalize_level(word) == level


def test_every_pri_maps_to_its_severity() -> None:
    """PRI = facility * 8 + severity; the severity decides the level; out of range is None."""
    assert level_from_pri(0) == "emergency"
    assert level_from_pri(34) == "critical"  # auth.crit
    assert level_from_pri(165) == "notice"  # local4.notice
    assert level_from_pri(191) == "debug"
    assert level_from_pri(192) is None
    assert all(level_from_pri(p) in LEVELS for p in range(192))


@pytest.mark.parametrize(
    ("status", "level"),
    [
        (200, "info"),
        (304, "info"),
        (101, "info"),
        (404, "warning"),
        (499, "warning"),
        (500, "error"),
        (503, "error"),
        (99, None),
        (600, None),
    ],
)
def test_http_status_class(status: int, level: str | None) -> None:
    """5xx is error, 4xx warning, 1xx-3xx info."""
    assert level_from_status(status) == level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("[error] mod_jk child in error state", "error"),
        ("ERROR something", "error"),
        ("warning: can't get client address", "warning"),
        ("RAS KERNEL FATAL data TLB error interrupt", "critical"),
        ("an error happened", None),
        ("errors: 0", None),
        ("one two three four five six seven eight ERROR", None),
    ],
)
def test_find_level_word(text: str, level: str | None) -> None:
    """Only clear level words count: UPPER-CASE, bracketed or followed by a colon, early on."""
    assert find_level_word(text) == level
