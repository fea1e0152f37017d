"""Reading the tailed files for `run`: which, when and how much.

A mixin of `agent.runner.Runner` (it shares the runner's tables). Files reported changed
(`dirty`) are read in turn, at most `CHUNKS_PER_TURN` chunks each, and only while the
collector's window has room and the lines read but not yet batched stay under
`max_held_bytes`: while the collector is down nothing is read, the files are the buffer and
memory stays bounded. Before a file is read it is checked against its path (`Tail.check`):
rotated or deleted, it is read to its end and the new file at the path is opened; truncated,
its checkpoint entry is dropped and a copy of it is looked for (`agent.copies`). Batches that
are full, or due by a timeout (`_take_due`), go to the outbox (`agent.shipping`).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING

from agent.batcher import Batch
from agent.checkpoint import CheckpointStore
from agent.client import Client
from agent.reconcile import stat_or_none
from agent.tail import Tail

log = logging.getLogger("logship.agent.run")

CHUNKS_PER_TURN = 16  # most chunks read from one file before the next file gets its turn


class Reading:
    """Reading the files that changed, within the window (see the module doc)."""

    store: CheckpointStore
    client: Client | None
    tails: dict[tuple[int, int], Tail]
    by_path: dict[str, Tail]
    input_of: dict[Tail, int]
    dirty: dict[Tail, None]  # to check and read (insertion-ordered set)
    timed: set[Tail]  # tails with a pending timeout
    outbox: deque[tuple[Tail, Batch]]  # made, not yet handed to the client
    max_held_bytes: int

    if TYPE_CHECKING:  # from `agent.reconcile.Reconciler` and `agent.copies.Copies`

        def _open(self, path: str, idx: int, *, startup: bool) -> Tail | None: ...

        def _held(self, tail: Tail, now: float) -> bool: ...

        def _finish_copy(self, original: Tail) -> None: ...

    def _capacity(self) -> int:
        assert self.client is not None
        return self.client.window - self.client.in_flight - len(self.outbox)

    def _read_dirty(self, now: float) -> None:
        if not self.dirty:
            return
        # Lines read but not yet batched (files waiting for their batch age) count against
        # memory too: past the limit, nothing more is read until batches go out.
        held = sum(t.held_bytes for t in self.tails.values())
        for tail in list(self.dirty):
            if self._capacity() <= 0 or held >= self.max_held_bytes:
                return
            before = tail.held_bytes
            self._read_one(tail, now)
            held += tail.held_bytes - before

    def _read_one(self, tail: Tail, now: float) -> None:
        self.dirty.pop(tail, None)
        if tail.fd is None or tail.done:
            return
        if tail.hold_until is not None and self._held(tail, now):
            self.timed.add(tail)
            return
        self._check(tail, now)
        if tail.fd is None:
            return
        chunks = 0
        try:
            while chunks < CHUNKS_PER_TURN and self._capacity() > 0:
                n = tail.read(now)
                batches = tail.take_batches(now)
                for batch in batches:
                    self.outbox.append((tail, batch))
                if not n and not batches:
                    break
                chunks += 1
        except OSError as exc:  # an I/O error (NFS, a failing disk): try again at the rescan
            log.warning("Cannot read %s (%s); will retry at the next rescan.", tail.path, exc)
            return
        if not tail.eof:
            self.dirty[tail] = None  # more to read when there is room
        elif tail.finishing and tail.finish_if_due(now):
            for batch in tail.take_batches(now, force=True):
                self.outbox.append((tail, batch))
        if tail.next_deadline(now) is not None:
            self.timed.add(tail)

    def _check(self, tail: Tail, now: float) -> None:
        old_id = tail.file_id
        path_stat = None if tail.finishing else stat_or_none(tail.path)
        try:
            change = tail.check(path_stat, now)
        except OSError as exc:
            log.warning("Cannot check %s (%s).", tail.path, exc)
            return
        if tail.finishing and self.by_path.get(tail.path) is tail:  # rotated or deleted
            del self.by_path[tail.path]
            how = "deleted" if change == "deleted" else "rotated"
            log.info("%s was %s; reading the old file to its end.", tail.path, how)
            if path_stat is not None:
                self._open(tail.path, self.input_of.get(tail, 0), startup=False)
        if change == "truncated":
            if old_id:
                self.store.remove(old_id)
            self._finish_copy(tail)
            log.warning(
                "%s was truncated; reading it again from the start (%d bytes may be lost so "
                "far in this file).",
                tail.path,
                tail.counters.bytes_lost,
            )

    def _take_due(self, now: float) -> None:
        for tail in list(self.timed):
            d = tail.next_deadline(now)
            if d is None:
                self.timed.discard(tail)
                continue
            if d > now:
                continue
            if tail.hold_until is not None:
                self.dirty[tail] = None  # a held new file: look at it again
            elif tail.finishing:
                self.dirty[tail] = None
                if tail.eof and tail.finish_if_due(now):
                    for batch in tail.take_batches(now, force=True):
                        self.outbox.append((tail, batch))
            else:
                for batch in tail.take_batches(now):
                    self.outbox.append((tail, batch))
            if tail.next_deadline(now) is None:
                self.timed.discard(tail)
