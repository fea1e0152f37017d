"""Shipping for `run`: batches to the collector, their checkpoint written first; ACKs back.

A mixin of `agent.runner.Runner` (it shares the runner's tables). `_ship` hands the batches
made (the outbox) to the client when its window has room, after recording their spans in the
checkpoint and saving it: write-ahead, so after a crash the same byte ranges are sent again
with the same ids and stored once. `_on_ack` moves the file's committed offset (contiguously,
see `agent.spans`); `_commit` saves the checkpoint at most every `checkpoint_interval_s`. A
checkpoint that cannot be written is logged, never fatal (`_save`). `_drain` waits, within a
timeout, for the batches in flight (on reload and shutdown).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from agent.batcher import Batch
from agent.checkpoint import CheckpointStore
from agent.client import Client
from agent.inputs import RunConfig
from agent.tail import Tail

log = logging.getLogger("logship.agent.run")


class Shipping:
    """Batches out, ACKs in, checkpoints saved (see the module doc)."""

    cfg: RunConfig
    clock: Callable[[], float]
    store: CheckpointStore
    client: Client | None
    tails: dict[tuple[int, int], Tail]
    outbox: deque[tuple[Tail, Batch]]  # made, not yet handed to the client
    sent: dict[str, tuple[Tail, int, int]]  # batch id -> (tail, lines, bytes)
    shipped_lines: int
    shipped_bytes: int
    shipped_batches: int
    _wake: asyncio.Event | None
    _last_commit: float
    _save_error_at: float

    async def _ship(self) -> None:
        client = self.client
        assert client is not None
        if not self.outbox:
            return
        free = client.window - client.in_flight
        if free <= 0 or (client.in_flight and free < max(1, client.window // 2)):
            return  # wait for more room: one checkpoint write covers several batches
        take = [self.outbox.popleft() for _ in range(min(free, len(self.outbox)))]
        for tail in {t for t, _ in take}:
            self._record(tail)
        self._save()  # write-ahead: the batch boundaries are on disk before they are sent
        self._last_commit = self.clock()
        for tail, batch in take:
            self.sent[batch.id] = (tail, batch.line_count, batch.data_bytes)
            try:
                await client.send(batch)  # there is room in the window: this does not wait
            except Exception:  # noqa: BLE001 - the client failed; the main loop reports it
                return
            batch.lines = []  # the client keeps the encoded frame
            batch.offsets = []

    def _on_ack(self, batch: Batch) -> None:
        info = self.sent.pop(batch.id, None)
        if info is not None:
            tail, lines, nbytes = info
            self.shipped_lines += lines
            self.shipped_bytes += nbytes
            self.shipped_batches += 1
            if tail.ack(batch.id):
                self._record(tail)
        if self._wake is not None:
            self._wake.set()

    def _record(self, tail: Tail) -> None:
        entry = tail.entry()
        if entry is None:
            return
        file_id = entry.pop("file")
        path = entry.pop("path")
        offset = entry.pop("offset")
        self.store.set(file_id, path, offset, **entry)

    def _save(self) -> None:
        """Write the checkpoint; a failure is logged (loudly, once a minute), never fatal."""
        try:
            self.store.save()
        except OSError as exc:
            now = self.clock()
            if now - self._save_error_at >= 60.0:
                self._save_error_at = now
                log.error(
                    "Cannot write the checkpoint %s (%s). Shipping goes on; after a restart "
                    "lines may be sent again. Fix the state folder's permissions or space.",
                    self.store.path,
                    exc,
                )

    def _record_all(self) -> None:
        for tail in self.tails.values():
            self._record(tail)

    def _commit(self, now: float) -> None:
        if self.store.dirty and now - self._last_commit >= self.cfg.checkpoint_interval_s:
            self._save()
            self._last_commit = now

    async def _drain(self, timeout_s: float) -> None:
        assert self.client is not None
        if not self.client.in_flight:
            return
        try:
            await asyncio.wait_for(self.client.drain(), timeout_s)
        except TimeoutError:
            log.warning(
                "%d batches were not acknowledged within %.0f s; they will be sent again "
                "(same ids: stored once).",
                self.client.in_flight,
                timeout_s,
            )
        except Exception as exc:  # noqa: BLE001 - the client failed; checkpoints are safe
            log.warning("Could not finish in-flight batches: %s.", exc)
