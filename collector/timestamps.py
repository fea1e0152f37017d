"""Timestamps found in log lines → seconds since the epoch (UTC). Pure.

Recognized at the start of a line (optionally in `[...]`): ISO 8601 / RFC 3339 (`T` or space,
`.` or `,` fractions, `Z` or numeric offsets), `yyyy/mm/dd hh:mm:ss` (nginx errors),
`yy/mm/dd hh:mm:ss` (Spark), `yymmdd hhmmss` (HDFS), ctime `Sun Dec 04 04:47:44 2005`,
syslog `Dec  4 04:47:44` (year inferred), the access-log `04/Dec/2005:04:47:44 +0100`,
java.util.logging `Dec 4, 2005 4:47:44 AM`, 10-digit epoch seconds and a time of day with milliseconds (logback; the date is the
receive date, or the day before when that would be more than an hour in the future).

Times without a zone are taken as UTC; times with an offset keep it (converted to UTC).
A year missing from the line is inferred from the receive time: the latest year that does not
put the event more than a day in the future (a December line received in January is from the
year before).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta, timezone

MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_MON = r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DOW = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_HMS = r"(?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})(?:[.,](?P<frac>\d{1,9}))?"
_TZ = r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)"

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "iso",
        re.compile(
            r"(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})[T ]" + _HMS + r"(?: ?" + _TZ + r")?(?![\d:])"
        ),
    ),
    ("slash", re.compile(r"(?P<Y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})[ T]" + _HMS + r"(?![\d:])")),
    ("short", re.compile(r"(?P<y>\d{2})/(?P<m>\d{2})/(?P<d>\d{2}) " + _HMS + r"(?![\d:])")),
    (
        "compact",
        re.compile(r"(?P<y>\d{2})(?P<m>\d{2})(?P<d>\d{2}) (?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})\b"),
    ),
    ("ctime", re.compile(_DOW + r" " + _MON + r" +(?P<d>\d{1,2}) " + _HMS + r" (?P<Y>\d{4})\b")),
    (
        "access",
        re.compile(r"(?P<d>\d{2})/" + _MON + r"/(?P<Y>\d{4}):" + _HMS + r" (?P<tz>[+-]\d{4})"),
    ),
    (
        "jul",
        re.compile(
            _MON + r" (?P<d>\d{1,2}), (?P<Y>\d{4}) " + _HMS + r" (?P<ampm>AM|PM)\b",
        ),
    ),
    ("syslog", re.compile(_MON + r" +(?P<d>\d{1,2}) " + _HMS + r"(?: (?P<Y>\d{4}))?(?![\d:])")),
    ("epoch", re.compile(r"(?P<epoch>\d{10})(?:\.(?P<efrac>\d{1,9}))?(?![\d.])")),
    # logback's default layout: time of day only; the date is the receive date
    ("time", re.compile(r"(?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})[.,](?P<frac>\d{3})(?![\d:])")),
]
_BY_NAME = dict(PATTERNS)
# Every layout starts with a digit or with a day or month name: try only those that can match.
_LETTER_KINDS = ("ctime", "jul", "syslog")
_LETTER_FIRST = [(k, p) for k, p in PATTERNS if k in _LETTER_KINDS]
_DIGIT_FIRST = [(k, p) for k, p in PATTERNS if k not in _LETTER_KINDS]
_LETTERS = frozenset("ADFJMNOSTW")  # first letters of day and month names
_NUMERIC = re.compile(r"\d{9,}(?:\.\d+)?")


@functools.lru_cache(maxsize=256)  # few distinct offsets; timezone objects are immutable
def _offset(tz: str | None) -> timezone:
    if not tz or tz == "Z":
        return UTC
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


@functools.lru_cache(maxsize=1024)  # pure; lines of one batch share received_at
def infer_year(month: int, day: int, received_at: float) -> int:
    """The year of a month/day without a year, relative to the receive time."""
    year = datetime.fromtimestamp(received_at, UTC).year
    limit = received_at + 86400
    for candidate in (year, year - 1, year - 2, year - 3, year - 4):
        try:
            moment = datetime(candidate, month, day, tzinfo=UTC)
        except ValueError:  # Feb 29 in a year that has none
            continue
        if moment.timestamp() <= limit:
            return candidate
    return year


def _to_epoch(kind: str, g: dict[str, str | None], received_at: float) -> float | None:
    if kind == "epoch":
        value = float(g["epoch"] or 0)
        if g.get("efrac"):
            value += float("0." + (g["efrac"] or "0"))
        return value
    if kind == "time":
        day_start = datetime.fromtimestamp(received_at, UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        try:
            moment = day_start.replace(hour=int(g["H"] or 0), minute=int(g["M"] or 0))
        except ValueError:
            return None
        value = moment.timestamp() + int(g["S"] or 0) + int(g["frac"] or 0) / 1000.0
        return value - 86400 if value > received_at + 3600 else value
    mon = g.get("mon")
    month = MONTHS[mon.lower()] if mon else int(g["m"] or 0)
    day = int(g["d"] or 0)
    if g.get("Y"):
        year = int(g["Y"] or 0)
    elif g.get("y"):
        year = 2000 + int(g["y"] or 0)
    else:
        year = infer_year(month, day, received_at)
    hour, minute, second = int(g["H"] or 0), int(g["M"] or 0), int(g["S"] or 0)
    if g.get("ampm"):
        hour = hour % 12 + (12 if g["ampm"] == "PM" else 0)
    frac = g.get("frac")
    micro = int((frac + "000000")[:6]) if frac else 0
    # What `datetime(..., tzinfo=_offset(tz)).timestamp()` returns (the same integer of
    # microseconds, divided once), without building a datetime for every line.
    days = _days_since_epoch(year, month, day)
    offset = _offset_s(g.get("tz"))
    if days is None or offset is None or not (hour < 24 and minute < 60 and second < 60):
        return None  # datetime() would refuse it
    return ((days * 86400 + hour * 3600 + minute * 60 + second - offset) * 1_000_000 + micro) / (
        1_000_000
    )


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@functools.lru_cache(maxsize=4096)
def _days_since_epoch(year: int, month: int, day: int) -> int | None:
    """Days from 1970-01-01 to a calendar date; None when there is no such date."""
    try:
        return date(year, month, day).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None


@functools.lru_cache(maxsize=256)
def _offset_s(tz: str | None) -> int | None:
    """A zone suffix as seconds east of UTC; None when `timezone()` would refuse it."""
    try:
        delta = _offset(tz).utcoffset(None)
    except ValueError:
        return None
    return delta.days * 86400 + delta.seconds


def leading_timestamp(text: str, received_at: float) -> tuple[float, int, str] | None:
    """A timestamp at the start of `text` (maybe in brackets): (epoch, end index, kind)."""
    start = 0
    bracket = text[:1] == "["
    if bracket:
        start = 1
    first = text[start : start + 1]
    if first.isdigit():
        candidates = _DIGIT_FIRST
    elif first in _LETTERS:
        candidates = _LETTER_FIRST
    else:
        return None
    for kind, pattern in candidates:
        m = pattern.match(text, start)
        if m is None:
            continue
        end = m.end()
        if bracket:
            if text[end : end + 1] != "]":
                continue
            end += 1
        ts = _to_epoch(kind, m.groupdict(), received_at)
        if ts is None:
            continue
        return ts, end, kind
    return None


def parse_timestamp(value: object, received_at: float) -> float | None:
    """A timestamp field value (JSON/logfmt): epoch number (s, ms, µs or ns) or a string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        v = float(value)
        if v != v or v <= 0:  # NaN or not a time
            return None
        while v > 1e11:  # milliseconds, microseconds, nanoseconds
            v /= 1000.0
        return v
    if not isinstance(value, str):
        return None
    s = value.strip()
    if _NUMERIC.fullmatch(s):
        return parse_timestamp(float(s), received_at)
    return _string_ts(s, received_at)


def _string_ts(s: str, received_at: float) -> float | None:
    found = leading_timestamp(s, received_at)
    if found is None:
        return None
    ts, end, _ = found
    return ts if not s[end:].strip() else None


def match_kind(kind: str, text: str, pos: int, received_at: float) -> tuple[float, int] | None:
    """Match one named timestamp kind at `pos` (used by the format parsers)."""
    m = _BY_NAME[kind].match(text, pos)
    if m is None:
        return None
    ts = _to_epoch(kind, m.groupdict(), received_at)
    return None if ts is None else (ts, m.end())
