"""Row mapping (pure): a `CleanBatch` becomes the rows of `ingest_batches`, `log_events` and
`ingest_drops`, ready for asyncpg (`copy_records_to_table` and query arguments).

Rules:
- `received_at` and `ts` become timezone-aware UTC datetimes. `received_at` must be valid (a
  RecordError otherwise); an event time PostgreSQL/Python cannot hold (NaN, infinite, out of
  the years 1..9999) is stored as NULL rather than losing the event.
- `host` is the host named in the line, else the agent's hostname.
- `fields` is the batch's fields updated with the event's own (the event wins on equal keys),
  as JSON text (asyncpg's default jsonb codec takes text); NULL when both are empty.
- `level` is lower-cased; a value outside `logship.records.LEVELS` is stored as NULL.
- NUL characters, which PostgreSQL text and jsonb refuse, are replaced by U+FFFD.
- Counts must be sane (line_count >= 1, dropped lines >= 0), else RecordError.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from logship.errors import RecordError
from logship.records import LEVELS, CleanBatch

EVENT_COLUMNS: tuple[str, ...] = (
    "received_at",
    "ts",
    "host",
    "path",
    "level",
    "format",
    "message",
    "template_id",
    "agent",
    "file_id",
    "byte_offset",
    "line_count",
    "batch_id",
    "fields",
)
BATCH_COLUMNS: tuple[str, ...] = (
    "batch_id",
    "agent",
    "host",
    "path",
    "file_id",
    "first_offset",
    "lines_received",
    "events_stored",
    "lines_dropped",
    "lines_truncated",
    "received_at",
)
DROP_COLUMNS: tuple[str, ...] = ("batch_id", "reason", "lines")

_LEVELS = frozenset(LEVELS)
_MAX_TS = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
_MIN_TS = datetime(1, 1, 1, tzinfo=UTC).timestamp()


@dataclass(slots=True)
class BatchRows:
    """Everything one batch writes, in table column order."""

    day: date  # the log_events partition day (UTC) of received_at
    batch: tuple[Any, ...]  # one ingest_batches row, BATCH_COLUMNS order
    events: list[tuple[Any, ...]]  # log_events rows, EVENT_COLUMNS order
    drops: list[tuple[str, str, int]]  # ingest_drops rows


def utc_datetime(seconds: float) -> datetime:
    """Seconds since the epoch as an aware UTC datetime; ValueError when not representable."""
    if not math.isfinite(seconds) or not _MIN_TS <= seconds <= _MAX_TS:
        raise ValueError(f"timestamp {seconds!r} is out of range")
    return datetime.fromtimestamp(seconds, tz=UTC)


def _event_time(seconds: float | None) -> datetime | None:
    if seconds is None:
        return None
    try:
        return utc_datetime(seconds)
    except (ValueError, OverflowError, OSError):
        return None


def clean_text(value: str) -> str:
    """The text with NUL characters (refused by PostgreSQL) replaced by U+FFFD."""
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# One encoder for every row: `json.dumps` with options builds a new JSONEncoder per call.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default).encode


def fields_json(
    batch_fields: dict[str, Any] | None, event_fields: dict[str, Any] | None
) -> str | None:
    """The merged fields as jsonb text, or None when there are none."""
    if batch_fields and event_fields:
        merged: Any = {**batch_fields, **event_fields}
    else:
        merged = event_fields or batch_fields
    if not merged:
        return None
    if not isinstance(merged, dict):
        raise RecordError(f"fields must be a map, got {type(merged).__name__}")
    try:
        text = _dumps(merged)
        if "\\u0000" in text:
            text = _dumps(_clean_json(merged))
    except (TypeError, ValueError) as exc:
        raise RecordError(f"fields cannot be stored as JSON: {exc}") from None
    return text


def _level(value: Any) -> str | None:
    if value is None:
        return None
    if value.__class__ is str and value in _LEVELS:
        return value  # the usual case: already a stored level
    level = str(value).lower()
    return level if level in _LEVELS else None


def _optional_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return clean_text(str(value))


def batch_rows(batch: CleanBatch) -> BatchRows:
    """Map a checked batch to its rows. Raises RecordError for values no table can hold."""
    try:
        received_at = utc_datetime(batch.received_at)
    except (ValueError, OverflowError, OSError) as exc:
        raise RecordError(f"batch {batch.batch_id}: bad received_at: {exc}") from None
    if batch.lines_received < 0 or batch.truncated < 0:
        raise RecordError(f"batch {batch.batch_id}: negative line counts")
    for reason, lines in batch.drops.items():
        if lines < 0:
            raise RecordError(f"batch {batch.batch_id}: drop {reason!r} has {lines} lines")
    if batch.fields is not None and not isinstance(batch.fields, dict):
        raise RecordError(f"batch {batch.batch_id}: fields must be a map")

    batch_id = clean_text(batch.batch_id)
    agent = clean_text(batch.agent)
    hostname = clean_text(batch.hostname)
    path = clean_text(batch.path)
    file_id = clean_text(batch.file_id)
    batch_fields = batch.fields

    events: list[tuple[Any, ...]] = []
    append = events.append
    for event in batch.events:
        if event.line_count < 1:
            raise RecordError(
                f"batch {batch.batch_id}: event at offset {event.offset} has "
                f"{event.line_count} lines"
            )
        if event.fields is not None and not isinstance(event.fields, dict):
            raise RecordError(f"batch {batch.batch_id}: event fields must be a map")
        template_id = event.template_id
        if template_id is not None and (
            isinstance(template_id, bool) or not isinstance(template_id, int)
        ):
            raise RecordError(
                f"batch {batch.batch_id}: template_id {template_id!r} is not an integer"
            )
        message = event.message
        if "\x00" in message:
            message = clean_text(message)
        append(
            (
                received_at,
                _event_time(event.ts),
                _optional_text(event.host) or hostname,
                path,
                _level(event.level),
                clean_text(event.format) or "generic",
                message,
                template_id,
                agent,
                file_id,
                event.offset,
                event.line_count,
                batch_id,
                fields_json(batch_fields, event.fields) if (batch_fields or event.fields) else None,
            )
        )

    drops = [
        (batch_id, clean_text(reason), lines) for reason, lines in batch.drops.items() if lines
    ]
    head = (
        batch_id,
        agent,
        hostname,
        path,
        file_id,
        batch.first_offset,
        batch.lines_received,
        len(events),
        sum(lines for _, _, lines in drops),
        batch.truncated,
        received_at,
    )
    return BatchRows(day=received_at.date(), batch=head, events=events, drops=drops)
