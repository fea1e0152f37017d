"""Tailing one file: lines → events → batches, rotation and truncation, acknowledged offsets.

The pure parts are `agent.split.LineSplitter` (bytes → complete lines with their offsets, cut
to a maximum size) and `Tail`'s bookkeeping: batching and acknowledgements are its mixin
`agent.spans.Spans`, and where it resumes from is `agent.resume`. The only I/O is
`os.pread`/`os.fstat` on the file descriptor the tail holds, so a renamed or deleted file is
still read to its end.

Offsets, from the start of the file:

    committed ≤ (batches in flight) ≤ batched ≤ (open batch) ≤ (pending multiline event) ≤ read

- `committed` is what the checkpoint stores: the end of the last batch acknowledged, every
  batch before it acknowledged too (ACKs may arrive out of order). It is always the end of a
  whole event, so a restart never splits a multiline event.
- Batches in flight are recorded (`spans`) before they are sent. After a crash they are read
  again with the very same boundaries (`replay`, see `agent.spans`), so a re-sent batch has
  the same id and the collector's workers store it once.

File lifecycle, decided by `check(path_stat)`:

- the path names another inode (rename+create rotation) or nothing (deleted): the tail
  *finishes*: it reads to the end, waits `rotate_wait_s` for late writes, flushes the last
  unterminated line and pending event, and closes once its batches are acknowledged; a
  renamed file (it still has a name) stays open `linger_renamed_s` after its last write and
  is still read, for a program that writes to it before it reopens its log;
- the file is smaller than the read offset, or its first bytes changed (copytruncate,
  truncation): it restarts at 0 under a new identity; bytes seen but not read are counted lost.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agent.batcher import Batch
from agent.identity import FINGERPRINT_BYTES, fingerprint_fd, identity_string
from agent.multiline import Event, Joiner
from agent.resume import Before
from agent.spans import Span, Spans
from agent.split import LineSplitter

COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4", ".Z")
LINGER_POLL_S = 1.0  # how often a lingering renamed file is looked at for late writes


@dataclass
class Limits:
    """How batches are bounded and when a finished file is let go."""

    max_batch_lines: int = 1000
    max_batch_bytes: int = 512 * 1024
    batch_age_s: float = 0.5
    rotate_wait_s: float = 2.0
    linger_renamed_s: float = 300.0
    read_chunk_bytes: int = 256 * 1024


@dataclass
class Counters:
    """What happened to one file, for metrics (running totals)."""

    lines_read: int = 0
    bytes_read: int = 0
    rotations: int = 0
    truncations: int = 0
    bytes_lost: int = 0


class Tail(Spans):
    """The state of one file being read. Owns its file descriptor."""

    def __init__(
        self,
        *,
        agent: str,
        path: str,
        fd: int,
        dev: int,
        ino: int,
        offset: int,
        joiner: Joiner,
        max_line_bytes: int,
        limits: Limits,
        fields: dict[str, Any] | None = None,
        file_id: str | None = None,
        fp: str | None = None,
        fp_len: int = 0,
        replay: list[int] | None = None,
        finishing: bool = False,
        transcode: str | None = None,
        now: float = 0.0,
    ) -> None:
        self.agent = agent
        self.transcode = transcode  # the files' encoding when lines must become UTF-8
        self.path = path
        self.fd: int | None = fd
        self.dev = dev
        self.ino = ino
        self.file_id = file_id  # None until the file has a first byte to fingerprint
        self.fp = fp
        self.fp_len = fp_len
        self.joiner = joiner
        self.limits = limits
        self.fields = fields
        self.splitter = LineSplitter(offset, max_line_bytes)
        self.read_offset = offset
        self.committed = offset
        self.batched = offset
        self.size = offset  # last size seen
        self.spans: deque[Span] = deque()
        self.replay: deque[int] = deque(replay or [])
        self.finishing = finishing  # the path no longer names this file: read to the end, close
        self.done = False  # finished and flushed: no more batches will come
        self.counters = Counters()
        self.last_growth = now
        self.eof = False
        self._events: list[Event] = []
        self._open_since: float | None = None  # when the open batch got its first event
        self._open_bytes = 0
        self._orphans: list[Batch] = []
        self.before: Before | None = None
        self.hold_until: float | None = None  # not read before then (a new file, maybe a copy)
        self.held_bytes = 0  # line bytes read and not yet in a batch
        self._stamp: tuple[int, int] | None = None  # (size, mtime) at the last check

    # ------------------------------------------------------------------ identity

    def ensure_identity(self) -> bool:
        """Fingerprint the file once it has a first byte. False while it is still empty."""
        if self.file_id is not None:
            return True
        assert self.fd is not None
        fp, n = fingerprint_fd(self.fd)
        if n == 0:
            return False
        self.fp, self.fp_len = fp, n
        self.file_id = identity_string(self.dev, self.ino, fp)
        return True

    def refine_fingerprint(self) -> None:
        """Lengthen a short file's fingerprint once the file is longer (its wire id stays)."""
        if self.fd is None or self.fp is None or self.fp_len >= FINGERPRINT_BYTES:
            return
        if self.size > self.fp_len:
            fp, n = fingerprint_fd(self.fd)
            if n > self.fp_len and fingerprint_fd(self.fd, self.fp_len)[0] == self.fp:
                self.fp, self.fp_len = fp, n

    def same_content(self) -> bool:
        """Whether the file still starts with the bytes it was fingerprinted on."""
        if self.fd is None or self.fp is None:
            return True
        fp, n = fingerprint_fd(self.fd, self.fp_len)
        return n == self.fp_len and fp == self.fp

    # ------------------------------------------------------------------ lifecycle

    def check(self, path_stat: os.stat_result | None, now: float) -> str | None:
        """Compare the file with what its path names now. Returns what changed, if anything:

        "rotated" (path names another file, or nothing while the file still has a name),
        "deleted" (the file has no name left), "truncated".
        """
        if self.fd is None or self.done:
            return None
        result = None
        st = os.fstat(self.fd)
        if not self.finishing:
            if path_stat is None and st.st_nlink == 0:
                self.finishing, result = True, "deleted"
            elif path_stat is None or (path_stat.st_dev, path_stat.st_ino) != (self.dev, self.ino):
                # Renamed away: the path names another file, or nothing yet (a rename+create
                # rotation seen between the rename and the create; the file still has a name).
                self.finishing, result = True, "rotated"
                self.counters.rotations += 1
        stamp = (st.st_size, st.st_mtime_ns)
        if stamp != self._stamp:  # unchanged since the last check: no need to look inside
            self._stamp = stamp
            if st.st_size < self.read_offset or (self.fp is not None and not self.same_content()):
                self.truncate(st.st_size, now)
                return "truncated"
        if st.st_size > self.size:
            self.size = st.st_size
            self.last_growth = now
            self.eof = False
            self.refine_fingerprint()
        return result

    def truncate(self, new_size: int, now: float) -> None:
        """The file was truncated in place: count what may be lost, restart at 0, new identity.

        `before` describes the content that was truncated, so that a copy of it
        (copytruncate) can be finished where this tail stopped (see `Before`).
        """
        lost = max(0, self.size - self.read_offset)
        self.counters.truncations += 1
        self.counters.bytes_lost += lost
        self.before = Before(
            self.file_id,
            self.fp,
            self.fp_len,
            self.committed,
            [sp.end for sp in self.spans],
            self.read_offset,
            lost,
        )
        # The unterminated last line was written before the truncation: ship what we have,
        # under the old identity. Acknowledgements for it no longer move the checkpoint.
        self._push(self.joiner.feed(self.splitter.flush(), now))
        self.replay.clear()
        orphans = self.take_batches(now, force=True)  # (it empties self._orphans first)
        self._orphans.extend(orphans)
        self.spans.clear()
        self.file_id = None
        self.fp = None
        self.fp_len = 0
        self.splitter.reset(0)
        self.read_offset = self.committed = self.batched = 0
        self.size = new_size
        self.last_growth = now
        self.eof = False

    def seek(self, offset: int, file_id: str | None = None, replay: Iterable[int] = ()) -> None:
        """Start a tail that has read nothing yet at `offset` (a copy continues its original
        under the original's identity, re-reading its batches in flight with their bounds)."""
        assert self.read_offset == self.committed and not self.spans and not self._events
        self.splitter.reset(offset)
        self.read_offset = self.committed = self.batched = offset
        self.size = max(self.size, offset)
        self.replay = deque(e for e in replay if e > offset)
        if file_id is not None and self.fd is not None:
            self.file_id = file_id
            self.fp, self.fp_len = fingerprint_fd(self.fd)

    def drop_orphans(self) -> None:
        """Forget the batches made of the truncated content (a copy ships that range)."""
        self._orphans = []

    # ------------------------------------------------------------------ reading

    def read(self, now: float, budget_bytes: int | None = None) -> int:
        """Read up to one chunk; turn complete lines into events. Returns bytes read."""
        if self.fd is None or self.done:
            return 0
        if not self.ensure_identity():
            self.eof = True
            return 0
        want = budget_bytes or self.limits.read_chunk_bytes
        if self.replay:
            want = min(want, self.replay[0] - self.read_offset)
            if want <= 0:
                return 0  # at a replay boundary: take_batches closes that batch first
        data = os.pread(self.fd, want, self.read_offset)
        if not data:
            self.eof = True
            return 0
        self.eof = False
        n = len(data)
        self.read_offset += n
        if self.read_offset > self.size:
            self.size = self.read_offset
        if self.fp_len < FINGERPRINT_BYTES and self.read_offset > self.fp_len:
            self.refine_fingerprint()
        self.last_growth = now
        lines = self.splitter.feed(data)
        self.counters.lines_read += len(lines)
        self.counters.bytes_read += n
        if lines:
            self._push(self.joiner.feed(lines, now))
        return n

    def finish_if_due(self, now: float) -> bool:
        """For a finishing tail at its end for `rotate_wait_s`: flush everything it holds.

        True when flushed (its batches can be taken now). It is `done` then, unless the file
        still has a name (renamed, not deleted): such a file lingers, open, until
        `linger_renamed_s` after its last write, for a program that still writes to it
        before it reopens its log; what it writes meanwhile is read like any growth.
        """
        if self.done:
            return True
        quiet = now - self.last_growth
        if not (self.finishing and self.eof and quiet >= self.limits.rotate_wait_s):
            return False
        self._push(self.joiner.feed(self.splitter.flush(), now))
        self._push(self.joiner.flush())
        named = self.fd is not None and os.fstat(self.fd).st_nlink > 0
        if named and quiet < self.limits.linger_renamed_s:
            return True
        self.done = True
        return True

    def next_deadline(self, now: float) -> float | None:
        """When this tail next needs attention without any file event (timeouts)."""
        times = []
        d = self.joiner.deadline()
        if d is not None and not self.splitter.buffered:  # a partial line may continue it
            times.append(d)
        if self._events and self._open_since is not None and not self.replay:
            times.append(self._open_since + self.limits.batch_age_s)  # replay: by boundary
        if self.finishing and not self.done:
            due = self.last_growth + self.limits.rotate_wait_s
            if due <= now and self.eof:  # flushed, lingering: look for late writes now and then
                due = min(now + LINGER_POLL_S, self.last_growth + self.limits.linger_renamed_s)
            times.append(max(now + 0.25, due))
        if self.hold_until is not None:
            times.append(max(now + 0.05, min(self.hold_until, now + 0.25)))
        return min(times) if times else None

    # ------------------------------------------------------------------ state

    @property
    def idle(self) -> bool:
        """Nothing read but not yet acknowledged."""
        return (
            not self.spans
            and not self._events
            and not self.joiner.pending
            and not self.splitter.buffered
        )

    @property
    def closable(self) -> bool:
        return self.done and not self.spans and not self._events

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def lag_bytes(self) -> int:
        return max(0, self.size - self.committed)

    def entry(self) -> dict[str, Any] | None:
        """The checkpoint entry for this file (None while it has no identity)."""
        if self.file_id is None:
            return None
        return {
            "file": self.file_id,
            "dev": self.dev,
            "ino": self.ino,
            "fp": self.fp,
            "head_bytes": self.fp_len,
            "path": self.path,
            "offset": self.committed,
            "spans": [[s.start, s.end] for s in self.spans],
            "size": self.size,
            "done": self.done and not self.spans,
        }
