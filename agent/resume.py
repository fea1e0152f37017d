"""What a tail resumes from: a checkpoint entry (`Resume`) or a truncated content (`Before`).

`Resume` is a checkpoint entry read back (written by `run`, or by `send`): the file's identity,
its acknowledged offset and the bounds of its batches in flight, which are read again with the
very same bounds (`replay`, see `agent.tail`) so that a re-sent batch keeps its id. `Before` is
what a tail had of a content it lost to a truncation, so that a copy of that content
(copytruncate) can be finished where the tail stopped (`agent.copies`). Pure, but for
`Resume.matches`, which reads the first bytes of an open file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.identity import FINGERPRINT_BYTES, fingerprint_fd, parse_key


@dataclass
class Before:
    """What a tail had of a content it lost to a truncation."""

    file_id: str | None
    fp: str | None
    fp_len: int
    committed: int  # acknowledged up to here
    ends: list[int]  # ends of the batches in flight after `committed`
    read_offset: int  # read up to here (the rest of the truncated batches: orphans)
    lost: int  # counted as possibly lost


@dataclass
class Resume:
    """Where to resume a known file, from its checkpoint entry."""

    file_id: str
    dev: int
    ino: int
    fp: str
    fp_len: int
    offset: int
    replay: list[int] = field(default_factory=list)
    updated: float = 0.0
    path: str = ""
    done: bool = False
    size: int = 0  # the file's size when last seen

    @classmethod
    def from_entry(cls, key: str, entry: dict[str, Any]) -> Resume:
        """From a checkpoint entry (written by `run`, or by `send`); a malformed one raises
        ValueError, KeyError or TypeError."""
        dev, ino, key_fp = parse_key(key)
        # A file continued under another inode (a copy) keeps its first identity as its key.
        dev, ino = int(entry.get("dev", dev)), int(entry.get("ino", ino))
        offset = int(entry["offset"])
        ends = []
        pos = offset
        for start, end in entry.get("spans") or []:
            if int(start) == pos and int(end) > pos:
                ends.append(int(end))
                pos = int(end)
        return cls(
            file_id=key,
            dev=dev,
            ino=ino,
            fp=str(entry.get("fp") or key_fp),
            fp_len=int(entry.get("head_bytes") or FINGERPRINT_BYTES),
            offset=offset,
            replay=ends,
            updated=float(entry.get("updated") or 0.0),
            path=str(entry.get("path", "")),
            done=bool(entry.get("done", False)),
            size=int(entry.get("size") or offset),
        )

    def matches(self, fd: int) -> bool:
        """Whether the open file still starts with the fingerprinted bytes."""
        fp, n = fingerprint_fd(fd, self.fp_len)
        return n == self.fp_len and fp == self.fp
