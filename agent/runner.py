"""The tailing agent's engine: tail files continuously, ship them without loss or duplicates.

One asyncio loop does everything but watching: watchdog's observer thread only reports paths
(`loop.call_soon_threadsafe`). Each turn of the loop:

1. handles reported paths (a tailed file changed, a new file or folder appeared), and every
   `rescan_interval_s` rescans the globs and checks every tailed file (inotify's fallback);
2. reads the files that changed, but only while the collector's window has room: while the
   collector is down nothing is read, the files are the buffer and memory stays bounded
   (`agent.reading`);
3. closes batches that are full or old enough (`agent.tail`), records them in the checkpoint
   *before* sending them (so after a crash they are re-sent with the same boundaries, hence
   the same ids), and hands them to the client (`agent.shipping`; `agent.client`: window,
   ACKs, reconnects);
4. on each ACK moves that file's committed offset (contiguously) and saves the checkpoint at
   most every `checkpoint_interval_s`; once a second it publishes the metrics
   (`agent.metrics`).

At start the checkpoint is reconciled with the files (`agent.reconcile`). A file that appears
while running and starts like a tailed file is a copy of it: if the original is then truncated
(copytruncate) the copy is read from where the original stopped, else it is followed from its
end (`agent.copies`). SIGTERM: stop reading, wait up to `shutdown_timeout_s` for in-flight
ACKs, save the checkpoint, exit 0. SIGHUP: reload the configuration; a bad one is refused and
the running one kept.

`Runner` is this module's loop and lifecycle plus the mixins `Reconciler`, `Copies`, `Reading`
and `Shipping`, which share its tables (declared in `__init__` here).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from agent.batcher import Batch
from agent.checkpoint import CheckpointStore
from agent.cli import EXIT_FAILED, EXIT_OK
from agent.client import Client
from agent.copies import Copies
from agent.discovery import Matcher, Watcher, is_compressed
from agent.errors import AuthFailed
from agent.inactive import Inactive
from agent.inputs import InputConfig, RunConfig, input_configs
from agent.metrics import Metrics, publish, serve
from agent.reading import Reading
from agent.reconcile import Reconciler
from agent.shipping import Shipping
from agent.tail import Counters, Limits, Tail
from logship.errors import ConfigError

log = logging.getLogger("logship.agent.run")

CONNECTION_KEYS = (
    "collector",
    "token",
    "tls",
    "tls_ca_file",
    "tls_cert_file",
    "tls_key_file",
    "tls_server_name",
    "agent_id",
    "window_batches",
    "state_dir",
)


class Runner(Reconciler, Copies, Reading, Shipping):
    """The tailing agent. `await run()` returns the exit code."""

    def __init__(
        self,
        config: RunConfig,
        *,
        reload: Callable[[], RunConfig] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = config
        self._loader = reload
        self.clock = clock
        self.metrics = Metrics()
        self.store = CheckpointStore(config.state_path)
        self.client: Client | None = None
        self.watcher: Watcher | None = None
        self.tails: dict[tuple[int, int], Tail] = {}  # every open file, by (dev, inode)
        self.by_path: dict[str, Tail] = {}  # files followed by their path (not finishing)
        self.input_of: dict[Tail, int] = {}
        self.dirty: dict[Tail, None] = {}  # to check and read (insertion-ordered set)
        self.timed: set[Tail] = set()  # tails with a pending timeout
        self.outbox: deque[tuple[Tail, Batch]] = deque()  # made, not yet handed to the client
        self.sent: dict[str, tuple[Tail, int, int]] = {}  # batch id -> (tail, lines, bytes)
        self.retired = Counters()  # counters of closed tails
        self.copies: dict[Tail, Tail] = {}  # a new file that starts like an open one -> that one
        self.inactive: dict[str, Inactive] = {}  # files closed while quiet, by path
        self.shipped_lines = 0
        self.shipped_bytes = 0
        self.shipped_batches = 0
        self._reported: set[str] = set()
        self._touched: dict[str, float] = {}
        self._stop = False
        self._reload = False
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next_rescan = 0.0
        self._last_commit = 0.0
        self._last_metrics = 0.0
        self._save_error_at = -1e9
        self._metrics_server: Any = None
        self._setup_inputs(config)

    # ------------------------------------------------------------------ configuration

    def _setup_inputs(self, config: RunConfig) -> None:
        self.inputs: list[InputConfig] = input_configs(config.inputs)
        self.matchers = [Matcher(i.paths, i.exclude) for i in self.inputs]
        self.limits = Limits(
            max_batch_lines=config.max_batch_lines,
            max_batch_bytes=config.max_batch_bytes,
            batch_age_s=config.batch_age_s,
            rotate_wait_s=config.rotate_wait_s,
            linger_renamed_s=config.linger_renamed_s,
            read_chunk_bytes=config.read_chunk_bytes,
        )
        self.max_held_bytes = 4 * config.max_batch_bytes

    def request_stop(self) -> None:
        self._stop = True
        if self._wake is not None:
            self._wake.set()

    def request_reload(self) -> None:
        self._reload = True
        if self._wake is not None:
            self._wake.set()

    # ------------------------------------------------------------------ main

    async def run(self) -> int:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self.cfg.metrics_port:
            self._metrics_server = serve(self.metrics, self.cfg.metrics_host, self.cfg.metrics_port)
        self.client = self._new_client(self.cfg)
        self.client.start()
        self.watcher = Watcher(self._notify_threadsafe)
        try:
            self._reconcile(startup=True)
            log.info(
                "Tailing %d files from %d inputs; shipping to %s; checkpoints in %s.",
                len(self.tails),
                len(self.inputs),
                self.client.address,
                self.store.path,
            )
            code = await self._main_loop()
            if code == EXIT_OK:
                await self._shutdown()
            return code
        finally:
            self._teardown()

    def _new_client(self, cfg: RunConfig) -> Client:
        return Client(cfg, on_ack=self._on_ack, max_attempts=None)

    async def _main_loop(self) -> int:
        assert self._wake is not None and self.client is not None
        while not self._stop:
            self._wake.clear()
            now = self.clock()
            if self.client.error is not None:
                exc = self.client.error
                if isinstance(exc, AuthFailed):
                    log.error(
                        "The collector %s refused the token (%s). Nothing was lost: "
                        "checkpoints are in %s. Fix `token` and start again.",
                        self.client.address,
                        exc,
                        self.store.path,
                    )
                else:
                    log.error("Cannot ship to %s: %s. Nothing was lost.", self.client.address, exc)
                self._record_all()
                self._save()
                return EXIT_FAILED
            if self._reload:
                self._reload = False
                await self._do_reload()
                continue
            if now >= self._next_rescan:
                self._rescan(now)
            self._read_dirty(now)
            self._take_due(now)
            await self._ship()
            self._close_finished()
            self._commit(now)
            self._publish(now)
            timeout = self._next_wakeup(now)
            if timeout > 0 and not self._wake.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
            else:
                await asyncio.sleep(0)
        return EXIT_OK

    def _next_wakeup(self, now: float) -> float:
        if self.dirty and self._capacity() > 0:
            held = sum(t.held_bytes for t in self.tails.values())
            if held < self.max_held_bytes:
                return 0.0  # more to read right away
        times = [self._next_rescan]
        for tail in self.timed:
            d = tail.next_deadline(now)
            if d is not None:
                times.append(d)
        if self.store.dirty:
            times.append(self._last_commit + self.cfg.checkpoint_interval_s)
        if self.outbox or (self.client is not None and self.client.in_flight):
            times.append(now + 1.0)  # notice a failed client without an ACK to wake us
        if self.metrics is not None and self._metrics_server is not None:
            times.append(self._last_metrics + 1.0)
        return max(0.005, min(times) - now)  # never spin, even on a deadline that is past

    # ------------------------------------------------------------------ notifications

    def _notify_threadsafe(self, path: str) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._notified, path)

    def _notified(self, path: str) -> None:
        tail = self.by_path.get(path)
        if tail is not None:
            self.dirty[tail] = None
        elif os.path.isdir(path):
            self._next_rescan = 0.0  # a new folder: files in it may predate its watch
        elif not is_compressed(path):
            for i, m in enumerate(self.matchers):
                if m.matches(path):
                    self._open(path, i, startup=False)
                    break
        assert self._wake is not None
        self._wake.set()

    # ------------------------------------------------------------------ tails

    def _close_finished(self) -> None:
        for key, tail in list(self.tails.items()):
            if tail.closable:
                self._record(tail)
                self._close(key, tail)

    def _drop(self, tail: Tail) -> None:
        self._record(tail)
        self._close((tail.dev, tail.ino), tail)

    def _close(self, key: tuple[int, int], tail: Tail) -> None:
        tail.close()
        self.tails.pop(key, None)
        if self.by_path.get(tail.path) is tail:
            del self.by_path[tail.path]
        self.input_of.pop(tail, None)
        self.dirty.pop(tail, None)
        self.timed.discard(tail)
        self.copies.pop(tail, None)
        c, r = tail.counters, self.retired
        r.lines_read += c.lines_read
        r.bytes_read += c.bytes_read
        r.rotations += c.rotations
        r.truncations += c.truncations
        r.bytes_lost += c.bytes_lost

    # ------------------------------------------------------------------ reload and stop

    async def _do_reload(self) -> None:
        if self._loader is None:
            log.warning("SIGHUP: no configuration file to reload.")
            return
        try:
            new = self._loader()
        except ConfigError as exc:
            log.error("Configuration reload refused: %s. Keeping the running configuration.", exc)
            return
        old = self.cfg
        self._record_all()
        self._save()
        if any(getattr(new, k) != getattr(old, k) for k in CONNECTION_KEYS):
            await self._drain(old.shutdown_timeout_s)
            self._record_all()
            self._save()
            assert self.client is not None
            await self.client.close()
            if new.state_dir != old.state_dir:
                self.store = CheckpointStore(new.state_path)
            self.client = self._new_client(new)
            self.client.start()
        for key, tail in list(self.tails.items()):
            self._close(key, tail)
        self.inactive.clear()
        self.outbox.clear()
        self.sent.clear()
        self.cfg = new
        self._setup_inputs(new)
        self._reconcile(startup=False)
        log.warning(
            "Configuration reloaded: %d inputs, %d files tailed.", len(self.inputs), len(self.tails)
        )

    async def _shutdown(self) -> None:
        await self._drain(self.cfg.shutdown_timeout_s)
        self._record_all()
        self._save()
        log.info(
            "Stopped: %d lines shipped; checkpoints saved in %s.",
            self.shipped_lines,
            self.store.path,
        )

    def _teardown(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
        for key, tail in list(self.tails.items()):
            self._close(key, tail)
        self._loop = None

    async def aclose_client(self) -> None:
        if self.client is not None:
            await self.client.close()

    # ------------------------------------------------------------------ metrics

    def _publish(self, now: float) -> None:
        if self._metrics_server is None or now - self._last_metrics < 1.0:
            return
        self._last_metrics = now
        publish(
            self.metrics,
            list(self.tails.values()),
            self.retired,
            self.client,
            lines_shipped=self.shipped_lines,
            bytes_shipped=self.shipped_bytes,
            batches_shipped=self.shipped_batches,
            files_inactive=len(self.inactive),
        )
