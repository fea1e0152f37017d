"""Group the entries of one file into batches bounded by lines, bytes and age. Pure.

A batch covers a contiguous byte range `[offset, end_offset)` of one file: `end_offset` is where
the file's checkpoint moves once the batch is ACKed. Its id is deterministic (docs/protocol.md):
the first 32 hex digits of SHA-256 over `"<agent>|<file>|<offset>|<end offset>"`, so a batch
re-sent after a reconnect, a crash or a re-run carries the same id.

Entries are single lines, or (for the tailing agent) multiline events already joined with
`\\n`; each comes with its start and end offsets.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from logship import wire


def batch_id(agent: str, file_id: str, offset: int, end_offset: int) -> str:
    """The deterministic id of the batch covering `[offset, end_offset)` of `file_id`."""
    text = f"{agent}|{file_id}|{offset}|{end_offset}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(eq=False)
class Batch:
    agent: str
    path: str
    file_id: str
    offset: int  # offset of the first entry
    end_offset: int  # offset just after the last entry: the checkpoint once ACKed
    lines: list[bytes]
    offsets: list[int]
    truncated: int = 0  # entries cut to max_line_bytes
    cut: list[int] = field(default_factory=list)  # their indexes in `lines`
    fields: dict[str, Any] | None = None
    data_bytes: int = 0  # sum of len(entry)
    id: str = field(init=False)

    def __post_init__(self) -> None:
        self.id = batch_id(self.agent, self.file_id, self.offset, self.end_offset)

    @property
    def line_count(self) -> int:
        """Physical lines the batch stands for (a multiline entry counts each of its lines)."""
        return sum(entry.count(b"\n") for entry in self.lines) + len(self.lines)

    @property
    def byte_count(self) -> int:
        """File bytes the batch covers (terminators and skipped bytes included)."""
        return self.end_offset - self.offset

    def encode(self) -> bytes:
        """The BATCH frame."""
        return wire.batch(
            self.id,
            self.path,
            self.file_id,
            self.offset,
            self.lines,
            offsets=self.offsets,
            fields=self.fields,
            truncated=self.truncated,
            cut=self.cut,
        )


class Batcher:
    """Accumulates the entries of one file; hands out full batches.

    `add` returns the batches that adding an entry closed (by line count or bytes); `due`
    and `poll` close a batch by age (`max_age_s`, measured from its first entry with
    `clock`); `flush` closes whatever is open. Entries must be contiguous: each starts where
    the previous one ended (the reader guarantees it).
    """

    def __init__(
        self,
        agent: str,
        path: str,
        file_id: str,
        *,
        max_lines: int,
        max_bytes: int,
        max_age_s: float | None = None,
        fields: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_lines <= 0 or max_bytes <= 0:
            raise ValueError("max_lines and max_bytes must be > 0")
        self.agent = agent
        self.path = path
        self.file_id = file_id
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.fields = fields
        self.clock = clock
        self._reset()

    def _reset(self) -> None:
        self._lines: list[bytes] = []
        self._offsets: list[int] = []
        self._bytes = 0
        self._cut: list[int] = []
        self._end = 0
        self._started: float | None = None

    def __len__(self) -> int:
        return len(self._lines)

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    def add(self, data: bytes, offset: int, end: int, truncated: bool = False) -> list[Batch]:
        """Add one entry covering `[offset, end)`; return the batches this closed (0-2)."""
        out: list[Batch] = []
        if self._lines and self._bytes + len(data) > self.max_bytes:
            out.append(self._close())
        if not self._lines:
            self._started = self.clock()
        if truncated:
            self._cut.append(len(self._lines))
        self._lines.append(data)
        self._offsets.append(offset)
        self._bytes += len(data)
        self._end = end
        if len(self._lines) >= self.max_lines or self._bytes >= self.max_bytes:
            out.append(self._close())
        return out

    def deadline(self) -> float | None:
        """Clock time at which the open batch becomes due by age (None: nothing open/no age)."""
        if self._started is None or self.max_age_s is None:
            return None
        return self._started + self.max_age_s

    def due(self, now: float | None = None) -> bool:
        deadline = self.deadline()
        return deadline is not None and (self.clock() if now is None else now) >= deadline

    def poll(self, now: float | None = None) -> Batch | None:
        """The open batch if it is due by age, else None."""
        return self._close() if self.due(now) else None

    def flush(self) -> Batch | None:
        """Close and return the open batch, if any."""
        return self._close() if self._lines else None

    def _close(self) -> Batch:
        batch = Batch(
            agent=self.agent,
            path=self.path,
            file_id=self.file_id,
            offset=self._offsets[0],
            end_offset=self._end,
            lines=self._lines,
            offsets=self._offsets,
            truncated=len(self._cut),
            cut=self._cut,
            fields=self.fields,
            data_bytes=self._bytes,
        )
        self._reset()
        return batch
