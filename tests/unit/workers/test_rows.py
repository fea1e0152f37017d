"""Unit tests of workers.rows: CleanBatch -> table rows."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from logship.errors import RecordError
from logship.records import CleanBatch, Event
from workers.rows import BATCH_COLUMNS, EVENT_COLUMNS, batch_rows, fields_json, utc_datetime

RECEIVED = 1_764_400_000.25  # 2025-11-29 07:06:40.25 UTC


def make_batch(**kw: object) -> CleanBatch:
    base: dict[str, object] = {
        "batch_id": "b-1",
        "agent": "agent-1",
        "hostname": "web1",
        "path": "/var/log/app.log",
        "file_id": "8:123:abcd",
        "first_offset": 100,
        "received_at": RECEIVED,
        "lines_received": 4,
        "events": [
            Event(
                offset=100,
                line_count=1,
                message="hello",
                format="json",
                ts=1_764_399_999.5,
                host="db1",
                level="info",
                fields={"k": 1},
                template_id=7,
            ),
            Event(offset=106, line_count=2, message="trace\n  at x", format="python"),
        ],
        "drops": {"blank": 1},
        "truncated": 1,
        "fields": {"env": "prod", "k": 0},
    }
    base.update(kw)
    return CleanBatch(**base)  # type: ignore[arg-type]


def col(row: tuple[object, ...], name: str) -> object:
    return row[EVENT_COLUMNS.index(name)]


def test_event_rows_have_schema_columns_and_values() -> None:
    """Each event becomes one row in EVENT_COLUMNS order with the batch's identity."""
    rows = batch_rows(make_batch())
    assert len(rows.events) == 2
    first, second = rows.events
    assert len(first) == len(EVENT_COLUMNS)
    assert col(first, "received_at") == datetime(2025, 11, 29, 7, 6, 40, 250000, tzinfo=UTC)
    assert col(first, "ts") == datetime(2025, 11, 29, 7, 6, 39, 500000, tzinfo=UTC)
    assert col(first, "host") == "db1"
    assert col(first, "path") == "/var/log/app.log"
    assert col(first, "level") == "info"
    assert col(first, "format") == "json"
    assert col(first, "message") == "hello"
    assert col(first, "template_id") == 7
    assert col(first, "agent") == "agent-1"
    assert col(first, "file_id") == "8:123:abcd"
    assert col(first, "byte_offset") == 100
    assert col(first, "line_count") == 1
    assert col(first, "batch_id") == "b-1"
    assert col(second, "ts") is None
    assert col(second, "level") is None
    assert col(second, "line_count") == 2
    assert rows.day == date(2025, 11, 29)


def test_datetimes_are_aware_utc() -> None:
    """received_at and ts are timezone-aware datetimes in UTC."""
    first = batch_rows(make_batch()).events[0]
    for name in ("received_at", "ts"):
        value = col(first, name)
        assert isinstance(value, datetime)
        assert value.utcoffset() is not None and value.utcoffset().total_seconds() == 0


def test_host_falls_back_to_batch_hostname() -> None:
    """An event without its own host gets the agent's hostname."""
    rows = batch_rows(make_batch())
    assert col(rows.events[1], "host") == "web1"


def test_fields_merged_event_wins() -> None:
    """Batch fields are merged into each event's fields; the event's value wins on equal keys."""
    rows = batch_rows(make_batch())
    assert json.loads(str(col(rows.events[0], "fields"))) == {"env": "prod", "k": 1}
    assert json.loads(str(col(rows.events[1], "fields"))) == {"env": "prod", "k": 0}


def test_no_fields_is_null() -> None:
    """Without batch or event fields the jsonb column is NULL."""
    rows = batch_rows(make_batch(fields=None))
    assert col(rows.events[1], "fields") is None


def test_batch_and_drop_rows() -> None:
    """The ingest_batches row counts events, drops and truncations; drops become rows."""
    rows = batch_rows(make_batch(drops={"blank": 1, "binary": 0}))
    head = dict(zip(BATCH_COLUMNS, rows.batch, strict=True))
    assert head["batch_id"] == "b-1"
    assert head["host"] == "web1"
    assert head["first_offset"] == 100
    assert head["lines_received"] == 4
    assert head["events_stored"] == 2
    assert head["lines_dropped"] == 1
    assert head["lines_truncated"] == 1
    assert rows.drops == [("b-1", "blank", 1)]


def test_accounting_holds_for_rows() -> None:
    """lines_received equals the event rows' line counts plus the drop rows' lines."""
    rows = batch_rows(make_batch())
    head = dict(zip(BATCH_COLUMNS, rows.batch, strict=True))
    in_events = sum(int(col(r, "line_count")) for r in rows.events)  # type: ignore[call-overload]
    assert head["lines_received"] == in_events + sum(lines for _, _, lines in rows.drops)


def test_nul_characters_replaced() -> None:
    """NUL characters, refused by PostgreSQL text and jsonb, become U+FFFD."""
    batch = make_batch(
        lines_received=1,
        drops={},
        events=[Event(offset=0, line_count=1, message="a\x00b", fields={"x\x00": "y\x00"})],
        fields=None,
    )
    row = batch_rows(batch).events[0]
    assert col(row, "message") == "a\ufffdb"
    assert json.loads(str(col(row, "fields"))) == {"x\ufffd": "y\ufffd"}


def test_unknown_level_and_bad_ts_become_null() -> None:
    """A level outside LEVELS and an unrepresentable event time are stored as NULL."""
    batch = make_batch(
        lines_received=2,
        drops={},
        events=[
            Event(offset=0, line_count=1, message="a", level="WARNING", ts=float("nan")),
            Event(offset=2, line_count=1, message="b", level="verbose", ts=1e300),
        ],
    )
    first, second = batch_rows(batch).events
    assert col(first, "level") == "warning"
    assert col(first, "ts") is None
    assert col(second, "level") is None
    assert col(second, "ts") is None


@pytest.mark.parametrize(
    "change",
    [
        {"received_at": float("inf")},
        {"drops": {"blank": -1}, "lines_received": 2},
        {"events": [Event(offset=0, line_count=0, message="x")], "lines_received": 1},
        {"events": [Event(offset=0, line_count=3, message="x", template_id="7")]},  # type: ignore[arg-type]
        {"fields": ["not", "a", "map"]},
    ],
)
def test_bad_values_raise_record_error(change: dict[str, object]) -> None:
    """Values no table can hold raise RecordError (a data error, dead-lettered)."""
    with pytest.raises(RecordError):
        batch_rows(make_batch(**change))


def test_fields_json_bytes_decoded() -> None:
    """Bytes in fields (msgpack bin) are stored as text."""
    assert json.loads(str(fields_json(None, {"b": b"ok"}))) == {"b": "ok"}


def test_utc_datetime_range() -> None:
    """utc_datetime refuses values outside the years 1..9999."""
    assert utc_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        utc_datetime(1e12 * 1000)


def test_message_round_trip_maps_same_rows() -> None:
    """A batch sent through to_message/from_message maps to the same rows."""
    batch = make_batch()
    again = CleanBatch.from_message(batch.to_message())
    assert batch_rows(again) == batch_rows(batch)
