"""The cleaned batch: what the collector's pre-filter pool publishes and the workers store.

Carried in Celery messages as a msgpack-friendly map (`to_message` / `from_message`). Events
are lists rather than maps to keep messages small. The accounting invariant holds for every
batch: `lines_received == sum(event.line_count) + sum(drops.values())`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from logship.errors import RecordError

LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
FORMATS = (
    "rfc3164",
    "rfc5424",
    "access",
    "json",
    "python",
    "java",
    "logfmt",
    "generic",
)
RECORD_VERSION = 1


@dataclass(slots=True)
class Event:
    """One stored event: one line, or several for a multiline event."""

    offset: int  # byte offset of the event's first line in the source file
    line_count: int  # physical lines that make up the event
    message: str
    format: str = "generic"
    ts: float | None = None  # event time, seconds since the epoch (UTC); None if unknown
    host: str | None = None  # host named in the line; the agent's hostname when None
    level: str | None = None  # one of LEVELS or None
    fields: dict[str, Any] | None = None  # parsed extra fields (JSON keys, access-log parts)
    template_id: int | None = None

    def to_list(self) -> list[Any]:
        return [
            self.offset,
            self.line_count,
            self.message,
            self.format,
            self.ts,
            self.host,
            self.level,
            self.fields,
            self.template_id,
        ]


@dataclass(slots=True)
class CleanBatch:
    """A batch after cleaning, parsing and classification."""

    batch_id: str
    agent: str
    hostname: str
    path: str
    file_id: str
    first_offset: int
    received_at: float  # when the collector received it, seconds since the epoch
    lines_received: int
    events: list[Event] = field(default_factory=list)
    drops: dict[str, int] = field(default_factory=dict)  # reason -> lines dropped
    truncated: int = 0  # lines kept but cut to the maximum length
    fields: dict[str, Any] | None = None  # fields the agent adds to every event

    @property
    def lines_dropped(self) -> int:
        return sum(self.drops.values())

    @property
    def lines_in_events(self) -> int:
        return sum(e.line_count for e in self.events)

    def check(self) -> None:
        """Raise RecordError unless every received line is in an event or counted as dropped."""
        if self.lines_received != self.lines_in_events + self.lines_dropped:
            raise RecordError(
                f"batch {self.batch_id}: {self.lines_received} lines received but "
                f"{self.lines_in_events} in events and {self.lines_dropped} dropped"
            )

    def to_message(self) -> dict[str, Any]:
        return {
            "v": RECORD_VERSION,
            "id": self.batch_id,
            "agent": self.agent,
            "hostname": self.hostname,
            "path": self.path,
            "file": self.file_id,
            "offset": self.first_offset,
            "received_at": self.received_at,
            "lines": self.lines_received,
            "drops": self.drops,
            "truncated": self.truncated,
            "fields": self.fields,
            "events": [e.to_list() for e in self.events],
        }

    @classmethod
    def from_message(cls, msg: Any) -> CleanBatch:
        try:
            if msg.get("v") != RECORD_VERSION:
                raise RecordError(f"record version {msg.get('v')!r} not supported")
            # Positional (offset, line_count, message, format, ts, host, level, fields,
            # template_id): the hot loop of every worker.
            events = [
                Event(
                    int(e[0]),
                    int(e[1]),
                    str(e[2]),
                    str(e[3]),
                    None if e[4] is None else float(e[4]),
                    e[5],
                    e[6],
                    e[7],
                    e[8] if len(e) > 8 else None,
                )
                for e in msg["events"]
            ]
            batch = cls(
                batch_id=str(msg["id"]),
                agent=str(msg["agent"]),
                hostname=str(msg["hostname"]),
                path=str(msg["path"]),
                file_id=str(msg["file"]),
                first_offset=int(msg["offset"]),
                received_at=float(msg["received_at"]),
                lines_received=int(msg["lines"]),
                events=events,
                drops={str(k): int(v) for k, v in dict(msg["drops"]).items()},
                truncated=int(msg.get("truncated", 0)),
                fields=msg.get("fields"),
            )
        except RecordError:
            raise
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise RecordError(f"malformed batch record: {exc!r}") from None
        batch.check()
        return batch
