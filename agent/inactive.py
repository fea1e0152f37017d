"""Closing quiet files (Filebeat's `close_inactive`) and noticing when they change again.

A followed file that has not grown for `close_inactive_s`, with all of it read and
acknowledged, is closed: its checkpoint entry holds its offset, so an agent tailing thousands
of files keeps only the active ones open. The rescan compares the path's `stat` with the one
taken when it was closed; any change (growth, truncation, another inode) opens it again, and
`_open` resumes it from the checkpoint by device, inode and first bytes, as at start-up.
A write also opens it at once when inotify reports it. Its checkpoint entry is kept fresh
meanwhile, so it never expires while the file is there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from agent.tail import Tail


@dataclass(frozen=True)
class Inactive:
    """A file closed while quiet: what it looked like then."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    file_id: str

    def unchanged(self, st: os.stat_result | None) -> bool:
        """Whether the path still names the same file, with the same size and time."""
        return st is not None and (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) == (
            self.dev,
            self.ino,
            self.size,
            self.mtime_ns,
        )


def quiet_for(tail: Tail, now: float, close_inactive_s: float) -> Inactive | None:
    """The record to close `tail` with, if it may be closed now: followed by its path, quiet
    for `close_inactive_s`, everything in it read and acknowledged; else None."""
    if close_inactive_s <= 0 or tail.fd is None or tail.file_id is None:
        return None
    if tail.finishing or tail.hold_until is not None or not tail.eof or not tail.idle:
        return None
    if now - tail.last_growth < close_inactive_s:
        return None
    st = os.fstat(tail.fd)
    if st.st_size != tail.committed:  # grew since it was last read (or not all of it is ACKed)
        return None
    return Inactive(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, tail.file_id)
