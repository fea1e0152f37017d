"""Closing quiet files and noticing when they change (agent/inactive.py)."""

from __future__ import annotations

import os
from pathlib import Path

from agent.inactive import Inactive, quiet_for
from agent.tail import Tail
from tests.unit.agent.tails import open_tail


def _tail(path: Path) -> Tail:
    return open_tail(path, batch_age_s=0.0)


def _shipped(tail: Tail, now: float = 0.0) -> None:
    """Read the file to its end and acknowledge every batch."""
    while tail.read(now):
        pass
    for batch in tail.take_batches(now, force=True):
        tail.ack(batch.id)


def test_a_quiet_fully_acknowledged_file_may_be_closed(tmp_path: Path) -> None:
    """Quiet for close_inactive_s, read to the end and all ACKed: closable, with its stat."""
    log = tmp_path / "a.log"
    log.write_text("one\ntwo\n")
    tail = _tail(log)
    _shipped(tail)
    assert quiet_for(tail, 299.0, 300.0) is None  # not quiet long enough
    quiet = quiet_for(tail, 300.0, 300.0)
    assert quiet is not None and quiet.file_id == tail.file_id and quiet.size == 8
    assert quiet.unchanged(os.stat(log))
    assert quiet_for(tail, 300.0, 0.0) is None  # 0 = keep every file open


def test_unacknowledged_or_unread_data_keeps_it_open(tmp_path: Path) -> None:
    """Batches in flight, a partial last line or bytes not read yet: never closed."""
    log = tmp_path / "a.log"
    log.write_text("one\n")
    tail = _tail(log)
    while tail.read(0.0):
        pass
    batches = tail.take_batches(0.0, force=True)
    assert quiet_for(tail, 1000.0, 1.0) is None  # in flight
    for b in batches:
        tail.ack(b.id)
    with log.open("a") as fh:
        fh.write("partial")
    assert quiet_for(tail, 1000.0, 1.0) is None  # grew, not read
    while tail.read(0.0):
        pass
    assert quiet_for(tail, 1000.0, 1.0) is None  # read, but the partial line is not shipped


def test_any_change_of_the_path_is_noticed(tmp_path: Path) -> None:
    """Growth, truncation, another file at the path, or nothing there: changed."""
    log = tmp_path / "a.log"
    log.write_text("one\n")
    st = os.stat(log)
    quiet = Inactive(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, "1:2:ab")
    assert quiet.unchanged(os.stat(log))
    with log.open("a") as fh:
        fh.write("two\n")
    assert not quiet.unchanged(os.stat(log))
    os.rename(log, tmp_path / "a.log.1")
    log.write_text("one\n")
    assert not quiet.unchanged(os.stat(log))  # same size, another inode
    log.unlink()
    assert not quiet.unchanged(None)
