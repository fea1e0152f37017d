"""Checkpoints: the committed read offset of every file, by file identity.

On disk (`<state_dir>/checkpoints.json`), versioned:

    {"version": 1, "files": {"<dev>:<inode>:<fp>": {"path": "...", "offset": 123,
                                                     "updated": 1700000000.0}}}

Entries may carry more keys (the tailing agent keeps e.g. `head_bytes`); they are kept as they
are. Writes go to a temporary file, are fsync'ed, renamed over the old file, and the folder is
fsync'ed: a crash leaves the old or the new file, never half of one. Several agent processes
may share a state folder (two `send` runs at once): `save` takes an exclusive lock, re-reads
the file and applies only this process's changes.

A file that cannot be understood (truncated, full of NUL bytes, unknown version) is moved
aside to `checkpoints.json.corrupt-<time>` with a warning and the agent starts fresh: a
corrupt state file never stops the agent (at worst, lines are sent again; batch ids make the
collector store them once).

`AckTracker` (pure) turns ACKs, which may come out of order, into a checkpoint that only
moves contiguously: the offset never passes a batch that is not ACKed yet.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

VERSION = 1
FILENAME = "checkpoints.json"

log = logging.getLogger("logship.agent.checkpoint")


class CorruptCheckpoint(ValueError):
    """The checkpoint file's content cannot be used."""


def _parse(raw: bytes) -> dict[str, dict[str, Any]]:
    """The `files` table of a checkpoint file. Raises CorruptCheckpoint."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptCheckpoint(f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise CorruptCheckpoint("top level is not an object")
    if doc.get("version") != VERSION:
        raise CorruptCheckpoint(f"unknown version {doc.get('version')!r} (expected {VERSION})")
    files = doc.get("files")
    if not isinstance(files, dict):
        raise CorruptCheckpoint("'files' is not an object")
    for key, entry in files.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("path"), str)
            or type(entry.get("offset")) is not int
            or entry["offset"] < 0
            or not isinstance(entry.get("updated"), (int, float))
        ):
            raise CorruptCheckpoint(f"entry {key!r} is malformed: {entry!r}")
    return files


def read_entries(state_dir: Path) -> dict[str, dict[str, Any]]:
    """The entries of the checkpoint file in `state_dir`, read only ({} when there is none).
    Raises CorruptCheckpoint (the file is left where it is)."""
    try:
        raw = (Path(state_dir) / FILENAME).read_bytes()
    except FileNotFoundError:
        return {}
    return _parse(raw)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CheckpointStore:
    """Committed offsets by file identity, persisted in `<state_dir>/checkpoints.json`."""

    def __init__(self, state_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / FILENAME
        self.clock = clock
        self.quarantined: Path | None = None  # where a corrupt file was moved, if it was
        self._files: dict[str, dict[str, Any]] = {}
        self._changed: set[str] = set()  # keys set or removed since the last save
        self._last_save = 0.0
        self.load()

    # -------------------------------------------------------------------------- reading

    def load(self) -> None:
        """(Re)read the file; quarantine it when corrupt. Creates the state folder."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self._files = self._read_disk()
        self._changed.clear()

    def _read_disk(self) -> dict[str, dict[str, Any]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            return _parse(raw)
        except CorruptCheckpoint as exc:
            target = self.path.with_name(f"{FILENAME}.corrupt-{int(self.clock())}")
            os.replace(self.path, target)
            self.quarantined = target
            log.warning(
                "Checkpoint file %s is corrupt (%s); moved it to %s and starting fresh: "
                "files may be sent again, the collector stores each batch once.",
                self.path,
                exc,
                target,
            )
            return {}

    def get(self, file_id: str) -> int:
        """The committed offset of a file (0 when unknown)."""
        entry = self._files.get(file_id)
        return int(entry["offset"]) if entry else 0

    def entry(self, file_id: str) -> dict[str, Any] | None:
        entry = self._files.get(file_id)
        return dict(entry) if entry else None

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for key, entry in list(self._files.items()):
            yield key, dict(entry)

    def __contains__(self, file_id: str) -> bool:
        return file_id in self._files

    def __len__(self) -> int:
        return len(self._files)

    @property
    def dirty(self) -> bool:
        return bool(self._changed)

    # -------------------------------------------------------------------------- changing

    def set(self, file_id: str, path: str, offset: int, **extra: Any) -> None:
        """Record a committed offset (in memory; `save` persists it)."""
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        entry = dict(self._files.get(file_id, {}))
        entry.update(extra)
        entry.update(path=path, offset=offset, updated=self.clock())
        self._files[file_id] = entry
        self._changed.add(file_id)

    def touch(self, file_id: str) -> None:
        """Mark a file as still present (keeps its entry from expiring)."""
        if file_id in self._files:
            self._files[file_id]["updated"] = self.clock()
            self._changed.add(file_id)

    def remove(self, file_id: str) -> None:
        if self._files.pop(file_id, None) is not None:
            self._changed.add(file_id)

    def rekey(self, old: str, new: str, **extra: Any) -> None:
        """Move an entry to a new identity (a short file's fingerprint grew)."""
        entry = self._files.pop(old, None)
        if entry is None:
            return
        entry.update(extra)
        self._files[new] = entry
        self._changed.update((old, new))

    def expire(self, older_than_s: float, now: float | None = None) -> list[str]:
        """Drop entries not updated for `older_than_s` seconds; return their keys."""
        now = self.clock() if now is None else now
        gone = [k for k, e in self._files.items() if now - float(e["updated"]) > older_than_s]
        for key in gone:
            self.remove(key)
        return gone

    # -------------------------------------------------------------------------- writing

    def save(self) -> None:
        """Persist this process's changes atomically (tmp → fsync → rename → fsync folder)."""
        with self._locked():
            on_disk = self._read_disk()
            for key in self._changed:
                if key in self._files:
                    on_disk[key] = self._files[key]
                else:
                    on_disk.pop(key, None)
            doc = {"version": VERSION, "files": on_disk}
            tmp = self.path.with_name(f"{FILENAME}.tmp-{os.getpid()}")
            with open(tmp, "wb") as fh:
                fh.write(json.dumps(doc, sort_keys=True, indent=1).encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(self.state_dir)
            # Pick up what other processes saved meanwhile.
            self._files = on_disk
            self._changed.clear()
            self._last_save = time.monotonic()

    def save_if_due(self, interval_s: float) -> bool:
        """Save when there are changes and the last save is `interval_s` old; return if saved."""
        if self._changed and time.monotonic() - self._last_save >= interval_s:
            self.save()
            return True
        return False

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.state_dir / f"{FILENAME}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


class AckTracker:
    """The committed offset of one file, moved only over a contiguous prefix of ACKed batches.

    `sent(offset, end)` registers batches in file order; `acked(offset, end)` marks one and
    returns the new committed offset when it moved (else None).
    """

    def __init__(self, committed: int = 0) -> None:
        self.committed = committed
        self._outstanding: deque[list[Any]] = deque()  # [offset, end, acked]

    def __len__(self) -> int:
        return len(self._outstanding)

    def sent(self, offset: int, end: int) -> None:
        last = self._outstanding[-1][1] if self._outstanding else self.committed
        if offset != last:
            raise ValueError(f"batch [{offset}, {end}) does not start where {last} ended")
        if end < offset:
            raise ValueError(f"batch end {end} is before its offset {offset}")
        self._outstanding.append([offset, end, False])

    def acked(self, offset: int, end: int) -> int | None:
        for item in self._outstanding:
            if item[0] == offset and item[1] == end:
                item[2] = True
                break
        else:
            return None  # not ours (already committed, or from before a reset)
        moved = False
        while self._outstanding and self._outstanding[0][2]:
            self.committed = self._outstanding.popleft()[1]
            moved = True
        return self.committed if moved else None
