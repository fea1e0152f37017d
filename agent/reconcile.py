"""Which files `run` tails, and from where: reconciling the checkpoint with the files.

A mixin of `agent.runner.Runner` (it shares the runner's tables): start-up reconciliation
and rescans; copies that appear while the agent runs are `agent.copies`. A file is resumed only when device, inode **and** first bytes match its checkpoint
entry, so a recycled inode never inherits an old offset. A checkpointed file no longer found
by the globs is looked for in its old folder: by inode (renamed while the agent was stopped)
and, for an entry whose inode now holds other content, by its first bytes (the rotated copy of
copytruncate); it is then finished from its offset, neither re-read nor skipped. When no copy
is left, the bytes that may be lost are counted and logged.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from typing import TYPE_CHECKING

from agent.checkpoint import CheckpointStore
from agent.copies import line_aligned_end
from agent.discovery import Matcher, Watcher, is_compressed, merged_roots, scan
from agent.identity import FINGERPRINT_BYTES
from agent.inactive import Inactive, quiet_for
from agent.inputs import InputConfig, RunConfig
from agent.multiline import Joiner, make_rule
from agent.resume import Resume
from agent.tail import Counters, Limits, Tail

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("logship.agent.run")

Index = dict[tuple[int, int], list[Resume]]


def stat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


class Reconciler:
    """Discovery and reconciliation for the runner (see the module doc)."""

    cfg: RunConfig
    clock: Callable[[], float]
    store: CheckpointStore
    watcher: Watcher | None
    tails: dict[tuple[int, int], Tail]
    by_path: dict[str, Tail]
    inactive: dict[str, Inactive]
    input_of: dict[Tail, int]
    dirty: dict[Tail, None]
    retired: Counters
    inputs: list[InputConfig]
    matchers: list[Matcher]
    limits: Limits
    _reported: set[str]
    _touched: dict[str, float]
    _next_rescan: float

    if TYPE_CHECKING:  # from `agent.shipping.Shipping` and `agent.runner.Runner`

        def _record(self, tail: Tail) -> None: ...

        def _record_all(self) -> None: ...

        def _save(self) -> None: ...

        def _drop(self, tail: Tail) -> None: ...

    def _reconcile(self, startup: bool) -> None:
        """Open every matching file, resuming known ones; finish rotated ones found elsewhere."""
        now = self.clock()
        found = scan(self.matchers)
        index = self._index()
        # Files known by device + inode + first bytes first; then entries whose inode now holds
        # other content ("orphans": truncated or replaced while the agent was stopped) may be
        # continued in a copy with their first bytes (copytruncate's rotated copy).
        probes = {path: self._probe(path, index) for path in found}
        resumed = {r.file_id for _, r in probes.values() if r is not None}
        present = {key for key, _ in probes.values() if key is not None}
        orphans = [
            r
            for devino, items in index.items()
            if devino in present
            for r in items
            if r.file_id not in resumed
        ]
        for path, idx in sorted(found.items()):
            resume = None
            if probes[path][0] is not None and probes[path][1] is None:
                resume = self._content_match(path, orphans)
            self._open(path, idx, startup=startup, index=index, resume=resume)
        self._find_rotated(index, orphans)
        self.store.expire(self.cfg.checkpoint_expire_s)
        self._record_all()
        self._save()
        assert self.watcher is not None
        self.watcher.watch(merged_roots(self.matchers))
        self._next_rescan = now + self.cfg.rescan_interval_s

    def _rescan(self, now: float) -> None:
        found = scan(self.matchers)
        for path in [p for p in self.inactive if p not in found]:
            del self.inactive[path]  # gone, or no longer matched: its entry will expire
        for path, idx in found.items():
            if path in self.by_path:
                continue
            quiet = self.inactive.get(path)
            if quiet is None or not quiet.unchanged(stat_or_none(path)):
                self._open(path, idx, startup=False)  # new, or a closed file that changed
        for path, tail in list(self.by_path.items()):
            self.dirty[tail] = None  # stat every file: inotify may have missed something
            if path not in found and tail.idle and stat_or_none(path) is not None:
                self._drop(tail)  # no longer matches (excluded, moved out of the glob)
            elif (quiet := quiet_for(tail, now, self.cfg.close_inactive_s)) is not None:
                self._drop(tail)  # quiet: closed until it changes (agent.inactive)
                self.inactive[path] = quiet
        for tail in self.tails.values():
            if tail.finishing:
                self.dirty[tail] = None
        assert self.watcher is not None
        self.watcher.prune()
        self.watcher.watch(merged_roots(self.matchers))
        wall = time.time()
        keep = self.cfg.checkpoint_expire_s / 4
        ids = [t.file_id for t in self.tails.values()] + [q.file_id for q in self.inactive.values()]
        for file_id in ids:
            if file_id and wall - self._touched.get(file_id, 0.0) > keep:
                self._touched[file_id] = wall
                self.store.touch(file_id)
        for key in self.store.expire(self.cfg.checkpoint_expire_s):
            log.info("Forgot the checkpoint of %s: not seen for a long time.", key)
        self._next_rescan = now + self.cfg.rescan_interval_s

    def _index(self) -> Index:
        """Checkpoint entries by (device, inode)."""
        index: Index = {}
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
        index: Index | None = None,
    ) -> Resume | None:
        """The checkpoint entry of this very file (device, inode and first bytes), if any."""
        if index is None:
            index = self._index()
        best: Resume | None = None
        for r in index.get((st.st_dev, st.st_ino), ()):
            if r.matches(fd) and (best is None or r.updated > best.updated):
                best = r
        return best

    def _probe(self, path: str, index: Index) -> tuple[tuple[int, int] | None, Resume | None]:
        """((device, inode), its checkpoint entry if the content matches) of a file."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None, None
        try:
            st = os.fstat(fd)
            return (st.st_dev, st.st_ino), self._resume_for(fd, st, index)
        finally:
            os.close(fd)

    def _content_match(self, path: str, orphans: list[Resume]) -> Resume | None:
        """An orphaned entry whose first bytes this (new) file starts with: a copy of it."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            for r in orphans:
                # Only a full-length fingerprint is strong enough to tie two inodes together.
                if r.fp_len >= FINGERPRINT_BYTES and r.matches(fd):
                    orphans.remove(r)
                    return r
        finally:
            os.close(fd)
        return None

    def _open(
        self,
        path: str,
        idx: int,
        *,
        startup: bool,
        finishing: bool = False,
        index: Index | None = None,
        resume: Resume | None = None,
    ) -> Tail | None:
        self.inactive.pop(path, None)
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
        if resume is None:
            resume = self._resume_for(fd, st, index)
        elif not resume.matches(fd):
            resume = None
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
            offset = line_aligned_end(fd, st.st_size)
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
        elif resume is None and not startup and not finishing:
            # A file that appears while running may be the copy copytruncate is writing: it
            # is not read before it is long enough to tell (or quiet), see `Copies._held`.
            tail.hold_until = self.clock() + self.cfg.rotate_wait_s
        self.tails[key] = tail
        self.input_of[tail] = idx
        if not finishing:
            self.by_path[path] = tail
        self.dirty[tail] = None
        if resume is not None and (resume.dev, resume.ino) != key:
            log.warning(
                "%s starts like %s did before it was truncated (a copy): continuing it from "
                "byte %d, so nothing is read twice.",
                path,
                resume.path,
                offset,
            )
        elif resume is not None and (replay or offset):
            log.info("Resuming %s at byte %d.", path, offset)
        return tail

    def _find_rotated(self, index: Index, orphans: list[Resume]) -> None:
        """Checkpointed files not found by the globs: look for them in their old folder, by
        inode (renamed) or, for orphans, by their first bytes (copied, then truncated)."""
        for r in list(orphans):
            tail = None
            folder = os.path.dirname(r.path)
            try:
                entries = [e for e in os.scandir(folder) if not is_compressed(e.path)]
            except OSError:
                entries = []
            if r.fp_len < FINGERPRINT_BYTES:
                entries = []  # too short a fingerprint to recognise a copy by
            for entry in entries:
                try:
                    st = entry.stat()
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) in self.tails or not stat.S_ISREG(st.st_mode):
                    continue
                if st.st_size < r.fp_len or st.st_size <= r.offset and not r.replay:
                    continue
                idx = self.input_of_path(r.path)
                tail = self._open(entry.path, idx, startup=False, finishing=True, resume=r)
                if tail is not None:
                    break
            if tail is None:
                self.store.remove(r.file_id)
                lost = max(0, r.size - r.offset)  # seen but not shipped: a lower bound
                self.retired.truncations += 1
                self.retired.bytes_lost += lost
                log.warning(
                    "%s was truncated or replaced while the agent was stopped and no "
                    "uncompressed copy of it was found: lines written to it after byte %d "
                    "(at least %d bytes) may be lost.",
                    r.path,
                    r.offset,
                    lost,
                )
            orphans.remove(r)
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
