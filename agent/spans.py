"""A tail's batches: events cut into batches, their spans in flight, acknowledgements.

A mixin of `agent.tail.Tail` (it shares the tail's state). Events (joined lines, see
`agent.multiline`) wait in the tail until `take_batches` closes a batch: full (by lines or
bytes), old enough (`batch_age_s`), quiet (the pending multiline event timed out), at a replay
boundary, or all of them (`force`). Each batch made is recorded as a `Span` of the file, which
the runner saves in the checkpoint before it sends the batch; `ack(batch_id)` marks one and
moves `committed` over the contiguous acknowledged spans (ACKs may arrive out of order), so
the checkpoint never passes a batch not yet acknowledged.

Replay: after a crash the batches that were in flight are read again with their very same
bounds (`replay`: their recorded end offsets, in file order), so that a re-sent batch has the
same id and the collector's workers store it once. When an event crosses a recorded boundary
(the multiline rule changed) or the file ends before it, replay is given up.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.batcher import Batch
from agent.multiline import Event, Joiner
from agent.split import LineSplitter

if TYPE_CHECKING:
    from agent.tail import Limits


@dataclass(slots=True)
class Span:
    """A batch sent (or about to be) and not yet folded into `committed`."""

    start: int
    end: int
    batch_id: str
    acked: bool = False


class Spans:
    """Batching and acknowledgements of a tail (see the module doc)."""

    agent: str
    path: str
    file_id: str | None
    fields: dict[str, Any] | None
    transcode: str | None
    joiner: Joiner
    splitter: LineSplitter
    limits: Limits
    read_offset: int
    eof: bool
    committed: int  # the end of the last batch acknowledged, every batch before it too
    batched: int  # the end of the last batch made
    held_bytes: int  # line bytes read and not yet in a batch
    spans: deque[Span]  # batches made and not yet folded into `committed`, in file order
    replay: deque[int]  # recorded batch ends to cut at again (after a restart)
    _events: list[Event]  # read, not yet in a batch
    _open_since: float | None  # when the open batch got its first event
    _orphans: list[Batch]  # made of a truncated content, not yet taken

    def take_batches(self, now: float, *, force: bool = False) -> list[Batch]:
        """Close the batches that are full, old enough, at a replay boundary, or all (`force`)."""
        out: list[Batch] = self._orphans
        self._orphans = []
        joiner = self.joiner
        quiet = False
        if joiner.pending and (
            force
            or (self.replay and self.read_offset == self.replay[0])
            or (joiner.due(now) and not self.splitter.buffered)
        ):
            quiet = not force
            self._push(joiner.flush())
        if self.replay and self.eof and self.read_offset < self.replay[0]:
            self.replay.clear()  # the file ends before the recorded boundary: it cannot come
        events = self._events
        if not events:
            if self.replay and self.read_offset >= self.replay[0] and not joiner.pending:
                self.replay.clear()  # nothing ends at the recorded boundary: give up replay
            return out
        if self._open_since is None:
            self._open_since = now
        lim = self.limits
        i, n = 0, len(events)
        while i < n:
            if self.replay:
                stop = self.replay[0]
                j = i
                while j < n and events[j][1] <= stop:
                    j += 1
                if j > i and events[j - 1][1] == stop:
                    out.append(self._make(events[i:j]))
                    self.replay.popleft()
                    i = j
                    continue
                if j < n or events[i][0] >= stop or self.read_offset >= stop:
                    # An event crosses the recorded boundary (the rule changed): give up replay.
                    self.replay.clear()
                    continue
                if force:
                    out.append(self._make(events[i:j]))
                    i = j
                break
            j = min(n, i + lim.max_batch_lines)
            size = 0
            k = i
            while k < j:
                size += len(events[k][2])
                k += 1
                if size >= lim.max_batch_bytes:
                    break
            if (
                k - i >= lim.max_batch_lines
                or size >= lim.max_batch_bytes
                or force
                or quiet
                or now - self._open_since >= lim.batch_age_s
            ):
                out.append(self._make(events[i:k]))
                i = k
                continue
            break
        del events[:i]
        if events:
            if i:
                self._open_since = now
        else:
            self._open_since = None
        return out

    def _push(self, events: list[Event]) -> None:
        if events:
            self._events.extend(events)
            self.held_bytes += sum(len(e[2]) for e in events)

    def _make(self, events: list[Event]) -> Batch:
        assert self.file_id is not None
        start, end = events[0][0], events[-1][1]
        cut_at = self.splitter.take_truncated(end) if self.splitter.truncated else []
        cut = _entries_holding(events, cut_at) if cut_at else []
        lines = [e[2] for e in events]
        if self.transcode:
            enc = self.transcode
            lines = [x.decode(enc, "replace").encode("utf-8") for x in lines]
        b = Batch(
            agent=self.agent,
            path=self.path,
            file_id=self.file_id,
            offset=start,
            end_offset=end,
            lines=lines,
            offsets=[e[0] for e in events],
            truncated=len(cut_at),
            cut=cut,
            fields=self.fields,
            data_bytes=sum(map(len, lines)),
        )
        self.held_bytes -= b.data_bytes if not self.transcode else sum(len(e[2]) for e in events)
        self.spans.append(Span(start, end, b.id))
        self.batched = end
        return b

    def ack(self, batch_id: str) -> bool:
        """Mark a batch acknowledged; advance `committed` over the contiguous acknowledged ones."""
        for span in self.spans:
            if span.batch_id == batch_id:
                span.acked = True
                break
        else:
            return False
        while self.spans and self.spans[0].acked:
            self.committed = self.spans.popleft().end
        return True


def _entries_holding(events: list[Event], offsets: list[int]) -> list[int]:
    """The indexes of the events (entries) that hold the lines starting at `offsets`."""
    out: list[int] = []
    i = 0
    for at in offsets:  # both in file order
        while i < len(events) and events[i][1] <= at:
            i += 1
        if i < len(events) and (not out or out[-1] != i):
            out.append(i)
    return out
