"""Copies of tailed files: copytruncate, and plain copies that must not be read twice.

A mixin of `agent.runner.Runner`, beside `agent.reconcile.Reconciler` (it shares the runner's
tables). A file that appears while the agent runs is not read before it is long enough to be
compared with the open files (`_held`). One that starts like an open file, byte for byte
(`same_bytes`), is a copy of it: if the original is then truncated (copytruncate), the copy is
read from where the original stopped, under the original's identity, re-reading the batches
in flight with the same bounds (`_finish_copy`; a copy the globs do not match is looked for in
the original's folder, `_open_copy`); if not, it is a plain copy and is followed from its end
(`line_aligned_end`, also where an input with `start_at = "end"` starts), so its lines are
not shipped twice.
"""

from __future__ import annotations

import logging
import os
import stat
from typing import TYPE_CHECKING

from agent.discovery import is_compressed
from agent.identity import FINGERPRINT_BYTES, fingerprint_fd
from agent.inputs import RunConfig
from agent.resume import Before, Resume
from agent.tail import Tail

log = logging.getLogger("logship.agent.run")


def line_aligned_end(fd: int, size: int) -> int:
    """Offset just after the last newline before `size` (0 when none in the last 64 KiB)."""
    start = max(0, size - 65536)
    tail = os.pread(fd, size - start, start)
    idx = tail.rfind(b"\n")
    return start + idx + 1 if idx >= 0 else (0 if start == 0 else size)


def same_bytes(copy: Tail, original: Tail, sample: int = 4096) -> bool:
    """Whether `copy` looks like a byte copy of the start of `original`: the bytes before the
    copy's end are the same in both (two files with the same header are told apart)."""
    if copy.fd is None or original.fd is None:
        return False
    size = os.fstat(copy.fd).st_size
    if os.fstat(original.fd).st_size < size:
        return False
    start = max(0, size - sample)
    return os.pread(copy.fd, size - start, start) == os.pread(original.fd, size - start, start)


class Copies:
    """Finding and finishing copies of tailed files for the runner (see the module doc)."""

    cfg: RunConfig
    tails: dict[tuple[int, int], Tail]
    by_path: dict[str, Tail]
    input_of: dict[Tail, int]
    dirty: dict[Tail, None]
    copies: dict[Tail, Tail]  # a new file that starts like an open one -> that one

    if TYPE_CHECKING:  # `agent.reconcile.Reconciler._open`

        def _open(
            self,
            path: str,
            idx: int,
            *,
            startup: bool,
            finishing: bool = False,
            resume: Resume | None = None,
        ) -> Tail | None: ...

    def _held(self, tail: Tail, now: float) -> bool:
        """Whether a new file must still wait before it is read.

        A file that appears while running is read only once it is long enough to be compared
        with the open files (or has been quiet for `rotate_wait_s`). One that starts like an
        open file is a copy of it: it waits for that file to be truncated (copytruncate: the
        copy is then read from where the original stopped, see `_finish_copy`); if that does
        not happen, it is a plain copy and is followed from its end, not read twice.
        """
        assert tail.fd is not None and tail.hold_until is not None
        size = os.fstat(tail.fd).st_size
        tail.size = max(tail.size, size)
        original = self.copies.get(tail)
        if original is None:
            if size < FINGERPRINT_BYTES and now < tail.hold_until:
                return True
            original = self._copy_match(tail)
            if original is None:
                tail.hold_until = None
                return False
            self.copies[tail] = original
            tail.hold_until = (
                now + 5 * self.cfg.rotate_wait_s
            )  # copytruncate truncates right after copying
            return True
        if now < tail.hold_until and original.fd is not None and not original.finishing:
            return True
        del self.copies[tail]
        tail.hold_until = None
        if not same_bytes(tail, original):
            return False  # it has become a file of its own: read it from the start
        end = line_aligned_end(tail.fd, size)
        tail.seek(end)
        log.warning(
            "%s is a copy of %s, which was not truncated: following it from its end (byte %d) "
            "so its lines are not shipped twice.",
            tail.path,
            original.path,
            end,
        )
        return False

    def _copy_match(self, tail: Tail) -> Tail | None:
        """The open file whose first (full-length) fingerprint this new file starts with."""
        assert tail.fd is not None
        fp, n = fingerprint_fd(tail.fd)
        if n < FINGERPRINT_BYTES:
            return None
        for other in self.tails.values():
            if other is tail or other.finishing:
                continue
            if other.fp != fp or other.fp_len != FINGERPRINT_BYTES:
                continue
            if same_bytes(tail, other):
                return other
            if not other.same_content():  # truncated already (copytruncate), not yet seen
                self.dirty[other] = None
                return other
        return None

    def _finish_copy(self, original: Tail) -> None:
        """`original` was truncated: finish its copy (copytruncate) from where it stopped.

        The copy continues the original's identity from its acknowledged offset, re-reading the
        batches in flight with the same bounds (same ids: stored once), so nothing is lost even
        if the agent crashes now. Lines the copy does not have stay with the original.
        """
        before = original.before
        if before is None or before.file_id is None or before.fp is None:
            return
        if before.fp_len < FINGERPRINT_BYTES:
            return
        copy = next((c for c, o in self.copies.items() if o is original), None)
        if copy is None:  # a new file not yet compared with the open ones: maybe the copy
            copy = next(
                (
                    t
                    for t in self.tails.values()
                    if t.hold_until is not None
                    and t.fd is not None
                    and fingerprint_fd(t.fd, before.fp_len) == (before.fp, before.fp_len)
                ),
                None,
            )
        if copy is not None:
            self.copies.pop(copy, None)
            copy.hold_until = None
            assert copy.fd is not None
            size = os.fstat(copy.fd).st_size
            if size >= before.read_offset:
                original.drop_orphans()
                copy.seek(before.committed, before.file_id, before.ends)
            else:
                copy.seek(min(before.read_offset, size), before.file_id)
            copy.finishing = True
            if self.by_path.get(copy.path) is copy:
                del self.by_path[copy.path]
            self.dirty[copy] = None
        else:
            copy = self._open_copy(original, before)
        if copy is not None:
            original.counters.bytes_lost -= before.lost
            log.warning(
                "%s was copied to %s and truncated (copytruncate): reading the copy from "
                "byte %d, then the file again from the start.",
                original.path,
                copy.path,
                copy.read_offset,
            )

    def _open_copy(self, original: Tail, before: Before) -> Tail | None:
        """Look for a copy of `original`'s old content in its folder (a name the globs may
        not match) and open it, finishing, where the original stopped."""
        assert before.file_id is not None and before.fp is not None
        try:
            entries = list(os.scandir(os.path.dirname(original.path)))
        except OSError:
            return None
        for entry in entries:
            if is_compressed(entry.path):
                continue
            try:
                st = entry.stat()
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in self.tails or not stat.S_ISREG(st.st_mode):
                continue
            if st.st_size < before.fp_len:
                continue
            whole = st.st_size >= before.read_offset
            r = Resume(
                file_id=before.file_id,
                dev=st.st_dev,
                ino=st.st_ino,
                fp=before.fp,
                fp_len=before.fp_len,
                offset=before.committed if whole else min(before.read_offset, st.st_size),
                replay=list(before.ends) if whole else [],
                path=original.path,
            )
            idx = self.input_of.get(original, 0)
            tail = self._open(entry.path, idx, startup=False, finishing=True, resume=r)
            if tail is not None:
                if whole:
                    original.drop_orphans()
                return tail
        return None
