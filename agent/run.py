"""`logship-agent run`: tail files continuously and ship them without loss or duplicates.

One asyncio loop does everything but watching: watchdog's observer thread only reports paths
(`loop.call_soon_threadsafe`). Each turn of the loop:

1. handles reported paths (a tailed file changed, a new file or folder appeared), and every
   `rescan_interval_s` rescans the globs and checks every tailed file (inotify's fallback);
2. reads the files that changed, but only while the collector's window has room: while the
   collector is down nothing is read, the files are the buffer and memory stays bounded;
3. closes batches that are full or old enough (`agent.tail`), records them in the checkpoint
   *before* sending them (so after a crash they are re-sent with the same boundaries, hence
   the same ids), and hands them to the client (`agent.client`: window, ACKs, reconnects);
4. on each ACK moves that file's committed offset (contiguously) and saves the checkpoint at
   most every `checkpoint_interval_s`.

At start the checkpoint is reconciled with the files: a file is resumed by device, inode and
fingerprint (never by path alone, so a recycled inode starts at 0); a checkpointed file found
under another name in its folder (rotated while the agent was stopped) is finished from its
offset. SIGTERM: stop reading, wait up to `shutdown_timeout_s` for in-flight ACKs, save the
checkpoint, exit 0. SIGHUP: reload the configuration; a bad one is refused and the running
one kept.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import signal
import stat
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from agent.batcher import Batch
from agent.checkpoint import CheckpointStore
from agent.cli import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Subcommand,
    add_common_options,
    fail,
    setup_logging,
)
from agent.client import Client
from agent.discovery import Matcher, Watcher, is_compressed, merged_roots, scan
from agent.errors import AuthFailed
from agent.inputs import InputConfig, RunConfig, load_run_config
from agent.metrics import Metrics, serve
from agent.multiline import Joiner, make_rule
from agent.tail import Counters, Limits, Resume, Tail
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
CHUNKS_PER_TURN = 16  # most chunks read from one file before the next file gets its turn


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _line_aligned_end(fd: int, size: int) -> int:
    """Offset just after the last newline before `size` (0 when none in the last 64 KiB)."""
    start = max(0, size - 65536)
    tail = os.pread(fd, size - start, start)
    idx = tail.rfind(b"\n")
    return start + idx + 1 if idx >= 0 else (0 if start == 0 else size)


class Runner:
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
        self.inputs: list[InputConfig] = config.input_configs()
        self.matchers = [Matcher(i.paths, i.exclude) for i in self.inputs]
        self.limits = Limits(
            max_batch_lines=config.max_batch_lines,
            max_batch_bytes=config.max_batch_bytes,
            batch_age_s=config.batch_age_s,
            rotate_wait_s=config.rotate_wait_s,
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

    # ------------------------------------------------------------------ discovery

    def _reconcile(self, startup: bool) -> None:
        """Open every matching file, resuming known ones; finish rotated ones found elsewhere."""
        now = self.clock()
        found = scan(self.matchers)
        index = self._index()
        for path, idx in sorted(found.items()):
            self._open(path, idx, startup=startup, index=index)
        self._find_rotated(index)
        self.store.expire(self.cfg.checkpoint_expire_s)
        self._record_all()
        self._save()
        assert self.watcher is not None
        self.watcher.watch(merged_roots(self.matchers))
        self._next_rescan = now + self.cfg.rescan_interval_s

    def _rescan(self, now: float) -> None:
        found = scan(self.matchers)
        for path, idx in found.items():
            if path not in self.by_path:
                self._open(path, idx, startup=False)
        for path, tail in list(self.by_path.items()):
            self.dirty[tail] = None  # stat every file: inotify may have missed something
            if path not in found and tail.idle and _stat(path) is not None:
                self._drop(tail)  # no longer matches (excluded, moved out of the glob)
        for tail in self.tails.values():
            if tail.finishing:
                self.dirty[tail] = None
        assert self.watcher is not None
        self.watcher.prune()
        self.watcher.watch(merged_roots(self.matchers))
        wall = time.time()
        keep = self.cfg.checkpoint_expire_s / 4
        for tail in self.tails.values():
            if tail.file_id and wall - self._touched.get(tail.file_id, 0.0) > keep:
                self._touched[tail.file_id] = wall
                self.store.touch(tail.file_id)
        for key in self.store.expire(self.cfg.checkpoint_expire_s):
            log.info("Forgot the checkpoint of %s: not seen for a long time.", key)
        self._next_rescan = now + self.cfg.rescan_interval_s

    def _index(self) -> dict[tuple[int, int], list[Resume]]:
        """Checkpoint entries by (device, inode)."""
        index: dict[tuple[int, int], list[Resume]] = {}
        for key, entry in self.store.items():
            try:
                r = Resume.from_entry(key, entry)
            except (ValueError, KeyError, TypeError):
                continue
            index.setdefault((r.dev, r.ino), []).append(r)
        return index

    def _resume_for(
        self,
        fd: int,
        st: os.stat_result,
        index: dict[tuple[int, int], list[Resume]] | None = None,
    ) -> Resume | None:
        """The checkpoint entry of this very file (device, inode and first bytes), if any."""
        if index is None:
            index = self._index()
        best: Resume | None = None
        for r in index.get((st.st_dev, st.st_ino), ()):
            if r.matches(fd) and (best is None or r.updated > best.updated):
                best = r
        return best

    def _open(
        self,
        path: str,
        idx: int,
        *,
        startup: bool,
        finishing: bool = False,
        index: dict[tuple[int, int], list[Resume]] | None = None,
    ) -> Tail | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            if path not in self._reported:
                self._reported.add(path)
                log.warning("Cannot read %s (%s); will retry at the next rescan.", path, exc)
            return None
        self._reported.discard(path)
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        if not stat.S_ISREG(st.st_mode) or key in self.tails:
            os.close(fd)  # not a file, or already tailed (under another name)
            return self.tails.get(key)
        inp = self.inputs[idx]
        resume = self._resume_for(fd, st, index)
        if resume is None and finishing:
            os.close(fd)  # a recycled inode, not the checkpointed file
            return None
        offset = 0
        replay: list[int] = []
        if resume is not None:
            if st.st_size < resume.offset:
                log.warning(
                    "%s is shorter (%d bytes) than its checkpoint (%d): it was truncated while "
                    "the agent was stopped; reading it from the start.",
                    path,
                    st.st_size,
                    resume.offset,
                )
                self.retired.truncations += 1
                self.store.remove(resume.file_id)
                resume = None
            else:
                offset, replay = resume.offset, resume.replay
        elif startup and inp.start_at == "end" and st.st_size:
            offset = _line_aligned_end(fd, st.st_size)
        tail = Tail(
            agent=self.cfg.agent,
            path=path,
            fd=fd,
            dev=st.st_dev,
            ino=st.st_ino,
            offset=offset,
            joiner=Joiner(
                make_rule(inp.multiline),
                max_lines=inp.multiline_max_lines,
                max_bytes=min(
                    inp.max_line_bytes or self.cfg.max_line_bytes, self.cfg.max_batch_bytes
                ),
                flush_timeout_s=inp.multiline_flush_s,
            ),
            max_line_bytes=inp.max_line_bytes or self.cfg.max_line_bytes,
            limits=self.limits,
            fields=dict(inp.fields) or None,
            file_id=resume.file_id if resume else None,
            fp=resume.fp if resume else None,
            fp_len=resume.fp_len if resume else 0,
            replay=replay,
            finishing=finishing,
            transcode=inp.transcode,
            now=self.clock(),
        )
        tail.size = max(offset, st.st_size)
        if offset and resume is None:
            tail.ensure_identity()
            self._record(tail)
        self.tails[key] = tail
        self.input_of[tail] = idx
        if not finishing:
            self.by_path[path] = tail
        self.dirty[tail] = None
        if resume is not None and (replay or offset):
            log.info("Resuming %s at byte %d.", path, offset)
        return tail

    def _find_rotated(self, index: dict[tuple[int, int], list[Resume]]) -> None:
        """Checkpointed files not found by the globs: look for them in their old folder."""
        wanted: dict[tuple[int, int], Resume] = {}
        for devino, items in index.items():
            if devino in self.tails:
                continue
            for r in items:
                if r.path and (devino not in wanted or r.updated > wanted[devino].updated):
                    wanted[devino] = r
        folders: dict[str, list[Resume]] = {}
        for r in wanted.values():
            folders.setdefault(os.path.dirname(r.path), []).append(r)
        for folder, rs in folders.items():
            inodes = {r.ino: r for r in rs}
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                found = inodes.get(entry.inode())
                if found is None or is_compressed(entry.path):
                    continue
                r = found
                try:
                    st = entry.stat()
                except OSError:
                    continue
                if st.st_dev != r.dev or not stat.S_ISREG(st.st_mode):
                    continue
                if st.st_size <= r.offset and not r.replay:
                    continue  # finished already
                idx = self.input_of_path(r.path)
                tail = self._open(entry.path, idx, startup=False, finishing=True, index=index)
                if tail is not None:
                    log.info(
                        "%s was rotated to %s while the agent was stopped; finishing it from "
                        "byte %d.",
                        r.path,
                        entry.path,
                        tail.read_offset,
                    )

    def input_of_path(self, path: str) -> int:
        for i, m in enumerate(self.matchers):
            if m.matches(path):
                return i
        return 0

    # ------------------------------------------------------------------ reading

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
        path_stat = None if tail.finishing else _stat(tail.path)
        try:
            change = tail.check(path_stat, now)
        except OSError as exc:
            log.warning("Cannot check %s (%s).", tail.path, exc)
            return
        if change in ("rotated", "deleted"):
            if self.by_path.get(tail.path) is tail:
                del self.by_path[tail.path]
            log.info("%s was %s; reading the old file to its end.", tail.path, change)
            if change == "rotated":
                idx = self.input_of.get(tail, 0)
                self._open(tail.path, idx, startup=False)
        elif change == "truncated":
            if old_id:
                self.store.remove(old_id)
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
            if tail.finishing:
                self.dirty[tail] = None
                if tail.eof and tail.finish_if_due(now):
                    for batch in tail.take_batches(now, force=True):
                        self.outbox.append((tail, batch))
            else:
                for batch in tail.take_batches(now):
                    self.outbox.append((tail, batch))
            if tail.next_deadline(now) is None:
                self.timed.discard(tail)

    # ------------------------------------------------------------------ shipping

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
            await client.send(batch)  # there is room in the window: this does not wait
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
        self.outbox.clear()
        self.sent.clear()
        self.cfg = new
        self._setup_inputs(new)
        self._reconcile(startup=False)
        log.warning(
            "Configuration reloaded: %d inputs, %d files tailed.", len(self.inputs), len(self.tails)
        )

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
        m = self.metrics
        r = self.retired
        tails = list(self.tails.values())
        c = m.counters
        c["logship_agent_lines_read_total"] = r.lines_read + sum(
            t.counters.lines_read for t in tails
        )
        c["logship_agent_bytes_read_total"] = r.bytes_read + sum(
            t.counters.bytes_read for t in tails
        )
        c["logship_agent_rotations_total"] = r.rotations + sum(t.counters.rotations for t in tails)
        c["logship_agent_truncations_total"] = r.truncations + sum(
            t.counters.truncations for t in tails
        )
        c["logship_agent_truncated_bytes_lost_total"] = r.bytes_lost + sum(
            t.counters.bytes_lost for t in tails
        )
        c["logship_agent_lines_shipped_total"] = self.shipped_lines
        c["logship_agent_bytes_shipped_total"] = self.shipped_bytes
        c["logship_agent_batches_shipped_total"] = self.shipped_batches
        client = self.client
        if client is not None:
            c["logship_agent_reconnects_total"] = client.stats.reconnects
            m.set("logship_agent_batches_in_flight", client.in_flight)
            m.set("logship_agent_connected", 1 if client.connected else 0)
        m.set("logship_agent_files_open", len(tails))
        m.lag = {t.path: t.lag_bytes() for t in tails}


def _raise_nofile_limit() -> None:
    """Many files are tailed at once: use the hard limit of open files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ----------------------------------------------------------------------------- command line


def _configure(parser: argparse.ArgumentParser) -> None:
    add_common_options(parser)
    parser.add_argument(
        "--path",
        action="append",
        metavar="GLOB",
        help="tail files matching GLOB (repeatable; replaces the config's [[inputs]])",
    )
    parser.add_argument("--exclude", action="append", metavar="GLOB", help="do not tail these")
    parser.add_argument(
        "--multiline", metavar="RULE", help="python, java or a first-line regex (with --path)"
    )
    parser.add_argument(
        "--start-at", choices=("beginning", "end"), help="where to start in files found at start"
    )
    parser.add_argument(
        "--field",
        action="append",
        metavar="KEY=VALUE",
        help="field added to every event (with --path; repeatable)",
    )
    parser.add_argument("--metrics-port", type=int, metavar="PORT", help="serve metrics here")


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Config overrides from the command line (quick use: --path builds the only input)."""
    out: dict[str, Any] = {
        "collector": args.collector,
        "token": args.token,
        "tls_ca_file": None if args.tls_ca is None else str(args.tls_ca),
        "state_dir": None if args.state_dir is None else str(args.state_dir),
        "metrics_port": args.metrics_port,
    }
    if args.path:
        table: dict[str, Any] = {"paths": list(args.path)}
        if args.exclude:
            table["exclude"] = list(args.exclude)
        if args.multiline:
            table["multiline"] = args.multiline
        if args.start_at:
            table["start_at"] = args.start_at
        if args.field:
            fields = {}
            for item in args.field:
                key, sep, value = item.partition("=")
                if not sep or not key:
                    raise ConfigError(f"option --field: expected KEY=VALUE, got {item!r}")
                fields[key] = value
            table["fields"] = fields
        out["inputs"] = [table]
    elif args.exclude or args.multiline or args.start_at or args.field:
        raise ConfigError("options --exclude, --multiline, --start-at and --field need --path")
    return out


def _run(args: argparse.Namespace) -> int:
    setup_logging(args.verbose)
    try:
        overrides = overrides_from_args(args)
        config = load_run_config(args.config, overrides=overrides)
        if not config.inputs:
            raise ConfigError(
                "nothing to tail: give --path GLOB, or [[inputs]] tables in the config file"
            )
        config.state_path.mkdir(parents=True, exist_ok=True)
    except ConfigError as exc:
        return fail(f"config error: {exc}", EXIT_USAGE)
    except OSError as exc:
        return fail(f"config error: key 'state_dir': {exc}", EXIT_USAGE)
    _raise_nofile_limit()

    def reload() -> RunConfig:
        new = load_run_config(args.config, overrides=overrides)
        if not new.inputs:
            raise ConfigError("the new configuration has no [[inputs]]")
        return new

    runner = Runner(config, reload=reload)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, runner.request_stop)
        loop.add_signal_handler(signal.SIGINT, runner.request_stop)
        loop.add_signal_handler(signal.SIGHUP, runner.request_reload)
        try:
            return await runner.run()
        finally:
            await runner.aclose_client()

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        return fail(f"config error: {exc}", EXIT_USAGE)


SUBCOMMAND = Subcommand(
    name="run",
    help="tail log files continuously and ship every new line (the service)",
    description=(
        "Tail log files and ship them continuously, without losing or duplicating a line: "
        "follows rotation (rename and copytruncate), resumes from checkpoints after a restart, "
        "joins multiline events, pauses reading while the collector is down. SIGTERM stops "
        "cleanly, SIGHUP reloads the configuration.\n\nexamples:\n"
        "  logship-agent run --config /etc/logship/agent.toml\n"
        "  logship-agent run --path '/var/log/app/*.log' --collector logs.example.com:8888"
    ),
    configure=_configure,
    handler=_run,
)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_run(argparse.ArgumentParser().parse_args()))
