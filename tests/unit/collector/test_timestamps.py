"""Timestamp recognition, zones kept, years inferred for syslog."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collector.timestamps import infer_year, leading_timestamp, parse_timestamp

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()


def utc(*args: int, micro: int = 0) -> float:
    return datetime(*args, micro, tzinfo=UTC).timestamp()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("2026-02-28T10:00:00Z rest", utc(2026, 2, 28, 10, 0, 0), "iso"),
        ("2026-02-28T10:00:00.250+02:00 rest", utc(2026, 2, 28, 8, 0, 0, micro=250000), "iso"),
        ("2026-02-28 10:00:00,123 INFO x", utc(2026, 2, 28, 10, 0, 0, micro=123000), "iso"),
        ("2026-02-28T10:00:00-0530 x", utc(2026, 2, 28, 15, 30, 0), "iso"),
        ("[2026-02-28 10:00:00] x", utc(2026, 2, 28, 10, 0, 0), "iso"),
        ("2026/02/28 10:00:00 [error] x", utc(2026, 2, 28, 10, 0, 0), "slash"),
        ("17/06/09 20:10:40 INFO x", utc(2017, 6, 9, 20, 10, 40), "short"),
        ("081109 203615 148 INFO x", utc(2008, 11, 9, 20, 36, 15), "compact"),
        ("[Sun Dec 04 04:47:44 2005] [notice] x", utc(2005, 12, 4, 4, 47, 44), "ctime"),
        ("10/Oct/2000:13:55:36 -0700", utc(2000, 10, 10, 20, 55, 36), "access"),
        ("Feb 27, 2026 1:05:09 PM com.x.Y m", utc(2026, 2, 27, 13, 5, 9), "jul"),
        ("Feb 27, 2026 12:05:09 AM com.x.Y m", utc(2026, 2, 27, 0, 5, 9), "jul"),
        ("Feb 27 10:00:00 host x", utc(2026, 2, 27, 10, 0, 0), "syslog"),
        ("Feb  3 10:00:00 host x", utc(2026, 2, 3, 10, 0, 0), "syslog"),
        ("1117838570 x", 1117838570.0, "epoch"),
        ("11:59:00.500 [main] INFO x", utc(2026, 3, 1, 11, 59, 0, micro=500000), "time"),
    ],
)
def test_leading_timestamps(text: str, expected: float, kind: str) -> None:
    """Each supported layout at the start of a line is parsed to UTC epoch seconds."""
    ts, end, got_kind = leading_timestamp(text, RECEIVED)
    assert got_kind == kind
    assert ts == pytest.approx(expected)
    assert end <= len(text)


def test_no_timestamp() -> None:
    """Text without a leading time gives None; impossible dates are not taken."""
    assert leading_timestamp("hello 2026-01-01", RECEIVED) is None
    assert leading_timestamp("2026-13-45 10:00:00 x", RECEIVED) is None
    assert leading_timestamp("12345 x", RECEIVED) is None


def test_year_inferred_relative_to_receive_time() -> None:
    """A December line received in January belongs to the year before."""
    jan = datetime(2026, 1, 2, tzinfo=UTC).timestamp()
    assert infer_year(12, 31, jan) == 2025
    assert infer_year(1, 1, jan) == 2026
    assert infer_year(1, 3, jan) == 2026  # one day of clock skew is allowed
    assert infer_year(2, 29, jan) == 2024  # the last Feb 29 before
    ts, _, _ = leading_timestamp("Dec 31 23:59:59 h x", jan)
    assert ts == utc(2025, 12, 31, 23, 59, 59)


def test_time_of_day_in_the_future_is_yesterday() -> None:
    """A logback time more than an hour ahead of the receive time is from the day before."""
    ts, _, _ = leading_timestamp("23:00:00.000 x", RECEIVED)
    assert ts == utc(2026, 2, 28, 23, 0, 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1764410400, 1764410400.0),
        (1764410400123, 1764410400.123),
        (1764410400123456, 1764410400.123456),
        ("1764410400.5", 1764410400.5),
        ("2026-02-28T10:00:00Z", utc(2026, 2, 28, 10, 0, 0)),
        ("2026-02-28T10:00:00Z trailing", None),
        ("soon", None),
        (True, None),
        (None, None),
        (-5, None),
        (float("nan"), None),
    ],
)
def test_parse_timestamp_values(value: object, expected: float | None) -> None:
    """Field values: epoch numbers in s/ms/µs and timestamp strings."""
    got = parse_timestamp(value, RECEIVED)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)
